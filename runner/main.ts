/**
 * The runner's command line (composition root; runner/cli.ts only calls `runnerMain`):
 *
 *   kanbot-runner register --token <registration token> [--url <app url>] [--name <name>]
 *   kanbot-runner start [--concurrency N] [--once] [--max-jobs N]
 *   kanbot-runner status | doctor [--live] | cleanup [--all]
 *
 * Every command takes `--config <file>` (default `$KANBOT_RUNNER_CONFIG`, else
 * `./kanbot-runner.yml`) and `--help`. Exit codes: 0 fine, 1 failed, 2 bad usage or config,
 * 3 runner token revoked, 4 claim refused.
 *
 * Why one long file: it holds each `kanbot-runner` command (register, start, status, doctor, cleanup) with
 * its argument parsing and output, one short function each; the logic they call lives below.
 */
import { hostname } from "node:os";
import { parseArgs, type ParseArgsConfig } from "node:util";

import { pino, type Logger } from "pino";

import {
  ApiConnectionError,
  RegistrationTokenRejectedError,
  RunnerApiClient,
  RunnerTokenRevokedError,
} from "./client.js";
import {
  DEFAULT_CONFIG_FILE,
  loadRunnerConfig,
  RunnerConfigError,
  saveRunnerToken,
  type LoadedRunnerConfig,
} from "./config.js";
import { runDaemon } from "./daemon.js";
import { formatDoctor, runDoctor } from "./doctor.js";
import {
  createSandbox,
  SandboxConfigError,
  sandboxStateFor,
  SandboxUnavailableError,
  sandboxWarning,
  sweepSandboxFolders,
} from "./sandbox/index.js";
import { redactingSink, runnerSecrets } from "./process/redact.js";
import { createWorkspaces } from "./workspace/index.js";
import { packageInfo } from "../src/package-info.js";

export interface CliStreams {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
}

export interface RunnerMainOptions {
  /** Default `process.env`. */
  env?: Readonly<Record<string, string | undefined>>;
  /** The daemon's log; default pino on stderr at the config's level. */
  log?: Logger;
  /** Stops `start` gracefully (default: the first SIGINT/SIGTERM). */
  stop?: AbortSignal;
  /** Cancels running jobs at once (default: a second SIGINT/SIGTERM). */
  kill?: AbortSignal;
  /** How a third SIGINT/SIGTERM ends the process at once. Default `process.exit`. */
  exit?: (code: number) => void;
}

const USAGE = `Usage: kanbot-runner <command> [options]

The kanbot workstation runner: claims jobs from a kanbot app, runs a coding agent in a fresh git
worktree and pushes one branch per task. See docs/runner.md.

Commands:
  register   exchange a one-time registration token for a runner token
  start      run the daemon (--concurrency, --once, --max-jobs)
  status     show this runner's registration, the app's answer and worktrees on disk
  doctor     check git, the sandbox, the agent CLIs and their log-ins, the app and disk space
  cleanup    remove worktrees left by earlier jobs

Options:
  -c, --config <file>  the config file (default $KANBOT_RUNNER_CONFIG or ./kanbot-runner.yml)
  -h, --help           show help (also: kanbot-runner <command> --help)
  -v, --version        show the version
`;

const HELP: Record<Command, string> = {
  register: `Usage: kanbot-runner register --token <registration token> [--url <app url>] [--name <name>]

Exchanges a one-time registration token (an admin prints one with \`kanbot runners add <name>\`)
for this runner's long-lived token, and stores it in the config (or its tokenFile) with 0600
permissions. The agents, labels and repositories registered are the config's.

Options:
  -t, --token <token>  the one-time registration token (kbreg_…)
  -u, --url <url>      the app's URL (written to appUrl; default: appUrl from the config)
  -n, --name <name>    this runner's name (default: name from the config, else the host name)
  -c, --config <file>  the config file
`,
  start: `Usage: kanbot-runner start [--concurrency N] [--once] [--max-jobs N]

Runs the daemon: long-polls the app for jobs and works them. SIGINT/SIGTERM stops claiming and
lets running jobs finish within shutdownGraceSeconds, then cancels them (work in progress is
pushed); a second signal cancels them at once, a third exits at once (their leases expire). Agents and the repository's commands run in a
sandbox (bubblewrap); when it cannot start, start refuses (exit 2) unless the config says
sandbox: none, which it warns about on every start.

Options:
  --concurrency <N>    jobs at the same time (default: concurrency from the config)
  --once               take one job, finish it and exit
  --max-jobs <N>       exit after N jobs
  -c, --config <file>  the config file
`,
  status: `Usage: kanbot-runner status

Shows the config, whether the app accepts this runner's token, and the worktrees on disk.

Options:
  -c, --config <file>  the config file
`,
  doctor: `Usage: kanbot-runner doctor [--live]

Checks git (≥ 2.31), the sandbox (bubblewrap starts; a warning with sandbox: none), each
configured agent CLI (found and runnable inside the sandbox, and its authentication: the CLI's
own status command where it has one, else "not verified"), the app (answers GET /ping, accepts
the runner token, its version against the runner's) and the free disk space of the work
directory. One line per check: OK, WARN or FAIL with what to do. Exits 1 when a check fails.

Options:
  --live               also run each agent once on a tiny prompt (one request to its model,
                       which may cost a little), at most 2 minutes each
  -c, --config <file>  the config file
`,
  cleanup: `Usage: kanbot-runner cleanup [--all]

Removes worktrees no running job owns (the daemon does this at start too). Worktrees of failed
jobs are kept for keepFailedWorktreesHours unless --all is given. Do not run it while the
daemon runs with the same work directory.

Options:
  --all                also remove kept worktrees of failed jobs
  -c, --config <file>  the config file
`,
};

