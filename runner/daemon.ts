/**
 * `kanbot-runner start`: the daemon, the runner's composition root below the CLI (main.ts). It
 * wires the parts and holds no job logic of its own:
 * - `workspace/` (mirrors and worktrees on disk),
 * - `dispatch/listener.ts` (claims jobs from the app) and `dispatch/dispatcher.ts` (per job: the
 *   lease keeper, the log shipper and the report),
 * - `job-runner.ts` (one job on disk: worktree, agent, validation, push), handed to the
 *   dispatcher as its `runJob`; the two speak only through `job-control.ts`.
 *
 * Its life:
 * 1. sweep orphan worktrees (a crash left them; no job runs yet, so none is active);
 * 2. claim jobs (listener) and run them (dispatcher) until stopped, `--max-jobs` reached, or the
 *    runner token is revoked;
 * 3. on stop (also one that comes after `--max-jobs` was reached): claim no more, let running
 *    jobs finish within the grace period, then cancel them (their work in progress is pushed) and
 *    wait for them to report; a second signal (`kill`) cancels them at once;
 * 4. exit code: 0, or EXIT_REVOKED when the app refused the runner token.
 */
import { hostname } from "node:os";
import { join } from "node:path";

import type { Logger } from "pino";

import { RunnerApiClient, RunnerTokenRevokedError, type DaemonApi } from "./client.js";
import type { LoadedRunnerConfig } from "./config.js";
import { sleep, type BackoffPolicy } from "./backoff.js";
import { createDispatcher, type Dispatcher } from "./dispatch/dispatcher.js";
import { ClaimRefusedError, runListener } from "./dispatch/listener.js";
import { runJob } from "./job-runner.js";
import { startOrphanReaper, type OrphanReaper } from "./orphan-reaper.js";
import { runnerSecrets } from "./process/redact.js";
import { createWorkspaces, type Workspaces } from "./workspace/index.js";
import { removeStaleGitLocks } from "./workspace/stale-locks.js";
import { packageInfo } from "../src/package-info.js";

/** Exit code when the app refused the runner token (revoked): register again. */
export const EXIT_REVOKED = 3;
/** Exit code when the app refused the claim (the config's agents are not registered). */
export const EXIT_REFUSED = 4;

export interface DaemonOptions {
  loaded: LoadedRunnerConfig;
  /** Overrides `concurrency` from the config. */
  concurrency?: number;
  /** Stop after this many jobs (`--once` is 1). */
  maxJobs?: number;
  /** Aborting stops the daemon gracefully (SIGINT/SIGTERM). */
  stop: AbortSignal;
  /** Aborting cancels running jobs at once (a second SIGINT). */
  kill?: AbortSignal;
  log: Logger;
  /** Injected for tests; default a RunnerApiClient on the config's URL and token. */
  api?: DaemonApi;
  workspaces?: Workspaces;
  sourceEnv?: Readonly<Record<string, string | undefined>>;
  heartbeatIntervalMs?: number;
  logFlushIntervalMs?: number;
  killGraceMs?: number;
  claimWaitSeconds?: number;
  backoff?: BackoffPolicy;
  /** Wall clock for sweeping kept worktrees. Default `Date.now`. */
  now?: () => number;
}

export interface DaemonResult {
  exitCode: number;
  jobs: number;
  /** What a person needs to read when the daemon stopped on an error. */
  message?: string;
}

