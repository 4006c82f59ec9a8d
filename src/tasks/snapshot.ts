/**
 * The bridge between the store's task record and the state machine's snapshot. The record keeps
 * the facts (state and when it was entered, budget used and spent, the blocker, the PR's head and
 * draft flag; the agent of its jobs: `Task.agent`, with the routed one, its failures in a row and
 * the fallback's reason in the routing record); two fields are derived from the jobs: the current job from the newest job row, and
 * the consecutive failures from the trailing failed jobs.
 */
import { cleanQuestion, questionInstructions } from "../domain/question.js";
import type { TaskAgent, TaskJob, TaskSnapshot } from "../domain/task.js";
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
    enteredAt: task.enteredAt,
    job: currentJob(task, last),
    pr:
      task.prNumber !== undefined && task.headSha !== undefined
        ? { headSha: task.headSha, draft: task.prDraft }
        : null,
    used: { ...task.used },
    spent: { ...task.spent },
    failures,
    blocker: task.state === "blocked" ? (task.blocker ?? null) : null,
    agent: agentOf(task),
  };
}

/** The agent of the task's jobs: routed (the routing record) and current (`Task.agent`). */
function agentOf(task: Task): TaskAgent | null {
  if (task.agent === undefined) return null;
  const routing = task.routing;
  return {
    routed: routing?.agent ?? task.agent,
    current: task.agent,
    failures: routing?.agentFailures ?? 0,
    reason: routing?.fallbackReason ?? null,
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
    case "needs-input":
      return plannedAnswer(last);
    case "blocked":
    case "canceled":
      // Blocked or canceled while waiting for an answer: resuming runs the answer job.
      if (last?.status === "needs-input") return plannedAnswer(last);
      return last === undefined || task.prNumber === undefined
        ? null
        : { id: null, kind: last.kind, instructions: null, notBefore: null };
    default:
      return null;
  }
}

/**
 * The `answer` job a task waiting for an answer plans: the question (and the agent's summary)
 * from the result of the job that asked; the machine adds the answer when it comes.
 */
function plannedAnswer(asked: Job | undefined): TaskJob {
  const question = asked?.result?.question;
  const summary = asked?.result?.summary;
  return {
    id: null,
    kind: "answer",
    instructions: questionInstructions({
      question: cleanQuestion(question ?? "") || "(the question was not kept)",
      ...(summary !== undefined ? { summary } : {}),
      ...(asked !== undefined ? { askedBy: asked.kind } : {}),
    }),
    notBefore: null,
  };
}
