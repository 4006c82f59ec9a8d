/**
 * Job tokens (issue 13): the GitHub tokens the runner API issued for a job, kept sealed
 * (src/tokens/token-seal.ts encrypts them; the store only ever sees ciphertext) until the job's
 * lease ends, so that whichever replica sees the lease end can revoke and delete them.
 *
 * A token is deleted only after it was revoked (or could not be revoked: expired, unreadable),
 * and `listJobTokenOrphans` finds the tokens of jobs that hold no lease any more, so a replica
 * that died between the end of a lease and the revoke leaves nothing behind for long.
 */
import type { StoreContext } from "./store-context.js";
import type { NewJobToken, StoredJobToken } from "./types.js";

export class JobTokenRows {
  readonly #ctx: StoreContext;

  constructor(ctx: StoreContext) {
    this.#ctx = ctx;
  }

  async saveJobToken(token: NewJobToken): Promise<StoredJobToken> {
    const row = await this.#ctx.db
      .insertInto("job_tokens")
      .values({
        job_id: token.jobId,
        sealed: token.sealed,
        expires_at: token.expiresAt.getTime(),
        created_at: this.#ctx.now(),
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    return toStoredJobToken(row);
  }

  async listJobTokens(jobId: number): Promise<StoredJobToken[]> {
    const rows = await this.#ctx.db
      .selectFrom("job_tokens")
      .selectAll()
      .where("job_id", "=", jobId)
      .orderBy("id")
      .execute();
    return rows.map(toStoredJobToken);
  }

  async deleteJobTokens(ids: readonly number[]): Promise<number[]> {
    if (ids.length === 0) return [];
    const rows = await this.#ctx.db
      .deleteFrom("job_tokens")
      .where("id", "in", [...ids])
      .returning("id")
      .execute();
    return rows.map((row) => Number(row.id)).sort((a, b) => a - b);
  }

  async listJobTokenOrphans(): Promise<number[]> {
    const rows = await this.#ctx.db
      .selectFrom("job_tokens")
      .leftJoin("jobs", "jobs.id", "job_tokens.job_id")
      .select("job_tokens.job_id")
      .distinct()
      .where((eb) => eb.or([eb("jobs.id", "is", null), eb("jobs.status", "<>", "leased")]))
      .orderBy("job_tokens.job_id")
      .execute();
    return rows.map((row) => Number(row.job_id));
  }
}

function toStoredJobToken(row: {
  id: number;
  job_id: number;
  sealed: string;
  expires_at: number;
  created_at: number;
}): StoredJobToken {
  return {
    id: Number(row.id),
    jobId: Number(row.job_id),
    sealed: row.sealed,
    expiresAt: new Date(Number(row.expires_at)),
    createdAt: new Date(Number(row.created_at)),
  };
}