const COMMANDS = ["register", "start", "status", "doctor", "cleanup"] as const;

/** An agent's per-task state folder (`<workDir>/agent-home/<task>`) unused this long is removed. */
const AGENT_HOME_MAX_AGE_MS = 30 * 24 * 3_600_000;
type Command = (typeof COMMANDS)[number];

const COMMON = {
  config: { type: "string", short: "c" },
  help: { type: "boolean", short: "h" },
} as const satisfies ParseArgsConfig["options"];

const OPTIONS = {
  register: {
    ...COMMON,
    token: { type: "string", short: "t" },
    url: { type: "string", short: "u" },
    name: { type: "string", short: "n" },
  },
  start: {
    ...COMMON,
    concurrency: { type: "string" },
    once: { type: "boolean" },
    "max-jobs": { type: "string" },
  },
  status: COMMON,
  doctor: { ...COMMON, live: { type: "boolean" } },
  cleanup: { ...COMMON, all: { type: "boolean" } },
} as const satisfies Record<Command, ParseArgsConfig["options"]>;

/** Usage errors: exit 2 with the message and the command's help. */
class UsageError extends Error {
  override name = "UsageError";
}

export async function runnerMain(
  argv: readonly string[],
  io: CliStreams,
  options: RunnerMainOptions = {},
): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === "-h" || command === "--help" || command === "help") {
    io.stdout.write(USAGE);
    return command === undefined ? 2 : 0;
  }
  if (command === "-v" || command === "--version") {
    io.stdout.write(`${packageInfo().version}\n`);
    return 0;
  }
  if (!(COMMANDS as readonly string[]).includes(command)) {
    io.stderr.write(`kanbot-runner: unknown command "${command}"\n\n${USAGE}`);
    return 2;
  }
  const name = command as Command;
  const env = options.env ?? process.env;
  try {
    const { values } = parseArgs({
      args: [...rest],
      options: OPTIONS[name],
      strict: true,
      allowPositionals: false,
    });
    const flags = values as Record<string, string | boolean | undefined>;
    if (flags.help === true) {
      io.stdout.write(HELP[name]);
      return 0;
    }
    const file =
      (typeof flags.config === "string" ? flags.config : undefined) ??
      env.KANBOT_RUNNER_CONFIG ??
      DEFAULT_CONFIG_FILE;
    const loaded = await loadRunnerConfig(file);
    switch (name) {
      case "register":
        return await register(loaded, flags, io);
      case "start":
        return await start(loaded, flags, io, options, env);
      case "status":
        return await status(loaded, io);
      case "doctor":
        return await doctor(loaded, flags, io, env);
      case "cleanup":
        return await cleanup(loaded, flags, io);
    }
  } catch (error) {
    if (error instanceof UsageError || isParseArgsError(error)) {
      io.stderr.write(`kanbot-runner ${name}: ${(error as Error).message}\n\n${HELP[name]}`);
      return 2;
    }
    if (error instanceof RunnerConfigError) {
      io.stderr.write(`${error.message}\n`);
      return 2;
    }
    io.stderr.write(`kanbot-runner ${name}: ${(error as Error).message ?? String(error)}\n`);
    return 1;
  }
}

// --- register ----------------------------------------------------------------------------------

