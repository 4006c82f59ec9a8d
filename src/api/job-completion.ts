/**
 * The end of a job on the API's side. `POST /api/v1/jobs/:id/complete` stores the rest of the
 * job's log, passes the runner's outcome through the redaction policy, records it in the store
 * (which checks the lease) and ends the lease; the sweeper ends expired leases the same way.
 * Ending a lease revokes the job's GitHub tokens and drops its log bookkeeping.
 */
import type { Logger } from "pino";
import type { CompleteJobRequest, CompleteJobResponse } from "../protocol/index.js";
import { parseJobResult, type Job, type JobStore } from "../store/index.js";
import type { JobTokenBroker } from "../tokens/job-token-broker.js";
import { redactJson } from "../domain/redaction.js";
import type { LogIntake } from "./log-intake.js";
import { jobEventDelivery } from "../inbox/internal-events.js";

export interface JobCompletion {
  /**
   * Records the runner's outcome, ends the lease and records the `finished` event; a retried
   * identical completion is answered again and records the event again (idempotent).
   */
  complete(job: Job, body: CompleteJobRequest): Promise<CompleteJobResponse>;
  /** The lease is over (completed, lost or canceled): tokens revoked, log bookkeeping dropped. */
  endLease(jobId: number): Promise<void>;
}

export function createJobCompletion(options: {
  store: JobStore;
  log: Logger;
  jobTokens: JobTokenBroker;
  logIntake: LogIntake;
  /**
   * The `jobFinished` hook; it throws when the event could not be recorded, and then the
   * completion is answered 500 so that the runner sends it again.
   */
  recordFinished(job: Job): Promise<void>;
}): JobCompletion {
  const { store, log, jobTokens, logIntake, recordFinished } = options;

  async function complete(job: Job, body: CompleteJobRequest): Promise<CompleteJobResponse> {
    // The job's tokens, wherever they were issued (another replica, before a restart).
    await jobTokens.refresh?.(job.id);
    // The end of the log the redactor held back is stored before the lease ends.
    await logIntake.flush(job, body.leaseToken);
    // Every text of the result (summary, error, validation output) passes the redaction policy.
    const outcome = redactJson(body.outcome, jobTokens.liveTokens?.(job.id) ?? []);
    const { status } = outcome;
    const error = outcome.status === "failed" ? outcome.error : undefined;
    // The error text has its own column; everything else is the result, typed from here on
    // (the outcome passed the protocol's schema; parsing it again only drops status and error).
    const result = parseJobResult(outcome);
    // The `finished` event is recorded in the completion's own transaction: no crash can save
    // one without the other.
    const task = await store.getTask(job.taskId);
    const finished = await store.completeJob(
      job.id,
      body.leaseToken,
      {
        status,
        ...(result !== undefined ? { result } : {}),
        ...(error !== undefined ? { error } : {}),
      },
      task === undefined ? {} : { event: jobEventDelivery(job.id, task, "finished") },
    );
    const firstTime = job.status === "leased";
    await endLease(finished.id);
    if (firstTime) log.info({ jobId: job.id, runnerId: job.runnerId, status }, "job finished");
    // The hook finds the event recorded (its delivery id is derived from the job) and wakes the
    // inbox; it also covers a completion saved before this version recorded the two together.
    await recordFinished(finished);
    return {
      jobId: finished.id,
      status,
      finishedAt: (finished.finishedAt ?? new Date(0)).toISOString(),
    };
  }

  /**
   * The lease is over: its GitHub tokens are revoked (whichever replica issued them: they are
   * kept in the store) and its log bookkeeping dropped.
   */
  async function endLease(jobId: number): Promise<void> {
    const revoked = await jobTokens.revoke(jobId);
    logIntake.forget(jobId);
    if (revoked > 0) {
      const job = await store.getJob(jobId);
      await store.audit({
        ...(job !== undefined ? { taskId: job.taskId } : {}),
        jobId,
        actor: "kanbot",
        action: "job.tokens-revoked",
        detail: { count: revoked },
      });
    }
  }

  return { complete, endLease };
}
