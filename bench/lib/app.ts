/**
 * The system under test for the app benchmarks: the GitHub simulator (test/simulator) in this
 * process, and the real app (`kanbot start`, src/cli.ts through tsx) as a child process on a
 * SQLite file, reaching the simulator as GitHub Enterprise Server. The benchmark process opens the
 * same SQLite file to seed the queue and read the inbox, and talks to the app over HTTP only.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createHmac, generateKeyPairSync } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer as createHttpServer, request as httpRequest, type Server } from "node:http";
import { createServer } from "node:net";
import { performance } from "node:perf_hooks";
import { tmpdir } from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { openStore, type JobStore } from "../../src/store/index.js";
import { startSimulator, type LimitsOption, type Simulator } from "../../test/simulator/index.js";

// Not imported from test/helpers/probot.ts: that module loads nock (through the GitHub mock),
// whose interceptors would sit in front of every fetch this process makes.
export const APP_ID = 123456;
export const WEBHOOK_SECRET = "kanbot-bench-webhook-secret";

let privateKey: string | undefined;
function appPrivateKey(): string {
  privateKey ??= generateKeyPairSync("rsa", {
    modulusLength: 2048,
    privateKeyEncoding: { type: "pkcs1", format: "pem" },
    publicKeyEncoding: { type: "spki", format: "pem" },
  }).privateKey;
  return privateKey;
}

export function signWebhook(body: string): string {
  return `sha256=${createHmac("sha256", WEBHOOK_SECRET).update(body).digest("hex")}`;
}

/** One request the app made to GitHub (through the tracing proxy). */
export interface GitHubCall {
  /** performance.now() in the benchmark process when the request reached the proxy. */
  at: number;
  method: string;
  path: string;
  /** The GraphQL operation name, when there is one. */
  operation?: string;
  /** GraphQL: whether the document is a mutation (`mutation …`) or a query. */
  graphqlKind?: "query" | "mutation";
  /** The answer's status (304 for a conditional request answered Not Modified). */
  status: number;
  /** A 403 or 429 carrying `retry-after` or `x-ratelimit-remaining: 0`: a rate limit's refusal. */
  rateLimited: boolean;
  ms: number;
}

/** A pass-through HTTP proxy in front of the simulator that records every request's timing. */
async function startTracingProxy(
  target: string,
  calls: GitHubCall[],
): Promise<{ host: string; server: Server }> {
  const upstream = new URL(target);
  const server = createHttpServer((req, res) => {
    const at = performance.now();
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      let operation: string | undefined;
      let graphqlKind: "query" | "mutation" | undefined;
      if ((req.url ?? "").includes("graphql")) {
        let document = body.toString();
        try {
          document = String((JSON.parse(document) as { query?: unknown }).query ?? document);
        } catch {
          // not JSON: look at the raw body
        }
        const match = /^\s*(query|mutation)\s*(\w+)?/.exec(document);
        operation = match?.[2];
        graphqlKind = match?.[1] === "mutation" ? "mutation" : "query";
      }
      const forward = httpRequest(
        {
          host: upstream.hostname,
          port: upstream.port,
          method: req.method,
          path: req.url,
          headers: req.headers,
        },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
          answer.on("end", () =>
            calls.push({
              at,
              method: req.method ?? "",
              path: (req.url ?? "").split("?")[0] ?? "",
              ...(operation ? { operation } : {}),
              ...(graphqlKind ? { graphqlKind } : {}),
              status: answer.statusCode ?? 0,
              rateLimited:
                (answer.statusCode === 403 || answer.statusCode === 429) &&
                (answer.headers["retry-after"] !== undefined ||
                  answer.headers["x-ratelimit-remaining"] === "0"),
              ms: performance.now() - at,
            }),
          );
        },
      );
      forward.on("error", () => res.destroy());
      forward.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  return { host: `127.0.0.1:${port}`, server };
}

export const ROOT = path.resolve(import.meta.dirname, "../..");
export const REPO = "octo-org/widgets";
export const MAINTAINER = "maintainer";
/** The agent the waiting runners offer; the seeded "other" jobs ask for OTHER_AGENT. */
export const AGENT = "claude";
export const OTHER_AGENT = "codex";

export interface BenchApp {
  sim: Simulator;
  /** `http://127.0.0.1:<port>` of the app. */
  url: string;
  webhookUrl: string;
  /** The benchmark's own connection to the app's SQLite file. */
  store: JobStore;
  child: ChildProcess;
  dir: string;
  /** The app's SQLite file. */
  dbPath: string;
  installationId: number;
  /** Requests the app made to GitHub, when started with `traceGitHub`. */
  githubCalls: GitHubCall[];
  /** The app's stderr/stdout so far (warnings and errors only: LOG_LEVEL=warn). */
  output(): string;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * fetch, once more when a kept-alive connection turns out closed by the server as the request
 * went out (`other side closed`: the server's keep-alive timeout raced the reuse), as a runner's
 * client retries a connection error. Aborts are not retried.
 */
export async function fetchRetry(url: string, init: RequestInit): Promise<Response> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fetch(url, init);
    } catch (error) {
      const code = (error as { cause?: { code?: string } }).cause?.code;
      const retriable = code === "UND_ERR_SOCKET" || code === "ECONNRESET";
      if (!retriable || attempt >= 3 || init.signal?.aborted) throw error;
    }
  }
}

