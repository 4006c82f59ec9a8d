/**
 * The bridge between the store's task row and the state machine's snapshot. The store keeps
 * the facts (state, budget used, jobs, PR); the machine's few extra fields are derived here:
 * the current job from the newest job row, the consecutive failures from the trailing failed
 * jobs, `enteredAt` from the last update. The store keeps no lifetime totals apart from `used`,
 * so `spent` starts from `used` (the progress comment shows what the current run used).
 */
import { noBudgetUsed } from "../domain/budget.js";
import type { TaskJob, TaskSnapshot } from "../domain/task.js";
import type { Job, Task } from "../store/index.js";

export function snapshotOf(task: Task, jobs: readonly Job[]): TaskSnapshot {
  const newest = [...jobs].sort((a, b) => b.id - a.id);
  const last = newest[0];
  // Consecutive failures before the current job: the machine counts the current job's own
  // failure when it applies `job-failed` (counting it here too made the first retry wait two
  // backoff steps instead of one).
  let failures = 0;
  for (const job of task.state === "running" ? newest.slice(1) : newest) {
    if (job.status !== "failed") break;
    failures++;
  }
  return {
    state: task.state,
    enteredAt: task.updatedAt,
    job: currentJob(task, last),
    pr:
      task.prNumber !== undefined && task.headSha !== undefined
        ? { headSha: task.headSha, draft: true }
        : null,
    used: { ...noBudgetUsed(), ...task.used },
    spent: { ...noBudgetUsed(), ...task.used },
    failures,
    blocker:
      task.state === "blocked"
        ? { cause: "needs-human", message: "blocked before this event", error: null }
        : null,
  };
}

function currentJob(task: Task, last: Job | undefined): TaskJob | null {
  switch (task.state) {
    case "queued":
    case "running":
      return last === undefined
        ? { id: null, kind: "implement", instructions: null, notBefore: null }
        : {
            id: String(last.id),
            kind: last.kind,
            instructions: typeof last.input === "string" ? last.input : null,
            notBefore: last.notBefore.getTime() > last.enqueuedAt.getTime() ? last.notBefore : null,
          };
    case "waiting":
      return { id: null, kind: "implement", instructions: null, notBefore: null };
    case "blocked":
    case "canceled":
      return last === undefined || task.prNumber === undefined
        ? null
        : { id: null, kind: last.kind, instructions: null, notBefore: null };
    default:
      return null;
  }
}
