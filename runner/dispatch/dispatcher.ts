/**
 * Runs claimed jobs, up to `concurrency` at a time, as actions/runner's JobDispatcher does: for
 * each job it keeps the lease alive (heartbeats), streams the log, hands out the job token when
 * git needs it, runs the job and reports the outcome.
 *
 * One job's life:
 * 1. start the lease keeper (cancel -> abort the agent; lease lost -> abort, no push) and the
 *    log shipper;
 * 2. run the job (`runJob`, given by the daemon: runner/job-runner.ts) with an AbortSignal and the stop cause;
 * 3. send the rest of the log, then `complete` (retried on network errors while the lease may
 *    still hold; a 409 means another runner has the job now);
 * 4. stop the lease keeper.
 */
import type { Logger } from "pino";

import {
  ApiConnectionError,
  LeaseLostError,
  RunnerTokenRevokedError,
  type JobApi,
} from "../client.js";
import type { JobControl, JobResult, StopCause } from "../job-control.js";
import { redactJson } from "../process/redact.js";
import type { ClaimResponse, JobOutcomeInput } from "../../src/protocol/index.js";
import { backoffDelay, sleep, type BackoffPolicy, DEFAULT_BACKOFF } from "./backoff.js";
import { startLeaseKeeper } from "./lease-keeper.js";
import { createLogShipper } from "./log-shipper.js";

export type RunJob = (claim: ClaimResponse, control: JobControl) => Promise<JobResult>;

export interface DispatcherOptions {
  api: JobApi;
  concurrency: number;
  runJob: RunJob;
  log: Logger;
  /** Values to redact besides the job tokens (the runner token, configured secrets). */
  secrets?: readonly string[];
  /** Heartbeat interval. Default a third of each job's lease. */
  heartbeatIntervalMs?: number;
  /** Log upload interval. Default 1 s. */
  logFlushIntervalMs?: number;
  /** Retries of `complete` on network errors. */
  completeBackoff?: BackoffPolicy;
  /** Called once when the runner token is refused (the daemon stops). */
  onRevoked?: (error: RunnerTokenRevokedError) => void;
}

/** What the dispatcher says about one job once it is done. */
export interface DispatchedJob {
  jobId: number;
  /** The outcome reported, `lease-lost`, `revoked`, or `rejected` (complete answered 409). */
  result: "completed" | "lease-lost" | "revoked" | "rejected" | "unreported";
  outcome?: JobOutcomeInput;
}

export interface Dispatcher {
  /** Slots free for new jobs now. */
  freeSlots(): number;
  /** Resolves when a slot is free (or at once when `signal` aborts). */
  waitForSlot(signal?: AbortSignal): Promise<void>;
  /** Starts a claimed job; its promise settles when it is reported. */
  dispatch(claim: ClaimResponse): Promise<DispatchedJob>;
  /** Ids of the jobs running now. */
  activeJobIds(): number[];
  /** Stops every running job for `cause` (work in progress pushed for cancel and shutdown). */
  stopAll(cause: StopCause): void;
  /** Resolves when no job runs. */
  idle(): Promise<void>;
}

interface Running {
  abort: AbortController;
  cause: StopCause | undefined;
  done: Promise<DispatchedJob>;
}

const COMPLETE_TRIES = 8;

function revokedError(): RunnerTokenRevokedError {
  return new RunnerTokenRevokedError(
    401,
    "unauthorized",
    "the app refused the runner token: it was revoked",
  );
}

