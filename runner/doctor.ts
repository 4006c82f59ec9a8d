/**
 * `kanbot-runner doctor`: checks what the runner needs, one line per check, each saying what to
 * do when it fails:
 * 1. git (≥ 2.31, for credentials passed through the environment);
 * 2. the sandbox (bubblewrap starts; `sandbox: none` is a warning, every time);
 * 3. per configured agent, in a throwaway job sandbox with the environment a job's agent gets:
 *    its CLI (found and runnable: `--version`, else `--help`), its authentication (the CLI's own
 *    status command where it has one, else "not verified" with the credentials passed as
 *    evidence; agent-auth.ts), and with `--live` one tiny prompt run through the normal adapter;
 * 4. the app (answers `GET /ping`, accepts the runner token) and its version against the
 *    runner's, when the app says it;
 * 5. the disk space of the work directory.
 */
import { access, constants, mkdir, mkdtemp, rm, statfs, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { delimiter, dirname, isAbsolute, join } from "node:path";

import { execa } from "execa";

import {
  AUTH_STATUS_COMMANDS,
  credentialsPassed,
  interpretAuthStatus,
  verdictWithoutStatus,
} from "./agent-auth.js";
import { adapterFor, BUILT_IN_ADAPTERS, runAgent } from "./agents/index.js";
import {
  ApiConnectionError,
  RunnerApiClient,
  RunnerTokenRevokedError,
  type ClaimApi,
} from "./client.js";
import type { LoadedRunnerConfig, RunnerAgentConfig } from "./config.js";
import { buildChildEnv } from "./process/env.js";
import { runnerSecrets } from "./process/redact.js";
import {
  createSandbox,
  SandboxConfigError,
  sandboxStateFor,
  SandboxUnavailableError,
  sandboxWarning,
  type CommandSandbox,
  type Sandbox,
} from "./sandbox/index.js";
import { packageInfo } from "../src/package-info.js";
import { API_PATHS } from "../src/protocol/index.js";

export type CheckStatus = "ok" | "warn" | "fail";

export interface DoctorCheck {
  name: string;
  status: CheckStatus;
  detail: string;
}

export interface DoctorOptions {
  loaded: LoadedRunnerConfig;
  env?: Readonly<Record<string, string | undefined>>;
  /** Default: a client on the config's URL and token. */
  api?: ClaimApi;
  /** Time limit of each `--version` and auth status run. Default 15 s. */
  commandTimeoutMs?: number;
  /** `--live`: run each agent once on a tiny prompt, through its adapter, in the sandbox. */
  live?: boolean;
  /** Time limit of one live run. Default 120 s. */
  liveTimeoutMs?: number;
  /** For `GET /ping`. Default the global fetch. */
  fetch?: typeof fetch;
}

/** git 2.31 reads `GIT_CONFIG_COUNT` (how the job token reaches git without a file). */
export const MIN_GIT_VERSION: readonly [number, number] = [2, 31];
const WARN_FREE_BYTES = 5 * 1024 ** 3;
const FAIL_FREE_BYTES = 1024 ** 3;
/** Where the app says its version (`{ "version": "…" }`, no token needed). */
export const APP_VERSION_PATH = API_PATHS.version;

/** What `--live` asks each agent: one short answer, no tools, no changes. */
export const LIVE_PROMPT =
  "This is a connection check by kanbot-runner doctor. Reply with the single word OK. Use no tools and change no files.";

export async function runDoctor(options: DoctorOptions): Promise<DoctorCheck[]> {
  const env = options.env ?? process.env;
  const timeoutMs = options.commandTimeoutMs ?? 15_000;
  const checks: DoctorCheck[] = [];
  // 1. git
  checks.push(await checkGit(env, timeoutMs));
  // 2. the sandbox
  const sandbox = await checkSandbox(options.loaded, env);
  checks.push(sandbox.check);
  // 3. each agent: runs, authenticates, answers (--live)
  for (const [name, agent] of Object.entries(options.loaded.config.agents)) {
    checks.push(
      ...(await checkAgent({
        name,
        agent,
        env,
        timeoutMs,
        sandbox: sandbox.sandbox,
        secrets: runnerSecrets(options.loaded, env),
        ...(options.live === true ? { liveTimeoutMs: options.liveTimeoutMs ?? 120_000 } : {}),
      })),
    );
  }
  // 4. the app and its version
  checks.push(...(await checkApp(options)));
  // 5. disk
  checks.push(await checkDisk(options.loaded.workDir));
  return checks;
}

/** `ok    git: 2.43.0` lines, and a last line that sums up. */
export function formatDoctor(checks: readonly DoctorCheck[]): string {
  const lines = checks.map(
    (check) => `${check.status.toUpperCase().padEnd(5)} ${check.name}: ${check.detail}`,
  );
  const failed = checks.filter((check) => check.status === "fail").length;
  const warned = checks.filter((check) => check.status === "warn").length;
  const warnings = `${warned} warning${warned === 1 ? "" : "s"}`;
  lines.push(
    failed > 0
      ? `${failed} check${failed === 1 ? "" : "s"} failed; fix ${failed === 1 ? "it" : "them"} before kanbot-runner start.`
      : warned > 0
        ? `The runner can start, with ${warnings}: read ${warned === 1 ? "it" : "them"} above.`
        : "The runner is ready.",
  );
  return `${lines.join("\n")}\n`;
}

async function checkGit(
  env: Readonly<Record<string, string | undefined>>,
  timeoutMs: number,
): Promise<DoctorCheck> {
  const run = await execa("git", ["--version"], {
    env: { PATH: env.PATH ?? "", LANG: "C" },
    extendEnv: false,
    reject: false,
    timeout: timeoutMs,
  });
  if (run.exitCode !== 0) {
    return { name: "git", status: "fail", detail: "git was not found on PATH; install git ≥ 2.31" };
  }
  const match = /(\d+)\.(\d+)(?:\.(\d+))?/.exec(String(run.stdout));
  const version = match?.[0] ?? String(run.stdout);
  const [major, minor] = [Number(match?.[1] ?? 0), Number(match?.[2] ?? 0)];
  const [wantMajor, wantMinor] = MIN_GIT_VERSION;
  const recent = major > wantMajor || (major === wantMajor && minor >= wantMinor);
  return recent
    ? { name: "git", status: "ok", detail: version }
    : {
        name: "git",
        status: "fail",
        detail: `${version} is too old; kanbot needs git ≥ ${wantMajor}.${wantMinor} (it passes the job token through GIT_CONFIG_COUNT)`,
      };
}

/** Whether the configured sandbox starts here; `none` is a warning on every run. */
async function checkSandbox(
  loaded: LoadedRunnerConfig,
  env: Readonly<Record<string, string | undefined>>,
): Promise<{ check: DoctorCheck; sandbox?: Sandbox }> {
  const name = "sandbox";
  const state = await sandboxStateFor(loaded, env);
  if (state.kind === "none") {
    return { check: { name, status: "warn", detail: sandboxWarning(loaded.file) } };
  }
  if (state.kind === "unavailable") {
    return {
      check: { name, status: "fail", detail: new SandboxUnavailableError(state.reason).message },
    };
  }
  try {
    const sandbox = createSandbox({
      state,
      workDir: loaded.workDir,
      configFile: loaded.file,
      paths: loaded.sandboxPaths,
      ...(loaded.tokenFile !== undefined ? { tokenFile: loaded.tokenFile } : {}),
      ...(env.HOME !== undefined && env.HOME !== "" ? { home: env.HOME } : {}),
    });
    return {
      check: {
        name,
        status: "ok",
        detail: `bubblewrap ${state.version} (${state.bwrap}): own PID namespace, read-only system, private HOME and /tmp, the runner's files hidden, network ${state.network ? "on" : "off (sandboxNetwork: false)"}`,
      },
      sandbox,
    };
  } catch (error) {
    if (!(error instanceof SandboxConfigError)) throw error;
    return { check: { name, status: "fail", detail: error.message } };
  }
}

/** A throwaway job in which one agent's checks run, as a job would run them. */
interface Trial {
  /** The job's sandbox; undefined with `sandbox: none`. */
  commands: CommandSandbox | undefined;
  /** The working directory (the job's "worktree"). */
  cwd: string;
  promptFile: string;
  dispose(): Promise<void>;
}

async function startTrial(sandbox: Sandbox | undefined, agentKind: string): Promise<Trial> {
  const root = await mkdtemp(join(tmpdir(), "kanbot-doctor-"));
  const cwd = join(root, "work");
  const promptDir = join(root, "prompt");
  await mkdir(cwd);
  await mkdir(promptDir);
  const job = await sandbox?.forJob({
    jobId: `doctor-${process.pid}`,
    taskId: "doctor",
    agentKind,
    worktree: cwd,
    mirror: join(root, "no-mirror"),
    promptDir,
  });
  return {
    commands: job?.commands,
    cwd,
    promptFile: join(promptDir, "prompt.md"),
    async dispose() {
      await job?.dispose();
      await rm(root, { recursive: true, force: true });
    },
  };
}

interface AgentCheckOptions {
  name: string;
  agent: RunnerAgentConfig;
  env: Readonly<Record<string, string | undefined>>;
  timeoutMs: number;
  sandbox: Sandbox | undefined;
  secrets: readonly string[];
  /** Set with `--live`. */
  liveTimeoutMs?: number;
}

/**
 * `agent <name>` (the CLI runs, inside the sandbox), `agent <name> auth` and, with `--live`,
 * `agent <name> live`. Auth and live are checked only when the CLI runs.
 */
async function checkAgent(options: AgentCheckOptions): Promise<DoctorCheck[]> {
  const { name, agent, env, timeoutMs } = options;
  const label = `agent ${name}`;
  const kind = agent.adapter ?? (name in BUILT_IN_ADAPTERS ? name : "command");
  const command = agent.command ?? (kind === "command" ? undefined : kind);
  if (command === undefined) {
    return [
      {
        name: label,
        status: "fail",
        detail: "a command agent needs `command:` in kanbot-runner.yml",
      },
    ];
  }
  const path = await findProgram(command, env.PATH ?? "");
  if (path === undefined) {
    return [
      {
        name: label,
        status: "fail",
        detail: `"${command}" was not found on PATH or is not executable; install it or set agents.${name}.command`,
      },
    ];
  }
  const trial = await startTrial(options.sandbox, kind);
  try {
    // The environment a job's agent gets: the allowlist, the adapter's variables and credentials.
    const adapter = adapterFor(name, agent.adapter);
    const config = { ...agent, command: path };
    const line = adapter.buildCommand(
      { prompt: LIVE_PROMPT, promptFile: trial.promptFile, workdir: trial.cwd },
      config,
    );
    const childEnv = buildChildEnv({
      source: env,
      allow: line.envAllow,
      credentials: line.credentials,
      set: line.env,
    });
    const runs = await checkRuns(label, path, childEnv, timeoutMs, trial);
    if (runs.status !== "ok") return [runs];
    const checks = [runs, await checkAuth(name, kind, path, childEnv, timeoutMs, trial)];
    if (options.liveTimeoutMs !== undefined) {
      await writeFile(trial.promptFile, LIVE_PROMPT, { mode: 0o600 });
      const started = Date.now();
      const result = await runAgent({
        jobId: `doctor-${process.pid}-${name}`,
        adapter,
        invocation: { prompt: LIVE_PROMPT, promptFile: trial.promptFile, workdir: trial.cwd },
        config,
        limits: { timeoutMs: options.liveTimeoutMs, graceMs: 2_000 },
        sourceEnv: env,
        secrets: options.secrets,
        ...(trial.commands !== undefined ? { sandbox: trial.commands } : {}),
      });
      checks.push(liveCheck(`${label} live`, result, Date.now() - started, options.liveTimeoutMs));
    }
    return checks;
  } finally {
    await trial.dispose();
  }
}

/** Runs `path args` as a job's command would run (in the trial's sandbox); never throws. */
async function runInTrial(
  path: string,
  args: readonly string[],
  childEnv: Readonly<Record<string, string>>,
  timeoutMs: number,
  trial: Trial,
): Promise<{ exitCode: number | undefined; stdout: string; stderr: string }> {
  const line =
    trial.commands === undefined
      ? { command: path, args, cwd: trial.cwd, env: childEnv }
      : await trial.commands.wrap({ command: path, args, cwd: trial.cwd, env: childEnv });
  const run = await execa(line.command, [...line.args], {
    cwd: line.cwd,
    env: line.env,
    extendEnv: false,
    reject: false,
    stdin: "ignore",
    timeout: timeoutMs,
  });
  return { exitCode: run.exitCode, stdout: String(run.stdout), stderr: String(run.stderr) };
}

async function checkRuns(
  label: string,
  path: string,
  childEnv: Readonly<Record<string, string>>,
  timeoutMs: number,
  trial: Trial,
): Promise<DoctorCheck> {
  for (const flag of ["--version", "--help"]) {
    const run = await execa(path, [flag], {
      env: childEnv,
      extendEnv: false,
      reject: false,
      stdin: "ignore",
      timeout: timeoutMs,
    });
    if (run.exitCode !== 0) continue;
    const first = String(run.stdout).split("\n")[0]?.trim() ?? "";
    const found = `${path} (${first.slice(0, 80) || flag})`;
    if (trial.commands === undefined) return { name: label, status: "ok", detail: found };
    const inside = await runInTrial(path, [flag], childEnv, timeoutMs, trial);
    if (inside.exitCode === 0) {
      return { name: label, status: "ok", detail: `${found}, runs in the sandbox` };
    }
    const said = inside.stderr.trim().split("\n").slice(-2).join(" ");
    return {
      name: label,
      status: "fail",
      detail: `${found} runs, but not in the sandbox (${said || `exit code ${inside.exitCode ?? "none"}`}); if it needs files in a hidden folder (your home, /tmp), list them in sandboxReadOnly`,
    };
  }
  return {
    name: label,
    status: "warn",
    detail: `${path} was found but neither --version nor --help exited 0; check that it runs for the runner's user`,
  };
}

/** The CLI's own auth status command where it has one (agent-auth.ts), else the evidence. */
async function checkAuth(
  name: string,
  kind: string,
  path: string,
  childEnv: Readonly<Record<string, string>>,
  timeoutMs: number,
  trial: Trial,
): Promise<DoctorCheck> {
  const passed = credentialsPassed(kind, childEnv);
  const sandboxed = trial.commands !== undefined;
  const status = AUTH_STATUS_COMMANDS[kind];
  const verdict =
    status === undefined
      ? verdictWithoutStatus(kind, passed, { sandboxed })
      : interpretAuthStatus(
          kind,
          await runInTrial(path, status.args, childEnv, timeoutMs, trial),
          passed,
          { sandboxed },
        );
  return { name: `agent ${name} auth`, ...verdict };
}

function liveCheck(
  name: string,
  result: Awaited<ReturnType<typeof runAgent>>,
  elapsedMs: number,
  timeoutMs: number,
): DoctorCheck {
  const seconds = (elapsedMs / 1000).toFixed(1);
  if (result.success) {
    const cost = result.costUsd === undefined ? "" : `, $${result.costUsd.toFixed(4)}`;
    const said = result.summary.trim().replace(/\s+/g, " ").slice(0, 60);
    return { name, status: "ok", detail: `answered in ${seconds} s${cost}: "${said}"` };
  }
  if (result.run.reason === "timeout") {
    return {
      name,
      status: "fail",
      detail: `no result within ${Math.round(timeoutMs / 1000)} s: the CLI was still trying (CLIs retry a refused key, an unreachable endpoint or a proxy's errors); check its key, the network and the endpoint variables (docs/agents.md), or run it by hand`,
    };
  }
  const said = (result.error ?? result.summary).trim().replace(/\s+/g, " ").slice(0, 240);
  return {
    name,
    status: "fail",
    detail: `the request failed after ${seconds} s: ${said || `exit code ${result.run.exitCode ?? "none"}`}; fix the agent's credentials or endpoint (docs/agents.md)`,
  };
}

/** `app`: answers `GET /ping` and accepts the token; `app version`: the app's against ours. */
async function checkApp(options: DoctorOptions): Promise<DoctorCheck[]> {
  const { loaded } = options;
  const url = loaded.config.appUrl;
  const ping = await pingApp(url, options.fetch ?? fetch);
  const pinged = ping.ok
    ? "answers GET /ping"
    : `does not answer GET /ping as the kanbot app would (${ping.why})`;
  const version = checkAppVersion(ping);
  if (loaded.token === undefined && options.api === undefined) {
    return [
      {
        name: "app",
        status: "fail",
        detail: `${url} ${pinged}; no runner token: run kanbot-runner register --token <registration token>`,
      },
      version,
    ];
  }
  const api =
    options.api ??
    new RunnerApiClient({
      baseUrl: url,
      ...(loaded.token !== undefined ? { token: loaded.token } : {}),
      timeoutMs: 15_000,
    });
  try {
    await api.claim({ freeSlots: 0, waitSeconds: 0 }, { timeoutMs: 15_000 });
    const detail = ping.ok
      ? `${url} answers GET /ping and accepts this runner's token`
      : `${url} accepts this runner's token, but ${pinged}`;
    return [{ name: "app", status: "ok", detail }, version];
  } catch (error) {
    if (error instanceof RunnerTokenRevokedError) {
      return [
        {
          name: "app",
          status: "fail",
          detail: `${url} refused the runner token (revoked or never issued); register again`,
        },
        version,
      ];
    }
    if (error instanceof ApiConnectionError) {
      return [
        { name: "app", status: "fail", detail: `${error.message}; check appUrl and the network` },
        version,
      ];
    }
    return [{ name: "app", status: "fail", detail: (error as Error).message }, version];
  }
}

type Ping = { ok: true; version: string | undefined } | { ok: false; why: string };

async function pingApp(appUrl: string, fetchFn: typeof fetch): Promise<Ping> {
  const url = new URL("ping", appUrl.endsWith("/") ? appUrl : `${appUrl}/`);
  try {
    const response = await fetchFn(url, { signal: AbortSignal.timeout(15_000) });
    const body = (await response.text()).trim();
    if (response.status !== 200 || body !== "PONG") {
      return { ok: false, why: `HTTP ${response.status}` };
    }
    return { ok: true, version: await appVersion(appUrl, fetchFn) };
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause?.code;
    return { ok: false, why: cause ?? (error as Error).message };
  }
}

/** The version the app says at `GET /api/v1/version`; undefined when it does not (an older app). */
async function appVersion(appUrl: string, fetchFn: typeof fetch): Promise<string | undefined> {
  const url = new URL(APP_VERSION_PATH.slice(1), appUrl.endsWith("/") ? appUrl : `${appUrl}/`);
  try {
    const response = await fetchFn(url, { signal: AbortSignal.timeout(15_000) });
    if (response.status !== 200) return undefined;
    const body = (await response.json()) as { version?: unknown };
    return typeof body.version === "string" && body.version.length <= 100
      ? body.version
      : undefined;
  } catch {
    return undefined;
  }
}

function checkAppVersion(ping: Ping): DoctorCheck {
  const name = "app version";
  const ours = packageInfo().version;
  if (!ping.ok) {
    return {
      name,
      status: "warn",
      detail: `not available: the app did not answer (runner ${ours})`,
    };
  }
  if (ping.version === undefined) {
    return {
      name,
      status: "warn",
      detail: `not available: this app does not say its version (no GET ${APP_VERSION_PATH}); the runner is ${ours}: run the same kanbot release on both`,
    };
  }
  if (ping.version === ours) {
    return { name, status: "ok", detail: `${ours}, the same as the runner` };
  }
  return {
    name,
    status: "warn",
    detail: `the app is ${ping.version}, the runner ${ours}: upgrade the older one (npm install -g kanbot@<version>)`,
  };
}

async function checkDisk(workDir: string): Promise<DoctorCheck> {
  const name = "disk";
  let folder = workDir;
  for (;;) {
    try {
      const stats = await statfs(folder);
      const free = stats.bavail * stats.bsize;
      const detail = `${formatBytes(free)} free in ${folder === workDir ? workDir : `${folder} (for ${workDir})`}`;
      if (free < FAIL_FREE_BYTES)
        return { name, status: "fail", detail: `${detail}; free some space` };
      if (free < WARN_FREE_BYTES)
        return { name, status: "warn", detail: `${detail}; mirrors and worktrees need room` };
      return { name, status: "ok", detail };
    } catch {
      const parent = dirname(folder);
      if (parent === folder) {
        return { name, status: "fail", detail: `cannot read the file system of ${workDir}` };
      }
      folder = parent;
    }
  }
}

/** The executable `command` resolves to (a path, or a name looked up on PATH). */
export async function findProgram(command: string, path: string): Promise<string | undefined> {
  const candidates =
    isAbsolute(command) || command.includes("/")
      ? [command]
      : path
          .split(delimiter)
          .filter((dir) => dir !== "")
          .map((dir) => join(dir, command));
  for (const candidate of candidates) {
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // next
    }
  }
  return undefined;
}

function formatBytes(bytes: number): string {
  const gib = bytes / 1024 ** 3;
  return gib >= 1 ? `${gib.toFixed(1)} GiB` : `${Math.round(bytes / 1024 ** 2)} MiB`;
}
