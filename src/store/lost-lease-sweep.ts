/**
 * The lost-lease sweep: ends every leased job whose lease expired by the store's clock, in one
 * transaction:
 * - with a cancel pending, it becomes `canceled` (the runner stopped as asked, or died);
 * - otherwise it becomes `lost`.
 *
 * The sweep decides nothing about the task. What a lost job means (a retry under the repository's
 * `budget.lostLeases`, or blocked past it) is the task machine's `job-lost` transition, applied
 * from the inbox like any other event (src/tasks/job-events.ts); its retry is queued by the task
 * loop, once.
 */
import { sql } from "kysely";
import { auditJob } from "./audit-log.js";
import { toJob } from "./rows.js";
import { SYSTEM_ACTOR, type StoreContext } from "./store-context.js";
import type { ExpiredLeaseSweep } from "./types.js";

/** Ends every expired lease (see the file's comment). */
export async function sweepExpiredLeases(ctx: StoreContext): Promise<ExpiredLeaseSweep> {
  const now = ctx.now();
  const sweep: ExpiredLeaseSweep = { lost: [], canceled: [] };
  await ctx.db.transaction().execute(async (trx) => {
    const ended = await trx
      .updateTable("jobs")
      .set({
        status: sql<string>`case when cancel_requested = 0 then 'lost' else 'canceled' end`,
        error: "the lease expired: the runner stopped sending heartbeats",
        finished_at: now,
      })
      .where("status", "=", "leased")
      .where("lease_expires_at", "<=", now)
      .returningAll()
      .execute();
    ended.sort((a, b) => a.id - b.id);
    for (const row of ended) {
      const job = toJob(row);
      if (job.status === "canceled") {
        sweep.canceled.push(job);
        await auditJob(trx, now, job, {
          actor: SYSTEM_ACTOR,
          action: "job.canceled",
          detail: {
            reason: "lease expired after a cancel request",
            runnerId: job.runnerId ?? null,
          },
        });
        continue;
      }
      sweep.lost.push(job);
      ctx.log.warn({ jobId: job.id, runnerId: job.runnerId }, "lease expired");
      await auditJob(trx, now, job, {
        actor: SYSTEM_ACTOR,
        action: "job.lost",
        detail: { runnerId: job.runnerId ?? null },
      });
    }
  });
  return sweep;
}