async function register(
  loaded: LoadedRunnerConfig,
  flags: Record<string, string | boolean | undefined>,
  io: CliStreams,
): Promise<number> {
  const registrationToken = typeof flags.token === "string" ? flags.token : undefined;
  if (registrationToken === undefined) {
    throw new UsageError(
      "--token <registration token> is required (kanbot runners add prints one)",
    );
  }
  const appUrl = typeof flags.url === "string" ? flags.url : loaded.config.appUrl;
  const runnerName =
    (typeof flags.name === "string" ? flags.name : undefined) ??
    loaded.config.name ??
    hostname().split(".")[0] ??
    "runner";
  const client = new RunnerApiClient({ baseUrl: appUrl });
  try {
    const answer = await client.register({
      registrationToken,
      name: runnerName,
      agents: Object.keys(loaded.config.agents),
      labels: loaded.config.labels,
      repos: loaded.config.repos,
    });
    const where = await saveRunnerToken(
      loaded,
      answer.runnerToken,
      appUrl === loaded.config.appUrl ? undefined : appUrl,
    );
    io.stdout.write(
      `Registered runner "${answer.name}" (id ${answer.runnerId}) with ${appUrl}: agents ${answer.agents.join(", ")}${answer.labels.length > 0 ? `, labels ${answer.labels.join(", ")}` : ""}.\nThe runner token is in ${where} (mode 0600). Start the runner with: kanbot-runner start\n`,
    );
    return 0;
  } catch (error) {
    if (error instanceof RegistrationTokenRejectedError) {
      io.stderr.write(
        `kanbot-runner register: the app refused the registration token: ${error.message}\nAsk an admin for a new one (kanbot runners add <name>); each token works once and expires.\n`,
      );
      return 1;
    }
    throw error;
  }
}

// --- start -------------------------------------------------------------------------------------

async function start(
  loaded: LoadedRunnerConfig,
  flags: Record<string, string | boolean | undefined>,
  io: CliStreams,
  options: RunnerMainOptions,
  env: Readonly<Record<string, string | undefined>>,
): Promise<number> {
  if (loaded.token === undefined) {
    io.stderr.write(
      `kanbot-runner start: ${loaded.file} has no runner token; run kanbot-runner register --token <registration token> first\n`,
    );
    return 2;
  }
  const concurrency = positiveInteger(flags.concurrency, "--concurrency");
  const maxJobs = flags.once === true ? 1 : positiveInteger(flags["max-jobs"], "--max-jobs");
  const log =
    options.log ??
    pino(
      { name: "kanbot-runner", level: loaded.config.logLevel },
      // Every line of the runner's own log passes the redaction policy (runner token, secrets).
      redactingSink(pino.destination(2), runnerSecrets(loaded, env)),
    );

  // The sandbox: no agent runs without it, unless the config turns it off (warned every start).
  const sandbox = await sandboxStateFor(loaded, env);
  if (sandbox.kind === "unavailable") {
    io.stderr.write(
      `kanbot-runner start: ${new SandboxUnavailableError(sandbox.reason).message}\n`,
    );
    return 2;
  }
  try {
    createSandbox({
      state: sandbox,
      workDir: loaded.workDir,
      configFile: loaded.file,
      paths: loaded.sandboxPaths,
      ...(loaded.tokenFile !== undefined ? { tokenFile: loaded.tokenFile } : {}),
    });
  } catch (error) {
    if (!(error instanceof SandboxConfigError)) throw error;
    io.stderr.write(`kanbot-runner start: ${error.message}\n`);
    return 2;
  }
  if (sandbox.kind === "none") {
    io.stderr.write(`kanbot-runner start: WARNING: ${sandboxWarning(loaded.file)}\n`);
    log.warn({ config: loaded.file }, "no sandbox: agents can read the runner's secrets");
  } else {
    log.info(
      { bwrap: sandbox.bwrap, version: sandbox.version, network: sandbox.network },
      "sandbox ready",
    );
  }
  // No job runs yet: what a crash left of job sandboxes goes, and agent state of idle tasks.
  await sweepSandboxFolders(loaded.workDir, { now: Date.now(), maxAgeMs: AGENT_HOME_MAX_AGE_MS });

  let stop = options.stop;
  let kill = options.kill;
  const cleanups: (() => void)[] = [];
  if (stop === undefined) {
    // 1st signal: graceful; 2nd: cancel running jobs now (agents stopped, work in progress
    // pushed, jobs reported); 3rd: exit at once (the sandbox takes the agents down with the
    // runner; their leases expire on the app, docs/runner.md "Shutdown").
    const stopper = new AbortController();
    const killer = new AbortController();
    const exit = options.exit ?? ((code: number) => process.exit(code));
    const onSignal = (signal: NodeJS.Signals) => {
      if (!stopper.signal.aborted) {
        log.info(
          { signal, graceSeconds: loaded.config.shutdownGraceSeconds },
          "stopping: no new jobs; running jobs get the grace period (signal again to cancel them now)",
        );
        stopper.abort();
      } else if (!killer.signal.aborted) {
        log.warn(
          { signal },
          "second signal: canceling running jobs now, work in progress is pushed (a third signal exits at once)",
        );
        killer.abort();
      } else {
        log.warn({ signal }, "third signal: exiting at once; unfinished jobs' leases will expire");
        log.flush?.();
        exit(signal === "SIGINT" ? 130 : 143);
      }
    };
    for (const signal of ["SIGINT", "SIGTERM"] as const) {
      process.on(signal, onSignal);
      cleanups.push(() => process.off(signal, onSignal));
    }
    stop = stopper.signal;
    kill ??= killer.signal;
  }
  try {
    const result = await runDaemon({
      loaded,
      ...(concurrency !== undefined ? { concurrency } : {}),
      ...(maxJobs !== undefined ? { maxJobs } : {}),
      stop,
      ...(kill !== undefined ? { kill } : {}),
      log,
      sourceEnv: env,
    });
    if (result.message !== undefined) io.stderr.write(`${result.message}\n`);
    return result.exitCode;
  } finally {
    for (const cleanup of cleanups) cleanup();
  }
}