export interface StartOptions {
  /** Extra environment for the app. */
  env?: Record<string, string>;
  /** Node flags for the app process (e.g. `--cpu-prof`). */
  nodeFlags?: string[];
  /** Put a recording proxy between the app and the simulator (see `githubCalls`). */
  traceGitHub?: boolean;
  /** Have the simulator send its webhooks to the app (default: recorded only). */
  deliverWebhooks?: boolean;
  /** GitHub's rate limits on the simulator (default off; `true` for GitHub's published ones). */
  limits?: LimitsOption;
  /** Files of `octo-org/widgets` added to (or replacing) the default README and kanbot.yml. */
  repoFiles?: Record<string, string>;
  /** More setup of the simulator (projects, branch rules, other installations) before the app starts. */
  setup?: (sim: Simulator) => Promise<void> | void;
}

export async function startBenchApp(options: StartOptions = {}): Promise<BenchApp> {
  const dir = mkdtempSync(path.join(tmpdir(), "kanbot-bench-"));
  const dbPath = path.join(dir, "kanbot.sqlite");
  const privateKey = appPrivateKey();
  const port = await freePort();
  // Without deliverWebhooks the simulator only records the events it would send; the benchmark
  // sends the ones it measures itself, signed as GitHub signs them.
  const sim = await startSimulator({
    appId: APP_ID,
    privateKey,
    limits: options.limits ?? false,
    ...(options.deliverWebhooks
      ? {
          webhook: {
            url: `http://127.0.0.1:${port}/api/github/webhooks`,
            secret: WEBHOOK_SECRET,
          },
        }
      : {}),
    log: (facts, message) => {
      if (message === message.toUpperCase()) console.error(`[simulator] ${message}`, facts);
    },
  });
  sim.addOrg("octo-org");
  await sim.addRepo({
    owner: "octo-org",
    name: "widgets",
    files: {
      "README.md": "# widgets\n",
      ".github/kanbot.yml": `agents:\n  default: ${AGENT}\n`,
      ...options.repoFiles,
    },
  });
  sim.addCollaborator(REPO, MAINTAINER, "maintain");
  const installationId = sim.install("octo-org");
  await options.setup?.(sim);

  const githubCalls: GitHubCall[] = [];
  const proxy = options.traceGitHub ? await startTracingProxy(sim.url, githubCalls) : undefined;
  const store = await openStore({ url: dbPath });
  const tsx = pathToFileURL(path.join(ROOT, "node_modules/tsx/dist/esm/index.mjs")).href;
  const child = spawn(
    process.execPath,
    [...(options.nodeFlags ?? []), "--import", tsx, path.join(ROOT, "src/cli.ts"), "start"],
    {
      cwd: dir,
      env: {
        PATH: process.env.PATH ?? "",
        HOME: process.env.HOME ?? dir,
        APP_ID: String(APP_ID),
        PRIVATE_KEY: privateKey,
        WEBHOOK_SECRET,
        GHE_HOST: proxy?.host ?? sim.host,
        GHE_PROTOCOL: "http",
        HOST: "127.0.0.1",
        PORT: String(port),
        DATABASE_URL: dbPath,
        LOG_LEVEL: "warn",
        KANBOT_RECONCILE_ON_START: "false",
        // Measured jobs stay leased for the whole run: no sweep hands them out again.
        KANBOT_LEASE_SECONDS: "3600",
        ...options.env,
      },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  // Never leave the app behind, even when the benchmark dies.
  const killChild = () => child.kill("SIGKILL");
  process.once("exit", killChild);
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the app exited at start:\n${output}`);
    try {
      const response = await fetch(`${url}/api/v1/jobs/claim`);
      await response.arrayBuffer();
      if (response.status === 405) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`the app did not start in 60 s:\n${output}`);
    await sleep(100);
  }
  return {
    sim,
    url,
    webhookUrl: `${url}/api/github/webhooks`,
    store,
    child,
    dir,
    dbPath,
    installationId,
    githubCalls,
    output: () => output,
    async stop() {
      if (child.exitCode === null) {
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
        await exited;
        clearTimeout(timer);
      }
      process.removeListener("exit", killChild);
      await store.close();
      if (proxy) {
        proxy.server.closeAllConnections();
        await new Promise((resolve) => proxy.server.close(resolve));
      }
      await sim.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Resident set size of a process in MiB, from /proc/<pid>/status (VmRSS). */
export function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const match = /VmRSS:\s+(\d+) kB/.exec(status);
  return match ? Number((Number(match[1]) / 1024).toFixed(1)) : Number.NaN;
}

/** User + system CPU seconds a process has used, from /proc/<pid>/stat. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ticks = Number(fields[11]) + Number(fields[12]);
  return ticks / 100;
}

/** Registers a runner through the app's API; returns its token. */
export async function registerRunner(
  app: BenchApp,
  name: string,
  agents: string[] = [AGENT],
): Promise<string> {
  const grant = await app.store.createRegistrationToken(3_600_000);
  const response = await fetchRetry(`${app.url}/api/v1/runners`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ registrationToken: grant.token, name, agents }),
  });
  if (response.status !== 201) {
    throw new Error(`runner registration answered ${response.status}: ${await response.text()}`);
  }
  const body = (await response.json()) as { runnerToken: string };
  return body.runnerToken;
}

export interface ClaimAnswer {
  status: number;
  job?: { id: number; taskId: number; issue: { number: number } };
  lease?: { token: string };
}

/** One `POST /api/v1/jobs/claim`. */
export async function claim(
  app: BenchApp,
  runnerToken: string,
  waitSeconds: number,
  signal?: AbortSignal,
): Promise<ClaimAnswer> {
  const response = await fetchRetry(`${app.url}/api/v1/jobs/claim`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${runnerToken}` },
    body: JSON.stringify({ waitSeconds, freeSlots: 1 }),
    ...(signal ? { signal } : {}),
  });
  if (response.status === 204) {
    await response.arrayBuffer();
    return { status: 204 };
  }
  if (response.status !== 200) {
    throw new Error(`claim answered ${response.status}: ${await response.text()}`);
  }
  return { status: 200, ...((await response.json()) as Omit<ClaimAnswer, "status">) };
}

