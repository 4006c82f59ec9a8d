/**
 * The audit log: an append-only history of decisions. The store records its own (claims,
 * losses, cancels…) inside the transaction that made them; callers add theirs with `audit`.
 */
import { toAuditEntry } from "./rows.js";
import { insertAudit, type Db, type StoreContext } from "./store-context.js";
import type { AuditEntry, AuditFilter, Job, NewAuditEntry } from "./types.js";

export class AuditLog {
  readonly #ctx: StoreContext;

  constructor(ctx: StoreContext) {
    this.#ctx = ctx;
  }

  async audit(entry: NewAuditEntry): Promise<void> {
    await insertAudit(this.#ctx.db, this.#ctx.now(), entry);
  }

  async listAudit(filter: AuditFilter = {}): Promise<AuditEntry[]> {
    const { taskId, jobId, action, limit } = filter;
    const rows = await this.#ctx.db
      .selectFrom("audit_log")
      .selectAll()
      .$if(taskId !== undefined, (qb) => qb.where("task_id", "=", taskId ?? 0))
      .$if(jobId !== undefined, (qb) => qb.where("job_id", "=", jobId ?? 0))
      .$if(action !== undefined, (qb) => qb.where("action", "=", action ?? ""))
      .orderBy("id", "desc")
      .$if(limit !== undefined, (qb) => qb.limit(limit ?? 0))
      .execute();
    return rows.map(toAuditEntry);
  }
}

/** Records a decision about a job (and so about its task). */
export function auditJob(
  db: Db,
  now: number,
  job: Pick<Job, "id" | "taskId">,
  entry: Omit<NewAuditEntry, "taskId" | "jobId">,
): Promise<void> {
  return insertAudit(db, now, { taskId: job.taskId, jobId: job.id, ...entry });
}
