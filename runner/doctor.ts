/**
 * `kanbot-runner doctor`: checks what the runner needs, one line per check, each saying what to
 * do when it fails: git (≥ 2.31, for credentials passed through the environment), the sandbox
 * (bubblewrap starts; `sandbox: none` is a warning, every time), each configured agent CLI (found
 * and runnable: `--version`, else `--help`, inside the sandbox when there is one), the app
 * (reachable, and the runner token accepted) and the disk space of the work directory.
 */
import { access, constants, mkdtemp, rm, statfs } from "node:fs/promises";
import { tmpdir } from "node:os";
import { delimiter, dirname, isAbsolute, join } from "node:path";

import { execa } from "execa";

import { BUILT_IN_ADAPTERS } from "./agents/index.js";
import {
  ApiConnectionError,
  RunnerApiClient,
  RunnerTokenRevokedError,
  type ClaimApi,
} from "./client.js";
import type { LoadedRunnerConfig } from "./config.js";
import { buildChildEnv } from "./process/env.js";
import {
  createSandbox,
  SandboxConfigError,
  sandboxStateFor,
  SandboxUnavailableError,
  sandboxWarning,
  type CommandSandbox,
  type Sandbox,
} from "./sandbox/index.js";

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
  /** Time limit of each `--version` run. Default 15 s. */
  commandTimeoutMs?: number;
}

/** git 2.31 reads `GIT_CONFIG_COUNT` (how the job token reaches git without a file). */
export const MIN_GIT_VERSION: readonly [number, number] = [2, 31];
const WARN_FREE_BYTES = 5 * 1024 ** 3;
const FAIL_FREE_BYTES = 1024 ** 3;

export async function runDoctor(options: DoctorOptions): Promise<DoctorCheck[]> {
  const env = options.env ?? process.env;
  const timeoutMs = options.commandTimeoutMs ?? 15_000;
  const checks: DoctorCheck[] = [];
  checks.push(await checkGit(env, timeoutMs));
  const sandbox = await checkSandbox(options.loaded, env);
  checks.push(sandbox.check);
  const trial = await trialSandbox(sandbox.sandbox);
  try {
    for (const [name, agent] of Object.entries(options.loaded.config.agents)) {
      const kind = agent.adapter ?? (name in BUILT_IN_ADAPTERS ? name : "command");
      const command = agent.command ?? (kind === "command" ? undefined : kind);
      checks.push(
        await checkAgent(
          name,
          command,
          env,
          agent.env ?? {},
          timeoutMs,
          trial?.commands,
          trial?.cwd,
        ),
      );
    }
  } finally {
    await trial?.dispose();
  }
  checks.push(await checkApp(options));
  checks.push(await checkDisk(options.loaded.workDir));
  return checks;
}

/** `ok    git: 2.43.0` lines, and a last line that sums up. */
export function formatDoctor(checks: readonly DoctorCheck[]): string {
  const lines = checks.map(
    (check) => `${check.status.toUpperCase().padEnd(5)} ${check.name}: ${check.detail}`,
  );
  const failed = checks.filter((check) => check.status === "fail").length;
  lines.push(
    failed === 0
      ? "The runner is ready."
      : `${failed} check${failed === 1 ? "" : "s"} failed; fix ${failed === 1 ? "it" : "them"} before kanbot-runner start.`,
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

/** A throwaway job sandbox in which the agent checks run, as jobs would run them. */
async function trialSandbox(
  sandbox: Sandbox | undefined,
): Promise<{ commands: CommandSandbox; cwd: string; dispose(): Promise<void> } | undefined> {
  if (sandbox === undefined) return undefined;
  const cwd = await mkdtemp(join(tmpdir(), "kanbot-doctor-"));
  const job = await sandbox.forJob({
    jobId: `doctor-${process.pid}`,
    taskId: "doctor",
    worktree: cwd,
    mirror: join(cwd, "no-mirror"),
  });
  if (job.commands === undefined) {
    await rm(cwd, { recursive: true, force: true });
    return undefined;
  }
  return {
    commands: job.commands,
    cwd,
    async dispose() {
      await job.dispose();
      await rm(cwd, { recursive: true, force: true });
    },
  };
}

async function checkAgent(
  name: string,
  command: string | undefined,
  env: Readonly<Record<string, string | undefined>>,
  set: Readonly<Record<string, string>>,
  timeoutMs: number,
  sandbox?: CommandSandbox,
  cwd?: string,
): Promise<DoctorCheck> {
  const label = `agent ${name}`;
  if (command === undefined) {
    return {
      name: label,
      status: "fail",
      detail: "a command agent needs `command:` in kanbot-runner.yml",
    };
  }
  const path = await findProgram(command, env.PATH ?? "");
  if (path === undefined) {
    return {
      name: label,
      status: "fail",
      detail: `"${command}" was not found on PATH or is not executable; install it or set agents.${name}.command`,
    };
  }
  const childEnv = buildChildEnv({ source: env, set });
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
    if (sandbox === undefined || cwd === undefined) {
      return { name: label, status: "ok", detail: found };
    }
    const line = await sandbox.wrap({ command: path, args: [flag], cwd, env: childEnv });
    const inside = await execa(line.command, [...line.args], {
      cwd: line.cwd,
      env: line.env,
      extendEnv: false,
      reject: false,
      stdin: "ignore",
      timeout: timeoutMs,
    });
    if (inside.exitCode === 0) {
      return { name: label, status: "ok", detail: `${found}, runs in the sandbox` };
    }
    const said = String(inside.stderr).trim().split("\n").slice(-2).join(" ");
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

async function checkApp(options: DoctorOptions): Promise<DoctorCheck> {
  const { loaded } = options;
  const name = "app";
  if (loaded.token === undefined && options.api === undefined) {
    return {
      name,
      status: "fail",
      detail: `no runner token; run kanbot-runner register --token <registration token> (app: ${loaded.config.appUrl})`,
    };
  }
  const api =
    options.api ??
    new RunnerApiClient({
      baseUrl: loaded.config.appUrl,
      ...(loaded.token !== undefined ? { token: loaded.token } : {}),
      timeoutMs: 15_000,
    });
  try {
    await api.claim({ freeSlots: 0, waitSeconds: 0 }, { timeoutMs: 15_000 });
    return { name, status: "ok", detail: `${loaded.config.appUrl} accepts this runner's token` };
  } catch (error) {
    if (error instanceof RunnerTokenRevokedError) {
      return {
        name,
        status: "fail",
        detail: `${loaded.config.appUrl} refused the runner token (revoked or never issued); register again`,
      };
    }
    if (error instanceof ApiConnectionError) {
      return { name, status: "fail", detail: `${error.message}; check appUrl and the network` };
    }
    return { name, status: "fail", detail: (error as Error).message };
  }
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
