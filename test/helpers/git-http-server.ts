/**
 * A stand-in for GitHub's git endpoint: `git http-backend` (smart HTTP) behind a node:http server
 * on loopback that requires `Authorization: Basic base64(x-access-token:<token>)` with a token it
 * currently accepts, and answers 401 otherwise. Revoking a token makes its next fetch or push fail
 * as it would on GitHub after a lease ends. The CGI bridge to `git http-backend` is the simulator's
 * (`serveGitHttp` in test/simulator/git.ts).
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

import { serveGitHttp } from "../simulator/git.js";

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
    requests.push({
      method: req.method ?? "GET",
      path: url.pathname,
      token,
      // The answer's status as soon as its headers are sent (0 until then).
      get status() {
        return res.headersSent ? res.statusCode : 0;
      },
    });
    if (token === null || !accepted.has(token)) {
      res.writeHead(401, {
        "WWW-Authenticate": 'Basic realm="kanbot test"',
        "Content-Type": "text/plain",
      });
      res.end("Bad credentials\n");
      return;
    }
    void serveGitHttp(req, res, projectRoot, url.pathname, url.search);
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
