/**
 * Runs claimed jobs, up to `concurrency` at a time, as actions/runner's JobDispatcher does: for
 * each job it keeps the lease alive (heartbeats), streams the log, hands out the job token when
 * git needs it, runs the job and reports the outcome.
 *
 * One job's life:
 * 1. start the lease keeper (cancel -> abort the agent; lease lost -> abort, no push) and the
 *    log shipper;
 * 2. run the job (`runJob`, given by the daemon: runner/job-runner.ts) with an AbortSignal and the stop cause;
 * 3. send the rest of the log, then `complete`;
 * 4. stop the lease keeper.
 *
 * App blips: every call about the job (heartbeat, token, log, complete) is safe to repeat, and is
 * retried with backoff for as long as the lease lasts (`lease-clock.ts`: from the claim, renewed
 * by answered heartbeats). So finished work waits for the app to answer again, then is pushed
 * and reported; it is given up only when the lease is gone: a 409 or 404 answer, or the lease's
 * time has passed without an answer (the app has given the job to the next runner by then).
 */
import type { Logger } from "pino";

import {
  LeaseExpiredError,
  LeaseLostError,
  RunnerTokenRevokedError,
  type CallOptions,
  type JobApi,
} from "../client.js";
import type { JobControl, JobResult, StopCause } from "../job-control.js";
import { redactJson } from "../process/redact.js";
import type { ClaimResponse, JobOutcomeInput } from "../../src/protocol/index.js";
import { createAgentPauses, quotaPauseUntil } from "./agent-pauses.js";
import { createLeaseClock, type LeaseClock } from "./lease-clock.js";
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
  /** The runner's monotonic clock in ms, for leases. Default `performance.now`. */
  monotonic?: () => number;
  /** The wall clock in ms, for quota pauses. Default `Date.now`. */
  now?: () => number;
  /** Where quota pauses are kept across restarts (runner/dispatch/agent-pauses.ts). Default:
   * memory only. */
  pausesFile?: string;
  /** Called once when the runner token is refused (the daemon stops). */
  onRevoked?: (error: RunnerTokenRevokedError) => void;
}

/** What the dispatcher says about one job once it is done. */
export interface DispatchedJob {
  jobId: number;
  /**
   * The outcome reported, `lease-lost` (nothing reported: the lease was lost, or ended before the
   * app answered), `revoked`, or `rejected` (complete answered 409).
   */
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
  /**
   * Agents this runner does not claim for now (a quota failure: until its reset), each with the
   * time it resumes (ms since the epoch). The listener leaves them out of its claims.
   */
  pausedAgents(): ReadonlyMap<string, number>;
}

interface Running {
  abort: AbortController;
  cause: StopCause | undefined;
  /** Aborted when the lease is lost or the runner token revoked: the job's calls stop retrying. */
  gone: AbortController;
  done: Promise<DispatchedJob>;
}

function revokedError(): RunnerTokenRevokedError {
  return new RunnerTokenRevokedError(
    401,
    "unauthorized",
    "the app refused the runner token: it was revoked",
  );
}

/** Sends one job call, retrying app blips while the lease lasts (see the file's comment). */
type Patiently = <T>(call: string, send: (options: CallOptions) => Promise<T>) => Promise<T>;

/** A job's `Patiently`: one log line when the app stops answering, one when it answers again. */
function patience(clock: LeaseClock, gone: AbortSignal, jobLog: Logger): Patiently {
  return async (call, send) => {
    let failures = 0;
    const answer = await send({
      signal: gone,
      retry: {
        remainingMs: () => clock.remainingMs(),
        onRetry: (error, failed, waitMs) => {
          failures = failed;
          if (failed === 1) {
            jobLog.warn(
              { call, err: error.message, leftMs: Math.round(clock.remainingMs()) },
              "the app did not answer; retrying while the lease lasts",
            );
          } else {
            jobLog.debug({ call, failures: failed, waitMs }, "retrying a call to the app");
          }
        },
      },
    });
    if (failures > 0) jobLog.info({ call, failures }, "the app answers again");
    return answer;
  };
}

