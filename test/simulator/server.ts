/**
 * The GitHub simulator's HTTP server, laid out as GitHub Enterprise Server is, so kanbot reaches
 * it with Probot's `GHE_HOST=<host>` and `GHE_PROTOCOL=http` alone:
 *
 * - REST at `/api/v3/…` (./rest.ts)
 * - GraphQL at `POST /api/graphql` (./graphql.ts)
 * - git smart HTTP at `/<owner>/<repo>.git/…`, with installation or user tokens as Basic auth
 *   (`x-access-token:<token>`); a push runs ./github.ts's push handling (webhooks, CI).
 */
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

import { authenticate, authMessage, tokenCredential } from "./auth.js";
import { basicToken, branches, serveGitHttp } from "./git.js";
import type { GraphQLApi } from "./graphql.js";
import type { SimGitHub, PushedRef } from "./github.js";
import type { RestApi, Violation } from "./rest.js";
import { fullName, PERMISSION_RANK, type SimRepo, type SimToken } from "./state.js";
import type { KeyObject } from "node:crypto";

/** One git request the simulator answered. */
export interface GitRequest {
  method: string;
  repo: string;
  service: "upload-pack" | "receive-pack" | "other";
  /** The login the token acts as, or undefined without a usable token. */
  login: string | undefined;
  status: number;
}

export interface ServerParts {
  github: SimGitHub;
  rest: RestApi;
  graphql: GraphQLApi;
  appKey: KeyObject;
  appId: number;
  gitRoot: string;
  record: (violation: Violation) => void;
}

const ZERO_SHA = "0000000000000000000000000000000000000000";

export interface SimulatorServer {
  url: string;
  host: string;
  gitRequests: GitRequest[];
  close(): Promise<void>;
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = body === undefined ? "" : JSON.stringify(body);
  res.writeHead(status, {
    ...(body === undefined ? {} : { "content-type": "application/json; charset=utf-8" }),
    "x-github-request-id": randomUUID().toUpperCase(),
    "x-github-media-type": "github.v3; format=json",
    "x-ratelimit-limit": "5000",
    "x-ratelimit-remaining": "4999",
    "x-ratelimit-used": "1",
    "x-ratelimit-reset": String(Math.floor(Date.now() / 1000) + 3600),
    ...headers,
  });
  res.end(text);
}

/**
 * Listens on `port` (0: any free one) on loopback, then builds the parts with the server's URL
 * (bodies carry absolute URLs) and serves them.
 */
