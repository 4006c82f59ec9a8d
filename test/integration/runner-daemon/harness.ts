/**
 * The whole runner loop on one machine, with nothing mocked between the parts:
 * - the app's runner API (`createRunnerApi`) on a loopback node:http server, real SQLite in a
 *   temporary folder and a clock the test moves by hand (leases expire when the test says so);
 * - "GitHub's" git: a bare repository served by `git http-backend` behind a loopback server that
 *   accepts only the job tokens the app's broker issued and not yet revoked;
 * - a job-token broker that mints GitHub-shaped tokens and, on revoke, makes the git server
 *   refuse them, as GitHub does once the app revokes an installation token;
 * - runners: the real daemon (`runDaemon`) in this process, or the real CLI in a child process.
 */
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join, resolve } from "node:path";

import { pino } from "pino";

import { RunnerApiClient } from "../../../runner/client.js";
import { loadRunnerConfig, type LoadedRunnerConfig } from "../../../runner/config.js";
import { runDaemon, type DaemonResult } from "../../../runner/daemon.js";
import {
  createRunnerApi,
  type JobWorkspaceSettings,
  type RunnerApi,
} from "../../../src/api/index.js";
import { API_PATHS, type ClaimResponse } from "../../../src/protocol/index.js";
import { openStore, type JobStore, type NewTask } from "../../../src/store/index.js";
import type { IssuedJobToken, JobTokenBroker } from "../../../src/tokens/job-token-broker.js";
import { startGitHttpServer, type GitHttpServer } from "../../helpers/git-http-server.js";
import { createBareRemote, gitSync, makeTempDir, testGitEnv } from "../../helpers/git-repos.js";
import { manualClock, newTask, type ManualClock } from "../../helpers/store-fixtures.js";

export const FAKE_AGENT = join(import.meta.dirname, "../../fixtures/agents/fake-agent.mjs");
/**
 * The agents' scripts, shown read-only in every runner's sandbox: the sandbox hides /tmp, where a
 * fresh clone (CI's) may live, and scripts given in `args` are not found on their own.
 */
const FIXTURES = resolve(import.meta.dirname, "../../fixtures");
export const ROUND_AGENT = join(import.meta.dirname, "../../fixtures/runner/round-agent.mjs");
export const WAIT_AGENT = join(import.meta.dirname, "../../fixtures/runner/wait-agent.mjs");
export const REPO = "acme/app";
export const LEASE_MS = 60_000;

/** A broker whose tokens the git server accepts until the app revokes them. */
export interface GitTokenBroker extends JobTokenBroker {
  issued: { jobId: number; token: string }[];
  revoked: { jobId: number; tokens: string[] }[];
}