export function createDispatcher(options: DispatcherOptions): Dispatcher {
  const running = new Map<number, Running>();
  const pauses = createAgentPauses(options.pausesFile);
  const now = options.now ?? Date.now;
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
      gone: new AbortController(),
      done: Promise.resolve({ jobId, result: "unreported" }),
    };
    running.set(jobId, entry);
    entry.done = work(claim, entry).finally(() => {
      running.delete(jobId);
      for (const wake of [...slotWaiters]) wake();
    });
    return entry.done;
  }

  function stop(entry: Running, jobId: number, cause: StopCause): void {
    // Even a job stopped already (canceled, pushing its work) stops retrying once the lease is gone.
    if ((cause === "lease-lost" || cause === "revoked") && !entry.gone.signal.aborted) {
      entry.gone.abort(
        cause === "revoked"
          ? revokedError()
          : new LeaseLostError(jobId, 409, "stale-lease", `the lease on job ${jobId} is gone`),
      );
    }
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
    const leaseMs = lease.durationSeconds * 1000;
    const clock = createLeaseClock({
      leaseMs,
      ...(options.monotonic !== undefined ? { monotonic: options.monotonic } : {}),
    });
    const patiently = patience(clock, entry.gone.signal, jobLog);
    let reporting = false;

    // 1. lease and log
    const keeper = startLeaseKeeper({
      api: options.api,
      jobId: job.id,
      leaseToken: lease.token,
      clock,
      leaseMs,
      signal: entry.gone.signal,
      ...(options.heartbeatIntervalMs !== undefined
        ? { intervalMs: options.heartbeatIntervalMs }
        : {}),
      phase: () => phase,
      onStop: (cause) => {
        if (reporting && cause === "lease-lost") {
          // A completion whose answer was lost has ended the lease already: the completion's own
          // answer (a retry is answered as the first) tells whether it was recorded.
          keeper.stop();
          return;
        }
        if (cause !== "canceled" || entry.cause === undefined) {
          jobLog.warn({ cause }, "stopping job");
        }
        stop(entry, job.id, cause);
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
      remainingMs: () => clock.remainingMs(),
      signal: entry.gone.signal,
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
        // An answer that arrives late (the runner was paused, or the app slow) renewed a lease
        // that may be nearly over by now: the lease clock, which runs from the heartbeat's
        // sending, must still hold a quarter of the lease for the push.
        return (beat === "ok" || beat === "canceled") && clock.remainingMs() > leaseMs / 4;
      },
      jobToken: async () => {
        try {
          const answer = await patiently("token", (call) =>
            options.api.jobToken(job.id, { leaseToken: lease.token }, call),
          );
          if (!tokens.includes(answer.token)) tokens.push(answer.token);
          return answer.token;
        } catch (error) {
          if (error instanceof LeaseLostError) stop(entry, job.id, "lease-lost");
          if (error instanceof RunnerTokenRevokedError) {
            stop(entry, job.id, "revoked");
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
        // Say so when the job pushed before its lease was lost (paused between push and report).
        const pushed =
          result.kind === "outcome" && "headSha" in result.outcome
            ? result.outcome.headSha
            : undefined;
        if (pushed === undefined)
          jobLog.warn("lease lost: the job is not reported and nothing was pushed");
        else jobLog.warn({ headSha: pushed }, "lease lost after the push: the job is not reported");
        stop(entry, job.id, "lease-lost");
        await shipper.close();
        return { jobId: job.id, result: "lease-lost" };
      }
      if (result.kind === "revoked" || entry.cause === "revoked") {
        return { jobId: job.id, result: "revoked" };
      }
      shipper.note(`job ${job.id} ${result.outcome.status}`);
      const pausedUntil = quotaPauseUntil(result.outcome, now());
      if (pausedUntil !== undefined) {
        pauses.pause(job.agent, pausedUntil);
        shipper.note(
          `agent ${job.agent} hit its quota: this runner claims no ${job.agent} job until ${new Date(pausedUntil).toISOString()}`,
        );
        jobLog.info(
          { agent: job.agent, until: new Date(pausedUntil).toISOString() },
          "agent paused on its quota; other agents' jobs are still claimed",
        );
      }
      await shipper.close();
      reporting = true;
      // The result's texts (summary, error, validation output) pass the redaction policy too.
      return await complete(
        job.id,
        lease.token,
        redactJson(result.outcome, secrets()),
        patiently,
        entry.gone.signal,
        jobLog,
      );
    } finally {
      // 4. done
      keeper.stop();
    }
  }

  async function complete(
    jobId: number,
    leaseToken: string,
    outcome: JobOutcomeInput,
    patiently: Patiently,
    gone: AbortSignal,
    jobLog: Logger,
  ): Promise<DispatchedJob> {
    try {
      await patiently("complete", (call) =>
        options.api.complete(jobId, { leaseToken, outcome }, call),
      );
      jobLog.info({ status: outcome.status }, "job reported");
      return { jobId, result: "completed", outcome };
    } catch (error) {
      if (error instanceof LeaseExpiredError || gone.aborted) {
        jobLog.warn(
          { status: outcome.status },
          "job not reported: the lease ended before the app answered",
        );
        return { jobId, result: "lease-lost", outcome };
      }
      if (error instanceof LeaseLostError) {
        jobLog.warn({ status: outcome.status }, "completion rejected: the lease is gone");
        return { jobId, result: "rejected", outcome };
      }
      if (error instanceof RunnerTokenRevokedError) {
        options.onRevoked?.(error);
        return { jobId, result: "revoked", outcome };
      }
      jobLog.error({ err: (error as Error).message }, "job could not be reported");
      return { jobId, result: "unreported", outcome };
    }
  }

  return {
    freeSlots,
    waitForSlot,
    dispatch,
    activeJobIds: () => [...running.keys()],
    pausedAgents: () => pauses.paused(now()),
    stopAll(cause) {
      for (const [jobId, entry] of running) stop(entry, jobId, cause);
    },
    async idle() {
      while (running.size > 0) {
        await Promise.all([...running.values()].map((entry) => entry.done));
      }
    },
  };
}
