/**
 * `kanbot start` as a real process, from source through tsx, against a local stand-in for a
 * GitHub Enterprise Server (GHE_HOST), so the app never reaches the network:
 *
 *   const github = await startGitHubStub();
 *   const env = credentialsEnv({ dir, port, githubHost: github.host, database });
 *   const started = startKanbot(env, dir);
 *   await waitForHttp(`http://127.0.0.1:${port}/ping`, started);
 *
 * Nothing here cleans up by itself: the test kills `started.child`, closes the stub and removes
 * its folder after each test (or after all of them).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { writeFileSync } from "node:fs";
import { createServer as createHttpServer } from "node:http";
import { createServer } from "node:net";
import path from "node:path";
import { testPrivateKey, TEST_APP_ID, TEST_WEBHOOK_SECRET } from "./probot.js";

const root = path.resolve(import.meta.dirname, "../..");
const cli = path.join(root, "src/cli.ts");
const tsx = path.join(root, "node_modules/tsx/dist/esm/index.mjs");

/** A running `kanbot start`. */
export interface StartedKanbot {
  child: ChildProcess;
  /** Everything it has written so far, stdout and stderr together. */
  output: () => string;
  /** Resolves with its exit code once it has exited. */
  exited: Promise<number | null>;
}

/** The GitHub Enterprise stand-in. */
export interface GitHubStub {
  /** `host:port`, for GHE_HOST (with GHE_PROTOCOL=http). */
  host: string;
  /** `METHOD path` of every request received, in order. */
  requests: string[];
  /** Resolves when a request for `METHOD path` has arrived. */
  received(request: string): Promise<void>;
  /** Stops listening. */
  close(): Promise<void>;
}

/**
 * A local stand-in for a GitHub Enterprise Server: `GET /app` answers the app `kanbot`,
 * `GET /app/installations` answers none, installation 1 gets a token; `files`
 * (`GET <contents path>` -> text) are served raw; anything else is answered 404. Every request
 * shows up in `requests`.
 */
export async function startGitHubStub(files: Record<string, string> = {}): Promise<GitHubStub> {
  const requests: string[] = [];
  const waiting = new Map<string, () => void>();
  const server = createHttpServer((request, response) => {
    const seen = `${request.method ?? ""} ${(request.url ?? "").split("?")[0] ?? ""}`;
    requests.push(seen);
    const answers: Record<string, unknown> = {
      "GET /api/v3/app": { id: TEST_APP_ID, slug: "kanbot", name: "kanbot" },
      "GET /api/v3/app/installations": [],
      "POST /api/v3/app/installations/1/access_tokens": {
        token: "ghs_stub",
        expires_at: new Date(Date.now() + 3_600_000).toISOString(),
      },
    };
    const file = files[seen];
    if (file !== undefined) {
      // `.github/kanbot.yml` and other files, as GitHub sends them for the raw media type.
      response.writeHead(200, { "content-type": "application/vnd.github.raw; charset=utf-8" });
      response.end(file);
      waiting.get(seen)?.();
      return;
    }
    const body = answers[seen];
    response.writeHead(body === undefined ? 404 : 200, { "content-type": "application/json" });
    response.end(JSON.stringify(body ?? { message: "Not Found" }));
    waiting.get(seen)?.();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  return {
    host: `127.0.0.1:${port}`,
    requests,
    received: (request) =>
      requests.includes(request)
        ? Promise.resolve()
        : new Promise<void>((resolve) => waiting.set(request, resolve)),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}

/** What `credentialsEnv` needs to know. */
export interface CredentialsEnvOptions {
  /** Folder that receives the test private key (`app.pem`). */
  dir: string;
  /** Port the app listens on (on 127.0.0.1). */
  port: number;
  /** The stub's `host:port`. */
  githubHost: string;
  /** DATABASE_URL. */
  database: string;
  /** LOG_LEVEL; `warn` unless given. */
  logLevel?: string;
  /** Leave reconciliation at start on (kanbot's default); off unless `true`. */
  reconcile?: boolean;
}

/**
 * Writes the test private key to `dir/app.pem` and returns the environment of a `kanbot start`
 * with GitHub App credentials, talking to the stub over plain HTTP.
 */
export function credentialsEnv(options: CredentialsEnvOptions): Record<string, string> {
  const keyPath = path.join(options.dir, "app.pem");
  writeFileSync(keyPath, testPrivateKey());
  return {
    APP_ID: String(TEST_APP_ID),
    PRIVATE_KEY_PATH: keyPath,
    WEBHOOK_SECRET: TEST_WEBHOOK_SECRET,
    HOST: "127.0.0.1",
    PORT: String(options.port),
    DATABASE_URL: options.database,
    LOG_LEVEL: options.logLevel ?? "warn",
    GHE_HOST: options.githubHost,
    GHE_PROTOCOL: "http",
    ...(options.reconcile === true ? {} : { KANBOT_RECONCILE_ON_START: "false" }),
  };
}

/** `kanbot start` as a real process, from source, with only the given environment. */
export function startKanbot(env: Record<string, string>, cwd: string): StartedKanbot {
  const child = spawn(process.execPath, ["--import", tsx, cli, "start"], {
    cwd,
    env: { PATH: process.env.PATH ?? "", HOME: cwd, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
  return { child, output: () => output, exited };
}

/** Resolves once the process has written `text` (or rejects when it exits first). */
export async function waitForOutput(started: StartedKanbot, text: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const check = () => {
      if (!started.output().includes(text)) return;
      started.child.stdout?.off("data", check);
      started.child.stderr?.off("data", check);
      resolve();
    };
    started.child.stdout?.on("data", check);
    started.child.stderr?.on("data", check);
    void started.exited.then(() =>
      reject(new Error(`kanbot exited before writing "${text}":\n${started.output()}`)),
    );
    check();
  });
}

/** Polls `url` until it answers (the server is up) or the process exits. */
export async function waitForHttp(url: string, started: StartedKanbot): Promise<Response> {
  let exited = false;
  void started.exited.then(() => (exited = true));
  for (;;) {
    if (exited) throw new Error(`kanbot exited before listening:\n${started.output()}`);
    try {
      return await fetch(url, { redirect: "manual" });
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}
