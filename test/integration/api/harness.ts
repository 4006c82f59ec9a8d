/**
 * A runner API on a real HTTP server (node:http on a random loopback port), a real SQLite store
 * in a temporary folder with a clock the test moves by hand, and clients from runner/client.ts.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { RunnerApiClient } from "../../../runner/client.js";
import {
  createRunnerApi,
  type RunnerApi,
  type RunnerApiLimits,
  type RunnerApiOptions,
} from "../../../src/api/index.js";
import type { IssuedJobToken, JobTokenBroker } from "../../../src/tokens/job-token-broker.js";
import { openStore, type JobStore, type NewTask } from "../../../src/store/index.js";
import { manualClock, newTask, type ManualClock } from "../../helpers/store-fixtures.js";
import { workspaceSettingsOf, type ResolveJobWorkspace } from "../../../src/api/describe-job.js";
import { DEFAULT_REPO_CONFIG } from "../../../src/config/repo-config.js";

/** The workspace of a repository with no `.github/kanbot.yml`: kanbot's defaults, as parsed. */
export const noRepoConfig: ResolveJobWorkspace = async () =>
  workspaceSettingsOf(DEFAULT_REPO_CONFIG);

export const LEASE_MS = 60_000;

export const TEST_LIMITS: RunnerApiLimits = {
  leaseMs: LEASE_MS,
  claimTimeoutMs: 30_000,
  maxBodyBytes: 64 * 1024,
  jobLogMaxBytes: 1024 * 1024,
  // Tests sweep by hand (api.sweep()); the timer never fires within a test.
  sweepIntervalMs: 3_600_000,
};

/** A broker that mints fake tokens and records what it was asked. */
export interface FakeBroker extends JobTokenBroker {
  issued: { jobId: number; installationId: number; repo: string; token: string }[];
  revoked: number[];
}

export function fakeBroker(): FakeBroker {
  const live = new Map<number, string[]>();
  const broker: FakeBroker = {
    issued: [],
    revoked: [],
    async issue(jobId, installationId, repo): Promise<IssuedJobToken> {
      const token = `ghs_fake_${jobId}_${broker.issued.length}`;
      broker.issued.push({ jobId, installationId, repo, token });
      live.set(jobId, [...(live.get(jobId) ?? []), token]);
      return {
        token,
        expiresAt: new Date("2026-01-01T01:00:00.000Z"),
        permissions: { contents: "write", metadata: "read" },
      };
    },
    async revoke(jobId) {
      const tokens = live.get(jobId) ?? [];
      live.delete(jobId);
      if (tokens.length > 0) broker.revoked.push(jobId);
      return tokens.length;
    },
    redact(jobId, text) {
      return (live.get(jobId) ?? []).reduce(
        (out, token) => out.split(token).join("[redacted]"),
        text,
      );
    },
  };
  return broker;
}

export interface Harness {
  store: JobStore;
  clock: ManualClock;
  api: RunnerApi;
  broker: JobTokenBroker;
  baseUrl: string;
  /** A client without a runner token (for `register`). */
  client(token?: string): RunnerApiClient;
  /** Creates a registration token and registers a runner; returns its client and id. */
  registerRunner(
    overrides?: Partial<{ name: string; agents: string[]; labels: string[]; repos: string[] }>,
  ): Promise<{ client: RunnerApiClient; runnerId: string; token: string }>;
  /** A task plus one queued job for it. */
  queueJob(
    task?: Partial<NewTask>,
    kind?: "implement" | "fix-checks" | "revise" | "rebase",
    input?: unknown,
  ): Promise<number>;
  /** A raw request, for what the typed client refuses to send. */
  post(
    path: string,
    body: string,
    headers?: Record<string, string>,
    method?: string,
  ): Promise<{ status: number; body: unknown }>;
  close(): Promise<void>;
}

export async function startHarness(
  options: {
    limits?: Partial<RunnerApiLimits>;
    broker?: JobTokenBroker;
    /** What the API sees of the store (default: the store itself). */
    apiStore?: (store: JobStore) => JobStore;
  } & Partial<Pick<RunnerApiOptions, "resolveWorkspace" | "events" | "githubWebUrl">> = {},
): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), "kanbot-api-"));
  const clock = manualClock();
  const store = await openStore({ url: join(dir, "kanbot.sqlite"), now: clock.now });
  const broker = options.broker ?? fakeBroker();
  const api = createRunnerApi({
    store: options.apiStore?.(store) ?? store,
    limits: { ...TEST_LIMITS, ...options.limits },
    log: pino({ level: "silent" }),
    jobTokens: broker,
    // A repository without .github/kanbot.yml, unless the test says otherwise.
    resolveWorkspace: options.resolveWorkspace ?? noRepoConfig,
    ...(options.events ? { events: options.events } : {}),
    ...(options.githubWebUrl ? { githubWebUrl: options.githubWebUrl } : {}),
  });
  api.start();
  const server: Server = createServer((req, res) => {
    void api.handler(req, res).then((handled) => {
      if (!handled) res.writeHead(404).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const baseUrl = `http://127.0.0.1:${port}`;
  let issue = 100;
  let registered = 0;

  function client(token?: string): RunnerApiClient {
    return new RunnerApiClient({ baseUrl, ...(token !== undefined ? { token } : {}) });
  }

  return {
    store,
    clock,
    api,
    broker,
    baseUrl,
    client,
    async registerRunner(overrides = {}) {
      const grant = await store.createRegistrationToken(3_600_000);
      const fresh = client();
      registered++;
      const answer = await fresh.register({
        registrationToken: grant.token,
        name: overrides.name ?? `runner-${registered}`,
        agents: overrides.agents ?? ["claude"],
        labels: overrides.labels ?? [],
        repos: overrides.repos ?? [],
      });
      return { client: fresh, runnerId: answer.runnerId, token: answer.runnerToken };
    },
    async queueJob(task = {}, kind = "implement", input) {
      const { task: created } = await store.upsertTask(newTask({ issueNumber: issue++, ...task }));
      const job = await store.enqueueJob({
        taskId: created.id,
        kind,
        ...(input !== undefined ? { input: JSON.parse(JSON.stringify(input)) } : {}),
      });
      return job.id;
    },
    async post(path, body, headers = {}, method = "POST") {
      const response = await fetch(`${baseUrl}${path}`, {
        method,
        headers: { "content-type": "application/json", ...headers },
        ...(method === "GET" ? {} : { body }),
      });
      const text = await response.text();
      return { status: response.status, body: text === "" ? undefined : JSON.parse(text) };
    },
    async close() {
      await api.stop();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
