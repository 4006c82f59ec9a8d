/**
 * The fence around a lease holder's calls: a job is acted on only while the caller's lease
 * token holds a live lease on it, by the store's clock. Shared by the queue (heartbeat,
 * completion) and the job logs (appends).
 */
import type { ExpressionBuilder } from "kysely";
import { JobNotFoundError, StaleLeaseError } from "./errors.js";
import type { StoreDatabase } from "./schema.js";
import type { Db } from "./store-context.js";

/**
 * A live lease on a job: it is leased, by this token, and the lease has not run out by the
 * store's clock. Every call a lease holder makes is fenced by this predicate.
 */
export function liveLease(jobId: number, leaseToken: string, now: number) {
  return (eb: ExpressionBuilder<StoreDatabase, "jobs">) =>
    eb.and([
      eb("id", "=", jobId),
      eb("status", "=", "leased"),
      eb("lease_token", "=", leaseToken),
      eb("lease_expires_at", ">", now),
    ]);
}

/** The job's row, selected only while `leaseToken` holds a live lease on it. */
export function holdsLease(db: Db, jobId: number, leaseToken: string, now: number) {
  return db.selectFrom("jobs").where(liveLease(jobId, leaseToken, now));
}

export function selectJob(db: Db, jobId: number) {
  return db.selectFrom("jobs").selectAll().where("id", "=", jobId);
}

/** Why a fenced call found no live lease: the job is gone, or the token no longer holds it. */
export async function staleOrMissing(db: Db, jobId: number): Promise<Error> {
  const exists = await db
    .selectFrom("jobs")
    .select("id")
    .where("id", "=", jobId)
    .executeTakeFirst();
  return exists ? new StaleLeaseError(jobId) : new JobNotFoundError(jobId);
}