export function createDispatcher(options: DispatcherOptions): Dispatcher {
  const running = new Map<number, Running>();
  const slotWaiters = new Set<() => void>();
  const log = options.log;

  function freeSlots(): number {
    return Math.max(0, options.concurrency - running.size);
  }

  function waitForSlot(signal?: AbortSignal): Promise<void> {
    if (freeSlots() > 0 || signal?.aborted === true) return Promise.resolve();
    return new Promise((resolve) => {
      const wake = () => {
        slotWaiters.delete(wake);
        signal?.removeEventListener("abort", wake);
        resolve();
      };
      slotWaiters.add(wake);
      signal?.addEventListener("abort", wake, { once: true });
    });
  }

  function dispatch(claim: ClaimResponse): Promise<DispatchedJob> {
    const jobId = claim.job.id;
    const entry: Running = {
      abort: new AbortController(),
      cause: undefined,
      done: Promise.resolve({ jobId, result: "unreported" }),
    };
    running.set(jobId, entry);
    entry.done = work(claim, entry).finally(() => {
      running.delete(jobId);
      for (const wake of [...slotWaiters]) wake();
    });
    return entry.done;
  }

  function stop(entry: Running, cause: StopCause): void {
    if (entry.cause !== undefined) return;
    entry.cause = cause;
    entry.abort.abort(new Error(`job stopped: ${cause}`));
  }

  async function work(claim: ClaimResponse, entry: Running): Promise<DispatchedJob> {
    const { job, lease } = claim;
    const jobLog = log.child({ jobId: job.id });
    const tokens: string[] = [];
    const secrets = () => [...(options.secrets ?? []), ...tokens];
    let phase = "setup";

    // 1. lease and log
    const keeper = startLeaseKeeper({
      api: options.api,
      jobId: job.id,
      leaseToken: lease.token,
      leaseMs: lease.durationSeconds * 1000,
      ...(options.heartbeatIntervalMs !== undefined
        ? { intervalMs: options.heartbeatIntervalMs }
        : {}),
      phase: () => phase,
      onStop: (cause) => {
        if (cause !== "canceled" || entry.cause === undefined) {
          jobLog.warn({ cause }, "stopping job");
        }
        stop(entry, cause);
        if (cause === "revoked") options.onRevoked?.(revokedError());
      },
      log: jobLog,
    });
    const shipper = createLogShipper({
      api: options.api,
      jobId: job.id,
      leaseToken: lease.token,
      secrets,
      maxBodyBytes: job.limits.maxBodyBytes,
      ...(options.logFlushIntervalMs !== undefined
        ? { flushIntervalMs: options.logFlushIntervalMs }
        : {}),
      log: jobLog,
    });

    const control: JobControl = {
      signal: entry.abort.signal,
      cause: () => entry.cause,
      setPhase: (next) => {
        phase = next;
      },
      canPush: async () => {
        if (entry.cause === "lease-lost" || entry.cause === "revoked") return false;
        const beat = await keeper.beat();
        return beat === "ok" || beat === "canceled";
      },
      jobToken: async () => {
        try {
          const answer = await options.api.jobToken(job.id, { leaseToken: lease.token });
          if (!tokens.includes(answer.token)) tokens.push(answer.token);
          return answer.token;
        } catch (error) {
          if (error instanceof LeaseLostError) stop(entry, "lease-lost");
          if (error instanceof RunnerTokenRevokedError) {
            stop(entry, "revoked");
            options.onRevoked?.(error);
          }
          throw error;
        }
      },
      onLog: (text) => shipper.write(text),
      note: (line) => shipper.note(line),
      secrets,
    };

    // 2. run
    jobLog.info({ kind: job.kind, repo: job.repository.fullName, agent: job.agent }, "job started");
    let result: JobResult;
    try {
      result = await options.runJob(claim, control);
    } catch (error) {
      jobLog.error({ err: error }, "job runner failed");
      result = {
        kind: "outcome",
        outcome: {
          status: "failed",
          error: `the runner failed: ${error instanceof Error ? error.message : String(error)}`,
        },
      };
    }

    try {
      // 3. report
      if (result.kind === "lease-lost" || entry.cause === "lease-lost") {
        jobLog.warn("lease lost: the job is not reported and nothing was pushed");
        await shipper.close();
        return { jobId: job.id, result: "lease-lost" };
      }
      if (result.kind === "revoked" || entry.cause === "revoked") {
        return { jobId: job.id, result: "revoked" };
      }
      shipper.note(`job ${job.id} ${result.outcome.status}`);
      await shipper.close();
      // The result's texts (summary, error, validation output) pass the redaction policy too.
      return await complete(job.id, lease.token, redactJson(result.outcome, secrets()), jobLog);
    } finally {
      // 4. done
      keeper.stop();
    }
  }

  async function complete(
    jobId: number,
    leaseToken: string,
    outcome: JobOutcomeInput,
    jobLog: Logger,
  ): Promise<DispatchedJob> {
    for (let attempt = 1; ; attempt++) {
      try {
        await options.api.complete(jobId, { leaseToken, outcome });
        jobLog.info({ status: outcome.status }, "job reported");
        return { jobId, result: "completed", outcome };
      } catch (error) {
        if (error instanceof LeaseLostError) {
          jobLog.warn({ status: outcome.status }, "completion rejected: the lease is gone");
          return { jobId, result: "rejected", outcome };
        }
        if (error instanceof RunnerTokenRevokedError) {
          options.onRevoked?.(error);
          return { jobId, result: "revoked", outcome };
        }
        const retryable =
          error instanceof ApiConnectionError ||
          (typeof (error as { status?: unknown }).status === "number" &&
            (error as { status: number }).status >= 500);
        if (!retryable || attempt >= COMPLETE_TRIES) {
          jobLog.error({ err: (error as Error).message }, "job could not be reported");
          return { jobId, result: "unreported", outcome };
        }
        await sleep(backoffDelay(attempt, options.completeBackoff ?? DEFAULT_BACKOFF));
      }
    }
  }

  return {
    freeSlots,
    waitForSlot,
    dispatch,
    activeJobIds: () => [...running.keys()],
    stopAll(cause) {
      for (const entry of running.values()) stop(entry, cause);
    },
    async idle() {
      while (running.size > 0) {
        await Promise.all([...running.values()].map((entry) => entry.done));
      }
    },
  };
}