function gitTokenBroker(git: GitHttpServer): GitTokenBroker {
  const live = new Map<number, string[]>();
  const broker: GitTokenBroker = {
    issued: [],
    revoked: [],
    async issue(jobId): Promise<IssuedJobToken> {
      const token = `ghs_${randomBytes(18).toString("hex")}`;
      broker.issued.push({ jobId, token });
      live.set(jobId, [...(live.get(jobId) ?? []), token]);
      git.accept(token);
      return {
        token,
        expiresAt: new Date(Date.now() + 3_600_000),
        permissions: { contents: "write", metadata: "read" },
      };
    },
    async revoke(jobId) {
      const tokens = live.get(jobId) ?? [];
      live.delete(jobId);
      for (const token of tokens) git.revoke(token);
      if (tokens.length > 0) broker.revoked.push({ jobId, tokens });
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

export interface RunnerSetup {
  runnerId: string;
  token: string;
  configFile: string;
  workDir: string;
  loaded: LoadedRunnerConfig;
}

export interface Loop {
  dir: string;
  /**
   * A folder every runner's sandbox may write (`sandboxWritable`): the fixtures report to the
   * test through files here (the agent's readiness, the prompts it got), since the sandbox hides
   * the rest of the machine's /tmp from them.
   */
  shared: string;
  store: JobStore;
  clock: ManualClock;
  api: RunnerApi;
  broker: GitTokenBroker;
  git: GitHttpServer;
  /** The bare "GitHub" repository. */
  remote: string;
  baseUrl: string;
  /** Every claim answer the app sent (lease tokens included), in order. */
  claims: ClaimResponse[];
  /** What `.github/kanbot.yml` says for every job (validation, setup, forbidden paths…). */
  workspace: JobWorkspaceSettings;
  queueJob(task?: Partial<NewTask>): Promise<number>;
  /** Registers a runner and writes its kanbot-runner.yml with `agents` (YAML text) and extras. */
  addRunner(agentsYaml: string, extraYaml?: string): Promise<RunnerSetup>;
  /** The daemon in this process, with test-speed heartbeats and kill grace. */
  startDaemon(
    runner: RunnerSetup,
    options?: {
      maxJobs?: number;
      env?: Record<string, string>;
      stop?: AbortSignal;
      heartbeatIntervalMs?: number;
    },
  ): Promise<DaemonResult>;
  client(token: string): RunnerApiClient;
  /** Expires every lease now (the app's clock moves past it) and runs the app's sweep. */
  expireLeases(): Promise<void>;
  /** The commit a branch of the remote points to, or null. */
  branchHead(branch: string): string | null;
  /** A file at a commit of the remote. */
  show(rev: string, path: string): string;
  storedLog(jobId: number): Promise<string>;
  close(): Promise<void>;
}

export async function startLoop(): Promise<Loop> {
  const dir = makeTempDir("runner-daemon");
  const shared = join(dir, "shared");
  mkdirSync(shared);
  const gitRoot = join(dir, "git");
  const remote = join(gitRoot, `${REPO}.git`);
  createBareRemote(remote, {
    "README.md": "# app\n",
    "src/index.ts": "export const answer = 42;\n",
    ".gitignore": ".env\n",
  });
  const git = await startGitHttpServer(gitRoot, []);
  const broker = gitTokenBroker(git);
  const clock = manualClock(Date.now());
  const store = await openStore({ url: join(dir, "kanbot.sqlite"), now: clock.now });
  const workspace: JobWorkspaceSettings = { baseBranch: "main" };
  const api = createRunnerApi({
    store,
    limits: {
      leaseMs: LEASE_MS,
      claimTimeoutMs: 30_000,
      maxBodyBytes: 256 * 1024,
      jobLogMaxBytes: 4 * 1024 * 1024,
      sweepIntervalMs: 3_600_000,
    },
    log: pino({ level: "silent" }),
    jobTokens: broker,
    githubWebUrl: git.url,
    resolveWorkspace: async () => workspace,
  });
  const claims: ClaimResponse[] = [];
  const server: Server = createServer((req, res) => {
    if (req.url === API_PATHS.claim) {
      // Records the claim answers (lease tokens) as they leave, like a proxy would.
      const end = res.end.bind(res) as (...args: unknown[]) => typeof res;
      res.end = ((...args: unknown[]) => {
        const [body] = args;
        if (res.statusCode === 200 && (typeof body === "string" || Buffer.isBuffer(body))) {
          claims.push(JSON.parse(String(body)) as ClaimResponse);
        }
        return end(...args);
      }) as typeof res.end;
    }
    void api.handler(req, res).then((handled) => {
      if (!handled) res.writeHead(404).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  let issue = 1;
  let runners = 0;

  return {
    dir,
    shared,
    store,
    clock,
    api,
    broker,
    git,
    remote,
    baseUrl,
    claims,
    workspace,
    async queueJob(task = {}) {
      const { task: created } = await store.upsertTask(
        newTask({ repo: REPO, issueNumber: issue++, title: "Fix the parser", ...task }),
      );
      const job = await store.enqueueJob({ taskId: created.id, kind: "implement" });
      return job.id;
    },
    async addRunner(agentsYaml, extraYaml = "") {
      runners++;
      const grant = await store.createRegistrationToken(3_600_000);
      const runnerDir = join(dir, `runner-${runners}`);
      mkdirSync(runnerDir, { recursive: true });
      const configFile = join(runnerDir, "kanbot-runner.yml");
      writeFileSync(
        configFile,
        `appUrl: ${baseUrl}\nname: runner-${runners}\nworkDir: ./work\nshutdownGraceSeconds: 30\nkeepFailedWorktreesHours: 0\nsandboxWritable: [${JSON.stringify(shared)}]\nsandboxReadOnly: [${JSON.stringify(FIXTURES)}]\nagents:\n${agentsYaml}\n${extraYaml}`,
      );
      const answer = await new RunnerApiClient({ baseUrl }).register({
        registrationToken: grant.token,
        name: `runner-${runners}`,
        agents: Object.keys((await loadRunnerConfig(configFile)).config.agents),
      });
      writeFileSync(
        configFile,
        `${readFileSync(configFile, "utf8")}\ntoken: ${answer.runnerToken}\n`,
      );
      const loaded = await loadRunnerConfig(configFile);
      return {
        runnerId: answer.runnerId,
        token: answer.runnerToken,
        configFile,
        workDir: loaded.workDir,
        loaded,
      };
    },
    startDaemon(runner, options = {}) {
      return runDaemon({
        loaded: runner.loaded,
        stop: options.stop ?? new AbortController().signal,
        ...(options.maxJobs !== undefined ? { maxJobs: options.maxJobs } : {}),
        log: pino({ level: process.env.KANBOT_TEST_LOG ?? "silent" }),
        sourceEnv: { PATH: process.env.PATH, HOME: process.env.HOME, ...options.env },
        heartbeatIntervalMs: options.heartbeatIntervalMs ?? 100,
        logFlushIntervalMs: 50,
        killGraceMs: 500,
        claimWaitSeconds: 10,
        backoff: { initialMs: 10, maxMs: 50, random: () => 0.5 },
      });
    },
    client(token) {
      return new RunnerApiClient({ baseUrl, token });
    },
    async expireLeases() {
      clock.advance(LEASE_MS + 1_000);
      await api.sweep();
    },
    branchHead(branch) {
      try {
        return gitSync(remote, "rev-parse", "--verify", "--quiet", `refs/heads/${branch}`);
      } catch {
        return null;
      }
    },
    show(rev, path) {
      return gitSync(remote, "show", `${rev}:${path}`);
    },
    async storedLog(jobId) {
      return (await store.readLog(jobId)).map((chunk) => chunk.text).join("");
    },
    async close() {
      await api.stop();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await git.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Whether a process is gone (a zombie waiting for its reaper counts as gone). */
export function isGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return true;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z");
  } catch {
    return !existsSync(`/proc/${pid}`);
  }
}

/**
 * The live processes of a job, seen from outside its sandbox: every process whose environment
 * holds the job's marker (`KANBOT_JOB_ID=<job id>.…`). The sandbox's own PID namespace makes the
 * pids an agent reports about itself meaningless here, so tests look for the marker instead.
 */
export function jobProcesses(jobId: number): number[] {
  const marker = Buffer.from(`KANBOT_JOB_ID=${jobId}.`);
  const found: number[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    try {
      const environ = readFileSync(`/proc/${name}/environ`);
      const hit =
        environ.subarray(0, marker.length).equals(marker) ||
        environ.includes(Buffer.concat([Buffer.from("\0"), marker]));
      if (hit && !isGone(Number(name))) found.push(Number(name));
    } catch {
      // Gone, or not ours to read.
    }
  }
  return found;
}

export { testGitEnv };

/** Standard output and error for `runnerMain`, captured as text. */
export function streams() {
  const out = { stdout: "", stderr: "" };
  return {
    out,
    io: {
      stdout: { write: (text: string) => (out.stdout += text) },
      stderr: { write: (text: string) => (out.stderr += text) },
    },
  };
}