// --- status ------------------------------------------------------------------------------------

async function status(loaded: LoadedRunnerConfig, io: CliStreams): Promise<number> {
  const { config } = loaded;
  const lines = [
    `config:      ${loaded.file}`,
    `app:         ${config.appUrl}`,
    `name:        ${config.name ?? hostname()}`,
    `agents:      ${Object.keys(config.agents).join(", ")}`,
    `labels:      ${config.labels.join(", ") || "(none)"}`,
    `repos:       ${config.repos.join(", ") || "(all)"}`,
    `concurrency: ${config.concurrency}`,
    `work dir:    ${loaded.workDir}`,
  ];
  let exitCode = 0;
  if (loaded.token === undefined) {
    lines.push("token:       none (run kanbot-runner register)");
    exitCode = 1;
  } else {
    const client = new RunnerApiClient({ baseUrl: config.appUrl, token: loaded.token });
    try {
      await client.claim({ freeSlots: 0, waitSeconds: 0 }, { timeoutMs: 15_000 });
      lines.push("token:       accepted by the app");
    } catch (error) {
      exitCode = 1;
      if (error instanceof RunnerTokenRevokedError) {
        lines.push("token:       REFUSED by the app (revoked): register again");
      } else if (error instanceof ApiConnectionError) {
        lines.push(`token:       unknown: ${error.message}`);
      } else {
        lines.push(`token:       unknown: ${(error as Error).message}`);
      }
    }
  }
  const workspaces = createWorkspaces({
    workDir: loaded.workDir,
    log: pino({ level: "silent" }),
  });
  const worktrees = await workspaces.list();
  lines.push(`worktrees:   ${worktrees.length}`);
  for (const worktree of worktrees) {
    const state =
      worktree.failedAt === undefined
        ? "active or left by a crash"
        : `failed, kept since ${new Date(worktree.failedAt).toISOString()}`;
    lines.push(
      `  job ${worktree.jobId}  ${worktree.owner}/${worktree.repo}  ${worktree.branch}  (${state})  ${worktree.path}`,
    );
  }
  io.stdout.write(`${lines.join("\n")}\n`);
  return exitCode;
}

// --- doctor ------------------------------------------------------------------------------------

async function doctor(
  loaded: LoadedRunnerConfig,
  flags: Record<string, string | boolean | undefined>,
  io: CliStreams,
  env: Readonly<Record<string, string | undefined>>,
): Promise<number> {
  const checks = await runDoctor({ loaded, env, live: flags.live === true });
  io.stdout.write(formatDoctor(checks));
  return checks.some((check) => check.status === "fail") ? 1 : 0;
}

// --- cleanup -----------------------------------------------------------------------------------

async function cleanup(
  loaded: LoadedRunnerConfig,
  flags: Record<string, string | boolean | undefined>,
  io: CliStreams,
): Promise<number> {
  const workspaces = createWorkspaces({
    workDir: loaded.workDir,
    keepFailedMs: loaded.config.keepFailedWorktreesHours * 3_600_000,
    log: pino({ level: "silent" }),
  });
  const result = await workspaces.sweepOrphans({
    activeJobIds: [],
    now: Date.now(),
    ...(flags.all === true ? { keepFailedMs: 0 } : {}),
  });
  io.stdout.write(
    `Removed ${result.removed.length} worktree${result.removed.length === 1 ? "" : "s"}${result.removed.length > 0 ? ` (jobs ${result.removed.join(", ")})` : ""}; kept ${result.kept.length}${result.kept.length > 0 ? ` (failed jobs, kept for inspection: ${result.kept.join(", ")}; --all removes them)` : ""}.\n`,
  );
  return 0;
}

// --- helpers -----------------------------------------------------------------------------------

function positiveInteger(value: string | boolean | undefined, flag: string): number | undefined {
  if (value === undefined || typeof value === "boolean") return undefined;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 1) {
    throw new UsageError(`${flag} expects a whole number ≥ 1, got "${value}"`);
  }
  return parsed;
}

function isParseArgsError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" && code.startsWith("ERR_PARSE_ARGS");
}
