/**
 * `/kanbot ready` (docs/checks-gate.md, "No checks at all"): a maintainer marks the task's PR
 * ready for review although no check ran on its head. It is the gate judged once more, told who
 * said it (`readyBy`): a head with no check passes "without checks", and the loop goes on as for
 * any green gate (ready for review, review requested; never auto-merged). A head with checks is
 * judged on them as usual; the command then changes nothing and the reply says why.
 */
import type { RepoConfig } from "../config/repo-config.js";
import type { IssueFacts } from "../github/port.js";
import { runGate } from "./apply.js";
import type { TaskContext } from "./context.js";
import { repoName } from "./lookup.js";
import { noTask, type TaskEventOutcome } from "./request.js";

export interface ReadyRequest {
  issue: IssueFacts;
  config: RepoConfig;
  /** The maintainer who said `/kanbot ready` (already authorised). */
  actor: string;
}

export async function readyWithoutChecks(
  ctx: TaskContext,
  request: ReadyRequest,
): Promise<TaskEventOutcome> {
  // 1. Guard: a task that waits for checks on its PR.
  const task = await ctx.store.findTask(repoName(request.issue.ref), request.issue.ref.number);
  if (task === undefined) {
    return noTask();
  }
  if (task.prNumber === undefined || task.headSha === undefined) {
    return {
      outcome: "rejected",
      code: "no-pull-request",
      reason:
        "the task has no pull request yet; `/kanbot ready` applies once its PR waits for checks",
      task,
    };
  }
  if (task.state !== "checks") {
    return {
      outcome: "rejected",
      code: "illegal-transition",
      reason: `the task is ${task.state}, not waiting for checks; \`/kanbot ready\` applies only while its PR waits for checks`,
      task,
    };
  }

  // 2. The gate, told who said it; its verdict is applied as any other.
  const run = await runGate(ctx, task.id, task.headSha, {
    readyBy: request.actor,
    known: { config: request.config, issue: request.issue },
  });
  if (run?.kind === "applied") return run.outcome;
  const reason =
    run === undefined || run.kind === "skipped"
      ? `the gate could not be judged (${run?.reason ?? "no gate"})`
      : `the gate on ${task.headSha.slice(0, 7)} says "${run.decision.reason}"; \`/kanbot ready\` passes only a head with no check on it and none required by name`;
  return { outcome: "rejected", code: "illegal-transition", reason, task };
}