export interface SignedDelivery {
  id: string;
  event: string;
  body: string;
}

/** POSTs one delivery to the app's webhook path with GitHub's headers and a valid signature. */
export async function deliver(app: BenchApp, delivery: SignedDelivery): Promise<number> {
  const response = await fetchRetry(app.webhookUrl, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "user-agent": "GitHub-Hookshot/bench",
      "x-github-event": delivery.event,
      "x-github-delivery": delivery.id,
      "x-hub-signature-256": signWebhook(delivery.body),
    },
    body: delivery.body,
  });
  await response.arrayBuffer();
  return response.status;
}

/**
 * Seeds `count` queued jobs no benchmark runner can take (agent OTHER_AGENT), on issues
 * `firstIssue…` of `octo-org/other`, through the store's own calls.
 */
export async function seedOtherJobs(
  store: JobStore,
  count: number,
  firstIssue: number,
  installationId: number,
): Promise<void> {
  for (let i = 0; i < count; i++) {
    const { task } = await store.upsertTask({
      repo: "octo-org/other",
      installationId,
      issueNumber: firstIssue + i,
      title: `other work ${firstIssue + i}`,
      body: "",
      state: "queued",
      agent: OTHER_AGENT,
      budget: { attempts: 3, minutes: 60, usd: 10 },
    });
    await store.enqueueJob({ taskId: task.id, kind: "implement" });
  }
}
