/**
 * The GitHub simulator's HTTP server, laid out as GitHub Enterprise Server is, so kanbot reaches
 * it with Probot's `GHE_HOST=<host>` and `GHE_PROTOCOL=http` alone:
 *
 * - REST at `/api/v3/…` (./rest.ts)
 * - GraphQL at `POST /api/graphql` (./graphql.ts)
 * - git smart HTTP at `/<owner>/<repo>.git/…`, with installation or user tokens as Basic auth
 *   (`x-access-token:<token>`); a push runs ./github.ts's push handling (webhooks, CI).
 *
 * REST and GraphQL requests go through ./rate-limits.ts first (counted, and refused past GitHub's
 * limits when they are on). Git is neither counted nor limited: GitHub's rate limits are the
 * REST and GraphQL APIs'; git over HTTPS has its own undocumented ones (`sim.gitRequests` lists
 * git traffic). REST GETs answered 200 carry an `ETag`, and a matching `If-None-Match` is
 * answered 304 with no body, which does not count against the primary limit.
 */
import { createHash, randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

import { getOperationAST, parse } from "graphql";

import { authenticate, authMessage, tokenCredential, type Credential } from "./auth.js";
import { basicToken, branches, serveGitHttp } from "./git.js";
import type { GraphQLApi } from "./graphql.js";
import type { SimGitHub, PushedRef } from "./github.js";
import { limitAnswer, staticHeaders, type LimitClient, type RateLimiter } from "./rate-limits.js";
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
  limiter: RateLimiter;
}

const ZERO_SHA = "0000000000000000000000000000000000000000";

/** The document's operation is a mutation (an unparsable document counts as a query). */
function isMutation(body: { query?: unknown; operationName?: unknown }): boolean {
  if (typeof body.query !== "string") return false;
  try {
    const name = typeof body.operationName === "string" ? body.operationName : undefined;
    return getOperationAST(parse(body.query), name)?.operation === "mutation";
  } catch {
    return false;
  }
}

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

/** GitHub's request ids look like `FA2D:87B1:8879E3:1176C87:6570B7E6`. */
function requestId(): string {
  const hex = randomUUID().replace(/-/g, "").toUpperCase();
  return [hex.slice(0, 4), hex.slice(4, 8), hex.slice(8, 14), hex.slice(14, 21), hex.slice(21, 29)]
    .map((part) => part.replace(/^0+(?=.)/, ""))
    .join(":");
}

function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
  id: string = requestId(),
): void {
  const text = body === undefined ? "" : JSON.stringify(body);
  res.writeHead(status, {
    ...(body === undefined ? {} : { "content-type": "application/json; charset=utf-8" }),
    "x-github-request-id": id,
    "x-github-media-type": "github.v3; format=json",
    ...staticHeaders(Date.now()),
    ...headers,
  });
  res.end(text);
}

/** A weak ETag over the bytes of a body, as GitHub sends on JSON answers (`W/"…"`). */
function etagOf(bytes: Buffer | string): string {
  return `W/"${createHash("sha256").update(bytes).digest("hex").slice(0, 40)}"`;
}

/** `If-None-Match` matches `etag` (weak comparison: `W/` ignored; `*` matches anything). */
function matchesEtag(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  const bare = (value: string) => value.trim().replace(/^W\//, "");
  return header.split(",").some((value) => value.trim() === "*" || bare(value) === bare(etag));
}

/** A request let through: its rate limit headers, and `done()` once answered. */
interface Slot {
  headers: Record<string, string>;
  done(outcome?: { notModified: boolean }): Record<string, string>;
}

/** Who a credential counts against, or undefined when it was refused (401s are not counted). */
function limitClient(credential: Credential, parts: ServerParts): LimitClient | undefined {
  if (credential.kind === "app") return { kind: "app" };
  if (credential.kind !== "token") return undefined;
  const token = credential.token;
  if (token.kind === "installation" && token.installationId !== undefined)
    return { kind: "installation", id: token.installationId };
  return { kind: "user", login: token.login, id: parts.github.state.account(token.login).id };
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

  /** Admits a request under the limits, or answers GitHub's refusal and returns undefined. */
  function admit(
    req: IncomingMessage,
    res: ServerResponse,
    client: LimitClient | undefined,
    request: { api: "rest" | "graphql"; path: string; mutation?: boolean },
    id: string,
  ): Slot | undefined {
    const method = req.method ?? "GET";
    if (client === undefined) {
      const headers = staticHeaders(Date.now());
      return { headers, done: () => headers };
    }
    const limiter = partsOf().limiter;
    const admission = limiter.admit(client, { ...request, method });
    if (admission.ok) return admission;
    const config = limiter.config;
    if (config === undefined) throw new Error("the simulator refused a request with limits off");
    const answer = limitAnswer(config, client, admission.refusal, id);
    req.resume();
    sendJson(res, answer.status, answer.body, admission.headers, id);
    return undefined;
  }

  async function handleRest(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const method = req.method ?? "GET";
    const path = url.pathname.slice("/api/v3".length) || "/";
    const credential = authenticate(
      req.headers.authorization,
      partsOf().github.state,
      partsOf().appKey,
      partsOf().appId,
    );
    const id = requestId();
    const admission = admit(
      req,
      res,
      limitClient(credential, partsOf()),
      { api: "rest", path },
      id,
    );
    if (admission === undefined) return;
    try {
      const raw = await readBody(req);
      let body: unknown;
      try {
        body = raw.length === 0 ? undefined : JSON.parse(raw.toString("utf8"));
      } catch {
        sendJson(
          res,
          400,
          { message: "Problems parsing JSON", documentation_url: "https://docs.github.com/rest" },
          admission.headers,
          id,
        );
        return;
      }
      const response = await partsOf().rest.handle({
        method,
        path,
        query: url.searchParams,
        body,
        accept: req.headers.accept ?? "",
        credential,
      });
      const headers = { ...admission.headers, ...response.headers };
      if (method.toUpperCase() === "GET" && response.status === 200) {
        const etag = etagOf(response.raw ?? JSON.stringify(response.body ?? null));
        headers.etag = etag;
        if (matchesEtag(req.headers["if-none-match"], etag)) {
          delete headers.link;
          const uncounted = admission.done({ notModified: true });
          sendJson(res, 304, undefined, { ...headers, ...uncounted }, id);
          return;
        }
      }
      if (response.raw !== undefined) {
        res.writeHead(response.status, { "x-github-request-id": id, ...headers });
        res.end(response.raw);
        return;
      }
      sendJson(res, response.status, response.body, headers, id);
    } finally {
      admission.done();
    }
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
    const document = typeof body === "object" && body !== null ? body : {};
    const id = requestId();
    const admission = admit(
      req,
      res,
      limitClient(credential, partsOf()),
      { api: "graphql", path: "/api/graphql", mutation: isMutation(document) },
      id,
    );
    if (admission === undefined) return;
    try {
      const result = await partsOf().graphql.handle(document, credential.token);
      sendJson(res, 200, result, admission.headers, id);
    } finally {
      admission.done();
    }
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
