/**
 * Job logs: chunks a lease holder uploads, numbered by `seq`, stored once each and only while
 * the lease is live.
 */
import { holdsLease, staleOrMissing } from "./lease-fence.js";
import { toLogChunk } from "./rows.js";
import { withoutNul, type StoreContext } from "./store-context.js";
import type { LogChunk } from "./types.js";

export class JobLogs {
  readonly #ctx: StoreContext;

  constructor(ctx: StoreContext) {
    this.#ctx = ctx;
  }

  async appendLog(
    jobId: number,
    leaseToken: string,
    seq: number,
    text: string,
  ): Promise<{ appended: boolean }> {
    const { db } = this.#ctx;
    const now = this.#ctx.now();
    // One statement: the chunk is written only while the lease is live, and once per seq.
    const inserted = await db
      .insertInto("log_chunks")
      .columns(["job_id", "seq", "text", "received_at"])
      .expression(
        holdsLease(db, jobId, leaseToken, now).select((eb) => [
          "id",
          eb.val(seq).as("seq"),
          eb.val(withoutNul(text)).as("text"),
          eb.val(now).as("received_at"),
        ]),
      )
      .onConflict((oc) => oc.columns(["job_id", "seq"]).doNothing())
      .executeTakeFirst();
    if ((inserted.numInsertedOrUpdatedRows ?? 0n) > 0n) return { appended: true };
    const live = await holdsLease(db, jobId, leaseToken, now).select("id").executeTakeFirst();
    if (!live) throw await staleOrMissing(db, jobId);
    return { appended: false };
  }

  async readLog(
    jobId: number,
    options: { afterSeq?: number; limit?: number } = {},
  ): Promise<LogChunk[]> {
    const { afterSeq, limit } = options;
    const rows = await this.#ctx.db
      .selectFrom("log_chunks")
      .selectAll()
      .where("job_id", "=", jobId)
      .$if(afterSeq !== undefined, (qb) => qb.where("seq", ">", afterSeq ?? 0))
      .orderBy("seq")
      .$if(limit !== undefined, (qb) => qb.limit(limit ?? 0))
      .execute();
    return rows.map(toLogChunk);
  }
}