export async function startServer(
  port: number,
  build: (url: string) => ServerParts,
): Promise<SimulatorServer & { parts: ServerParts }> {
  const holder: { parts?: ServerParts } = {};
  const partsOf = (): ServerParts => {
    if (holder.parts === undefined) throw new Error("the simulator is still starting");
    return holder.parts;
  };
  const gitRequests: GitRequest[] = [];
  const pushLocks = new Map<string, Promise<unknown>>();

  async function handleRest(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const raw = await readBody(req);
    let body: unknown;
    try {
      body = raw.length === 0 ? undefined : JSON.parse(raw.toString("utf8"));
    } catch {
      sendJson(res, 400, {
        message: "Problems parsing JSON",
        documentation_url: "https://docs.github.com/rest",
      });
      return;
    }
    const response = await partsOf().rest.handle({
      method: req.method ?? "GET",
      path: url.pathname.slice("/api/v3".length) || "/",
      query: url.searchParams,
      body,
      accept: req.headers.accept ?? "",
      credential: authenticate(
        req.headers.authorization,
        partsOf().github.state,
        partsOf().appKey,
        partsOf().appId,
      ),
    });
    if (response.raw !== undefined) {
      res.writeHead(response.status, response.headers);
      res.end(response.raw);
      return;
    }
    sendJson(res, response.status, response.body, response.headers);
  }

  async function handleGraphQL(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = await readBody(req);
    const credential = authenticate(
      req.headers.authorization,
      partsOf().github.state,
      partsOf().appKey,
      partsOf().appId,
    );
    if (credential.kind !== "token") {
      const why = credential.kind === "refused" ? credential.why : "bad-credentials";
      sendJson(res, 401, {
        message: authMessage(why),
        documentation_url: "https://docs.github.com/graphql",
      });
      return;
    }
    let body: unknown;
    try {
      body = JSON.parse(raw.toString("utf8"));
    } catch {
      sendJson(res, 400, {
        message: "Problems parsing JSON",
        documentation_url: "https://docs.github.com/graphql",
      });
      return;
    }
    const result = await partsOf().graphql.handle(
      typeof body === "object" && body !== null ? body : {},
      credential.token,
    );
    sendJson(res, 200, result);
  }

  function canSee(token: SimToken, repo: SimRepo): boolean {
    const state = partsOf().github.state;
    if (token.kind === "user")
      return !repo.private || state.permissionOf(repo, token.login) !== undefined;
    const installation = state.installationFor(repo);
    return (
      installation?.id === token.installationId &&
      (token.repositories === undefined || token.repositories.has(fullName(repo).toLowerCase()))
    );
  }

  function canPush(token: SimToken, repo: SimRepo): boolean {
    if (token.kind === "user") {
      const permission = partsOf().github.state.permissionOf(repo, token.login);
      return permission !== undefined && PERMISSION_RANK[permission] >= PERMISSION_RANK.write;
    }
    return token.permissions.contents === "write";
  }

  async function handleGit(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    owner: string,
    name: string,
  ): Promise<void> {
    const service =
      url.pathname.endsWith("git-receive-pack") ||
      url.searchParams.get("service") === "git-receive-pack"
        ? "receive-pack"
        : url.pathname.endsWith("git-upload-pack") ||
            url.searchParams.get("service") === "git-upload-pack"
          ? "upload-pack"
          : "other";
    const record: GitRequest = {
      method: req.method ?? "GET",
      repo: `${owner}/${name}`,
      service,
      login: undefined,
      status: 0,
    };
    gitRequests.push(record);
    const refuse = (status: number, message: string) => {
      record.status = status;
      req.resume();
      res.writeHead(status, {
        "content-type": "text/plain",
        ...(status === 401 ? { "www-authenticate": 'Basic realm="GitHub"' } : {}),
      });
      res.end(`${message}\n`);
    };
    const value = basicToken(req.headers.authorization);
    if (value === undefined) return refuse(401, "Authentication required");
    const credential = tokenCredential(value, partsOf().github.state);
    if (credential.kind !== "token")
      return refuse(
        401,
        "Invalid username or token. Password authentication is not supported for Git operations.",
      );
    const token = credential.token;
    record.login = token.login;
    const repo = partsOf().github.state.repo(owner, name);
    if (repo === undefined || !canSee(token, repo)) return refuse(404, "Repository not found.");
    if (
      service === "upload-pack" &&
      token.kind === "installation" &&
      token.permissions.contents === undefined
    ) {
      return refuse(403, "Permission to access repository denied.");
    }
    if (service === "receive-pack" && !canPush(token, repo)) {
      return refuse(403, `Permission to ${fullName(repo)}.git denied to ${token.login}.`);
    }
    const repoPath = `/${fullName(repo)}.git${url.pathname.slice(`/${owner}/${name}.git`.length)}`;
    if (service !== "receive-pack" || req.method !== "POST") {
      record.status = await serveGitHttp(req, res, partsOf().gitRoot, repoPath, url.search);
      return;
    }
    // A push: serialised per repository, so the refs before and after are this push's alone.
    const key = fullName(repo);
    const previous = pushLocks.get(key) ?? Promise.resolve();
    const run = previous
      .catch(() => undefined)
      .then(async () => {
        const before = await branches(repo.gitDir);
        record.status = await serveGitHttp(req, res, partsOf().gitRoot, repoPath, url.search);
        const after = await branches(repo.gitDir);
        const updates: PushedRef[] = [];
        for (const [branch, sha] of after) {
          const old = before.get(branch);
          if (old !== sha)
            updates.push({ ref: `refs/heads/${branch}`, before: old ?? ZERO_SHA, after: sha });
        }
        for (const [branch, sha] of before) {
          if (!after.has(branch))
            updates.push({ ref: `refs/heads/${branch}`, before: sha, after: ZERO_SHA });
        }
        if (updates.length > 0) await partsOf().github.pushed(token.login, repo, updates);
      });
    pushLocks.set(key, run);
    await run;
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://simulator");
    const git = /^\/([^/]+)\/([^/]+?)\.git(\/.*)?$/.exec(url.pathname);
    if (url.pathname === "/api/v3" || url.pathname.startsWith("/api/v3/"))
      return handleRest(req, res, url);
    if (url.pathname === "/api/graphql" && req.method === "POST") return handleGraphQL(req, res);
    if (git?.[1] !== undefined && git[2] !== undefined)
      return handleGit(req, res, url, git[1], git[2]);
    req.resume();
    sendJson(res, 404, { message: "Not Found", documentation_url: "https://docs.github.com/rest" });
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
      partsOf().record({
        kind: "unimplemented",
        method: req.method ?? "GET",
        path: req.url ?? "/",
        details: [`simulator error: ${message}`],
      });
      console.error("[github-simulator] request failed", req.method, req.url, message);
      if (!res.headersSent)
        sendJson(res, 500, {
          message: "Server Error",
          documentation_url: "https://docs.github.com/rest",
        });
      else res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  const { port: bound } = server.address() as AddressInfo;
  const built = build(`http://127.0.0.1:${bound}`);
  holder.parts = built;
  return {
    parts: built,
    url: `http://127.0.0.1:${bound}`,
    host: `127.0.0.1:${bound}`,
    gitRequests,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
