/**
 * The lost-lease sweep: the one place that decides what happens to a job whose lease ran out.
 *
 * Every leased job whose lease expired by the store's clock ends, in one transaction:
 * - with a cancel pending, it becomes `canceled` (the runner stopped as asked, or died);
 * - otherwise it becomes `lost`, its task's lost-lease count goes up, and a new attempt of the
 *   same kind is queued, unless the task has now lost more leases than `policy.maxLostLeases`
 *   (then it is reported as `exhausted`, for the caller to block the task).
 * Waiting claimers are woken once per queued retry, after the commit.
 */
import { sql } from "kysely";
import { auditJob } from "./audit-log.js";
import { insertJob } from "./job-queue.js";
import type { QueueWakeups } from "./queue-wakeups.js";
import { toJob } from "./rows.js";
import { SYSTEM_ACTOR, type StoreContext } from "./store-context.js";
import type { ExpiredLeaseSweep } from "./types.js";

/** Ends every expired lease and decides each lost job's retry (see the file's comment). */
export async function sweepExpiredLeases(
  ctx: StoreContext,
  wakeups: QueueWakeups,
): Promise<ExpiredLeaseSweep> {
  const now = ctx.now();
  const sweep: ExpiredLeaseSweep = { lost: [], requeued: [], exhausted: [], canceled: [] };
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
      const task = await trx
        .updateTable("tasks")
        .set((eb) => ({
          used_lost_leases: eb("used_lost_leases", "+", 1),
          version: eb("version", "+", 1),
          updated_at: now,
        }))
        .where("id", "=", job.taskId)
        .returning(["used_lost_leases"])
        .executeTakeFirstOrThrow();
      ctx.log.warn({ jobId: job.id, runnerId: job.runnerId }, "lease expired");
      const exhausted = task.used_lost_leases > ctx.policy.maxLostLeases;
      await auditJob(trx, now, job, {
        actor: SYSTEM_ACTOR,
        action: "job.lost",
        detail: {
          runnerId: job.runnerId ?? null,
          lostLeases: task.used_lost_leases,
          retried: !exhausted,
        },
      });
      if (exhausted) {
        sweep.exhausted.push(job);
        continue;
      }
      const retry = await insertJob(trx, now, {
        taskId: job.taskId,
        kind: job.kind,
        agent: job.agent,
        requiredLabels: job.requiredLabels,
        priority: job.priority,
        ...(job.input !== undefined ? { input: job.input } : {}),
      });
      sweep.requeued.push(retry);
      await auditJob(trx, now, retry, {
        actor: SYSTEM_ACTOR,
        action: "job.enqueued",
        detail: { kind: retry.kind, attempt: retry.attempt, retryOf: job.id },
      });
    }
    for (const retry of sweep.requeued) await wakeups.notifyQueued(trx, retry.id);
  });
  // One wake-up per job: a waiting claim is woken per wake-up (src/api/queue-signal.ts).
  for (const _retry of sweep.requeued) wakeups.emit();
  return sweep;
}
