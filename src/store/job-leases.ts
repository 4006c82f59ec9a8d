/**
 * What the holder of a lease does with it: extend it (heartbeat), prove it (before a job token
 * is minted) and end it with the job's outcome. Every call is fenced by the lease token
 * (./lease-fence.ts): a holder whose lease ended gets `StaleLeaseError`.
 */
import { JobAlreadyFinishedError, JobNotFoundError, StaleLeaseError } from "./errors.js";
import { holdsLease, liveLease, selectJob, staleOrMissing } from "./lease-fence.js";
import { toJob, toJsonText } from "./rows.js";
import {
  insertAudit,
  runnerActor,
  SYSTEM_ACTOR,
  truncate,
  withoutNul,
  type StoreContext,
} from "./store-context.js";
import type { HeartbeatResult, Job, JobOutcome, NewDelivery } from "./types.js";
import { insertDeliveryIn } from "./webhook-inbox.js";

export class JobLeases {
  readonly #ctx: StoreContext;

  constructor(ctx: StoreContext) {
    this.#ctx = ctx;
  }

  async heartbeat(
    jobId: number,
    leaseToken: string,
    report: { phase?: string; leaseMs: number },
  ): Promise<HeartbeatResult> {
    const now = this.#ctx.now();
    const row = await this.#ctx.db
      .updateTable("jobs")
      .set({
        lease_expires_at: now + report.leaseMs,
        ...(report.phase !== undefined ? { phase: report.phase } : {}),
      })
      .where(liveLease(jobId, leaseToken, now))
      .returning(["cancel_requested", "lease_expires_at"])
      .executeTakeFirst();
    if (!row) {
      this.#ctx.log.info({ jobId }, "heartbeat with a stale lease rejected");
      throw await staleOrMissing(this.#ctx.db, jobId);
    }
    return {
      canceled: row.cancel_requested !== 0,
      leaseExpiresAt: new Date(row.lease_expires_at ?? now + report.leaseMs),
    };
  }

  async assertLease(jobId: number, leaseToken: string): Promise<Job> {
    const row = await holdsLease(this.#ctx.db, jobId, leaseToken, this.#ctx.now())
      .selectAll()
      .executeTakeFirst();
    if (!row) throw await staleOrMissing(this.#ctx.db, jobId);
    return toJob(row);
  }

  async completeJob(
    jobId: number,
    leaseToken: string,
    outcome: JobOutcome,
    options: { event?: NewDelivery } = {},
  ): Promise<Job> {
    const now = this.#ctx.now();
    const { event } = options;
    const result = toJsonText(outcome.result);
    const error = outcome.error === undefined ? null : truncate(withoutNul(outcome.error));
    return this.#ctx.db.transaction().execute(async (trx) => {
      const row = await trx
        .updateTable("jobs")
        .set({ status: outcome.status, result, error, finished_at: now })
        .where(liveLease(jobId, leaseToken, now))
        .returningAll()
        .executeTakeFirst();
      if (row) {
        await insertAudit(trx, now, {
          taskId: row.task_id,
          jobId,
          actor: row.runner_id ? runnerActor(row.runner_id) : SYSTEM_ACTOR,
          action: "job.finished",
          detail: { status: outcome.status },
        });
        if (event !== undefined) await insertDeliveryIn(trx, now, event);
        return toJob(row);
      }
      const current = await selectJob(trx, jobId).executeTakeFirst();
      if (!current) throw new JobNotFoundError(jobId);
      const finishedByThisLease =
        current.lease_token === leaseToken &&
        (current.status === "succeeded" ||
          current.status === "failed" ||
          current.status === "needs-input" ||
          current.status === "canceled") &&
        current.finished_at !== null;
      if (!finishedByThisLease) {
        this.#ctx.log.info({ jobId }, "completion with a stale lease rejected");
        throw new StaleLeaseError(jobId);
      }
      if (
        current.status === outcome.status &&
        current.result === result &&
        current.error === error
      ) {
        // A retried completion: same answer, no change; its event recorded if it is missing.
        if (event !== undefined) await insertDeliveryIn(trx, now, event);
        return toJob(current);
      }
      throw new JobAlreadyFinishedError(jobId, toJob(current).status);
    });
  }
}
