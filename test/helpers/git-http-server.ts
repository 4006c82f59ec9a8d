/**
 * A stand-in for GitHub's git endpoint: `git http-backend` (smart HTTP) behind a node:http server
 * on loopback that requires `Authorization: Basic base64(x-access-token:<token>)` with a token it
 * currently accepts, and answers 401 otherwise. Revoking a token makes its next fetch or push fail
 * as it would on GitHub after a lease ends.
 */
import { spawn } from "node:child_process";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

import { testGitEnv } from "./git-repos.js";

export interface GitHttpRequest {
  method: string;
  path: string;
  /** The token the request carried (decoded), or `null` without a basic header. */
  token: string | null;
  status: number;
}

export interface GitHttpServer {
  /** `http://127.0.0.1:<port>`: a repository at `<root>/acme/app.git` is `<url>/acme/app.git`. */
  url: string;
  requests: GitHttpRequest[];
  accept(token: string): void;
  revoke(token: string): void;
  close(): Promise<void>;
}

/** Serves the bare repositories under `projectRoot`. */
export async function startGitHttpServer(
  projectRoot: string,
  tokens: readonly string[],
): Promise<GitHttpServer> {
  const accepted = new Set(tokens);
  const requests: GitHttpRequest[] = [];

  function handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const token = tokenOf(req.headers.authorization);
    const record: GitHttpRequest = {
      method: req.method ?? "GET",
      path: url.pathname,
      token,
      status: 0,
    };
    requests.push(record);
    if (token === null || !accepted.has(token)) {
      record.status = 401;
      res.writeHead(401, {
        "WWW-Authenticate": 'Basic realm="kanbot test"',
        "Content-Type": "text/plain",
      });
      res.end("Bad credentials\n");
      return;
    }
    const child = spawn("git", ["http-backend"], {
      env: {
        ...testGitEnv(),
        GIT_PROJECT_ROOT: projectRoot,
        GIT_HTTP_EXPORT_ALL: "1",
        PATH_INFO: url.pathname,
        QUERY_STRING: url.search.replace(/^\?/, ""),
        REQUEST_METHOD: req.method ?? "GET",
        CONTENT_TYPE: req.headers["content-type"] ?? "",
        REMOTE_USER: "x-access-token",
        REMOTE_ADDR: "127.0.0.1",
        HTTP_CONTENT_ENCODING: req.headers["content-encoding"] ?? "",
        GIT_PROTOCOL: String(req.headers["git-protocol"] ?? ""),
      },
      stdio: ["pipe", "pipe", "pipe"],
    });
    req.pipe(child.stdin);
    let head = Buffer.alloc(0);
    let started = false;
    child.stdout.on("data", (chunk: Buffer) => {
      if (started) {
        res.write(chunk);
        return;
      }
      head = Buffer.concat([head, chunk]);
      const end = headerEnd(head);
      if (end === undefined) return;
      let status = 200;
      const headers: Record<string, string> = {};
      for (const line of head.subarray(0, end.index).toString("latin1").split(/\r?\n/)) {
        const colon = line.indexOf(":");
        if (colon === -1) continue;
        const name = line.slice(0, colon).trim();
        const value = line.slice(colon + 1).trim();
        if (name.toLowerCase() === "status") status = Number.parseInt(value, 10);
        else headers[name] = value;
      }
      record.status = status;
      res.writeHead(status, headers);
      started = true;
      res.write(head.subarray(end.index + end.length));
    });
    child.stdout.on("end", () => {
      if (!started) {
        record.status = 500;
        res.writeHead(500);
      }
      res.end();
    });
    child.stderr.resume();
  }

  const server = createServer(handle);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    accept: (token) => void accepted.add(token),
    revoke: (token) => void accepted.delete(token),
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

function tokenOf(header: string | undefined): string | null {
  const match = header?.match(/^Basic\s+(\S+)$/i);
  if (match?.[1] === undefined) return null;
  const decoded = Buffer.from(match[1], "base64").toString("utf8");
  return decoded.startsWith("x-access-token:") ? decoded.slice("x-access-token:".length) : null;
}

function headerEnd(buffer: Buffer): { index: number; length: number } | undefined {
  const crlf = buffer.indexOf("\r\n\r\n");
  const lf = buffer.indexOf("\n\n");
  if (crlf === -1 && lf === -1) return undefined;
  if (lf === -1 || (crlf !== -1 && crlf < lf)) return { index: crlf, length: 4 };
  return { index: lf, length: 2 };
}