export async function runDaemon(options: DaemonOptions): Promise<DaemonResult> {
  const { loaded, log } = options;
  const { config } = loaded;
  const now = options.now ?? Date.now;
  const api =
    options.api ??
    new RunnerApiClient({
      baseUrl: config.appUrl,
      ...(loaded.token !== undefined ? { token: loaded.token } : {}),
      userAgent: `kanbot-runner/${packageInfo().version}`,
    });
  const workspaces =
    options.workspaces ??
    createWorkspaces({
      workDir: loaded.workDir,
      keepFailedMs: config.keepFailedWorktreesHours * 3_600_000,
      now,
      log,
    });
  const sourceEnv = options.sourceEnv ?? process.env;
  // The runner token and the configured secrets: redacted from every stream, note and result.
  const secrets = runnerSecrets(loaded, sourceEnv);

  // 1. orphans
  // Git locks a killed run left in the mirrors (no git command of this runner runs yet).
  const locks = await removeStaleGitLocks(join(loaded.workDir, "mirrors"));
  if (locks.length > 0) log.warn({ locks }, "stale git locks removed at start");
  const swept = await workspaces.sweepOrphans({ activeJobIds: [], now: now() });
  log.info(
    { removed: swept.removed.length, kept: swept.kept.length, workDir: loaded.workDir },
    "worktrees swept at start",
  );

  // 2. claim and run; without a sandbox, a reaper kills the jobs' processes if the runner dies
  const reaper: OrphanReaper | undefined =
    config.sandbox === "none" ? startOrphanReaper() : undefined;
  const listening = new AbortController();
  let fatal: Error | undefined;
  function stopOnFatal(error: Error): void {
    fatal ??= error;
    listening.abort();
  }
  const dispatcher: Dispatcher = createDispatcher({
    api,
    concurrency: options.concurrency ?? config.concurrency,
    log,
    secrets,
    pausesFile: join(loaded.workDir, "agent-pauses.json"),
    ...(options.heartbeatIntervalMs !== undefined
      ? { heartbeatIntervalMs: options.heartbeatIntervalMs }
      : {}),
    ...(options.logFlushIntervalMs !== undefined
      ? { logFlushIntervalMs: options.logFlushIntervalMs }
      : {}),
    onRevoked: (error) => {
      stopOnFatal(error);
      dispatcher.stopAll("revoked");
    },
    runJob: (claim, control) => {
      reaper?.add(claim.job.id);
      return runJob(claim.job, control, {
        loaded,
        workspaces,
        sourceEnv,
        ...(options.killGraceMs !== undefined ? { killGraceMs: options.killGraceMs } : {}),
        log,
      });
    },
  });
  const onStop = () => listening.abort();
  options.stop.addEventListener("abort", onStop, { once: true });
  const onKill = () => {
    listening.abort();
    dispatcher.stopAll("shutdown");
  };
  options.kill?.addEventListener("abort", onKill, { once: true });
  if (options.stop.aborted) listening.abort();

  log.info(
    {
      name: config.name ?? hostname(),
      app: config.appUrl,
      agents: Object.keys(config.agents),
      concurrency: options.concurrency ?? config.concurrency,
    },
    "runner started",
  );
  let claimed = 0;
  try {
    const result = await runListener({
      api,
      dispatcher,
      claim: { agents: Object.keys(config.agents) },
      ...(options.claimWaitSeconds !== undefined ? { waitSeconds: options.claimWaitSeconds } : {}),
      ...(options.maxJobs !== undefined ? { maxJobs: options.maxJobs } : {}),
      ...(options.backoff !== undefined ? { backoff: options.backoff } : {}),
      signal: listening.signal,
      log,
    });
    claimed = result.claimed;
  } catch (error) {
    if (error instanceof RunnerTokenRevokedError || error instanceof ClaimRefusedError) {
      stopOnFatal(error);
      dispatcher.stopAll("revoked");
    } else {
      throw error;
    }
  }

  // 3. drain: running jobs get the grace period, then are canceled (work in progress pushed)
  if (dispatcher.activeJobIds().length > 0) {
    // With --once or --max-jobs the listener is done before its jobs are: a stop may still come.
    if (!options.stop.aborted && fatal === undefined) {
      await Promise.race([dispatcher.idle(), whenAborted(options.stop)]);
    }
    const graceful =
      options.stop.aborted && fatal === undefined && dispatcher.activeJobIds().length > 0;
    if (graceful) {
      const graceMs = config.shutdownGraceSeconds * 1000;
      log.info(
        { jobs: dispatcher.activeJobIds(), graceSeconds: config.shutdownGraceSeconds },
        "stopping: waiting for running jobs",
      );
      const timer = new AbortController();
      const finished = dispatcher.idle().then(() => timer.abort());
      await Promise.race([finished, sleep(graceMs, timer.signal)]);
      if (dispatcher.activeJobIds().length > 0) {
        log.warn(
          { jobs: dispatcher.activeJobIds() },
          "grace period over: canceling running jobs (work in progress is pushed)",
        );
        dispatcher.stopAll("shutdown");
      }
    }
    await dispatcher.idle();
  }
  options.stop.removeEventListener("abort", onStop);
  options.kill?.removeEventListener("abort", onKill);
  reaper?.close();

  // 4. exit code
  if (fatal instanceof RunnerTokenRevokedError) {
    const message = `kanbot-runner: the app refused this runner's token (${fatal.message}). The runner was removed or its token revoked; get a new registration token from an admin (kanbot runners add) and run kanbot-runner register again.`;
    log.error({ status: fatal.status }, "runner token revoked; stopping");
    return { exitCode: EXIT_REVOKED, jobs: claimed, message };
  }
  if (fatal instanceof ClaimRefusedError) {
    log.error("claim refused; stopping");
    return {
      exitCode: EXIT_REFUSED,
      jobs: claimed,
      message: `kanbot-runner: ${fatal.message}`,
    };
  }
  log.info({ jobs: claimed }, "runner stopped");
  return { exitCode: 0, jobs: claimed };
}

/** Resolves when `signal` is aborted (never, if it never is). */
function whenAborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener("abort", () => resolve(), { once: true });
  });
}
