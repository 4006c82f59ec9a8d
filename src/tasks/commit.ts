/**
 * Step 2 of the loop (./apply.ts): a decision committed in one transaction
 * (`JobStore.commitTransition`): the task's new state, the jobs it cancels and queues, the facts
 * and timeline notes it records, and its outbox of GitHub effects.
 */
import { ANSWER_PREFERS_ASKER_MS, answerDueAt } from "../domain/question.js";
import { taskBranchName } from "../domain/task-branch.js";
import type { TaskTransition } from "../domain/task.js";
import { storedIssueTitle } from "../domain/untrusted-text.js";
import type { NewTask, Task, TaskChanges, TaskRoutingRecord } from "../store/index.js";
import type { TaskContext } from "./context.js";
import {
  AUDIT_BLOCKED,
  AUDIT_DEPENDENCIES,
  AUDIT_NOTE,
  AUDIT_ROUTED,
  historyEntry,
} from "./facts.js";
import { repoName } from "./lookup.js";
import { outboxJson, type Outbox } from "./outbox.js";
import { taskPolicyFor } from "./repo-config.js";
import type { TaskEventRequest } from "./request.js";

/**
 * Commits the decision: the task's new state (the task itself, when it is new), the jobs it
 * queues or cancels, the facts and notes it records and its outbox, in one transaction. Throws
 * `TaskVersionConflictError` when another writer got there first (decide again).
 */
export async function commit(
  ctx: TaskContext,
  existing: Task | undefined,
  decision: TaskTransition,
  request: TaskEventRequest,
  outbox: Outbox,
): Promise<Task> {
  const { issue, start } = request;
  // The budget stored at a (re)start is the repository's with the writers' budget labels.
  const policy = taskPolicyFor(request.config, issue.labels, existing, start);
  // A new task is created with its first decision, in the same transaction: a crash between
  // the two would leave a task in its new state with nothing behind it (a `queued` task with no
  // job, which no later event would queue again).
  const target: number | NewTask =
    existing === undefined
      ? {
          repo: repoName(issue.ref),
          installationId: ctx.installationId,
          issueNumber: issue.ref.number,
          title: storedIssueTitle(issue.title),
          body: start?.promptText ?? "",
          state: decision.to,
          ...(start === undefined
            ? {}
            : {
                agent: start.routing.agent.agent,
                requiredLabels: start.routing.runner.labels,
                priority: start.routing.priority.priority,
              }),
          budget: policy.budget,
          startedBy: request.actor,
          // Fixed once, from the config of the trigger; the runner, the PR and the cleanup use it.
          branch: taskBranchName(request.config.branchPrefix, issue.ref.number, issue.title),
        }
      : existing.id;
  const changes: TaskChanges = {
    state: decision.to,
    enteredAt: decision.task.enteredAt,
    used: decision.task.used,
    spent: decision.task.spent,
    blocker: decision.task.blocker,
    pendingEffects: outbox.effects.length === 0 ? null : outboxJson(outbox),
  };
  if (decision.task.pr !== null) changes.prDraft = decision.task.pr.draft;
  // A question's deadline, from when the task started waiting (durable: the sweep reads it).
  changes.questionDueAt =
    decision.to === "needs-input"
      ? (answerDueAt(decision.task.enteredAt, request.config.questions.answerTimeoutHours) ?? null)
      : null;
  if (start !== undefined) changes.routing = routingOf(start);
  else Object.assign(changes, agentChanges(existing, decision));
  if (request.dependencies !== undefined) changes.dependencies = request.dependencies;
  if (existing !== undefined) changes.headSha = decision.task.pr?.headSha ?? null;
  if (existing !== undefined && start !== undefined) {
    Object.assign(changes, {
      title: storedIssueTitle(issue.title),
      body: start.promptText,
      agent: start.routing.agent.agent,
      requiredLabels: start.routing.runner.labels,
      priority: start.routing.priority.priority,
      budget: policy.budget,
      startedBy: request.actor,
      installationId: ctx.installationId,
    } satisfies TaskChanges);
  }
  const enqueue = decision.effects.find((effect) => effect.type === "enqueue-job");
  const committed = await ctx.store.commitTransition(target, changes, {
    ...(existing === undefined ? {} : { expectedVersion: existing.version }),
    actor: request.actor,
    cancelJobs: decision.effects.some((effect) => effect.type === "cancel-job"),
    ...(enqueue === undefined
      ? {}
      : {
          enqueue: {
            kind: enqueue.kind,
            // The agent the machine chose (a fallback moves it); a new task's is its routed one.
            ...(start === undefined && decision.task.agent !== null
              ? { agent: decision.task.agent.current }
              : {}),
            ...(enqueue.instructions === null ? {} : { input: enqueue.instructions }),
            ...(enqueue.notBefore === null ? {} : { notBefore: enqueue.notBefore }),
            // The runner that asked holds the agent's session: it gets the answer job first.
            ...(enqueue.kind === "answer" ? { preferAskingRunnerMs: ANSWER_PREFERS_ASKER_MS } : {}),
          },
        }),
    audit: decisionFacts(decision, request),
  });
  if (committed.canceled.length > 0) {
    ctx.log.info(
      {
        taskId: committed.task.id,
        jobs: committed.canceled.map((result) => ({
          jobId: result.job.id,
          outcome: result.outcome,
        })),
      },
      "task jobs canceled",
    );
  }
  if (committed.queued !== undefined) {
    const job = committed.queued;
    ctx.log.info(
      {
        taskId: committed.task.id,
        jobId: job.id,
        kind: job.kind,
        agent: job.agent,
        priority: job.priority,
      },
      "job queued",
    );
  }
  return committed.task;
}

/**
 * The agent of the task's jobs as the decision left it (issue 14 part 4): `Task.agent`, and in
 * the routing record its failures in a row and why it is a fallback. Nothing when unchanged.
 */
function agentChanges(existing: Task | undefined, decision: TaskTransition): TaskChanges {
  const agent = decision.task.agent;
  const routing = existing?.routing;
  if (existing === undefined || agent === null || routing === undefined) return {};
  const record: TaskRoutingRecord = { ...routing };
  delete record.fallbackReason;
  delete record.agentFailures;
  if (agent.reason !== null) record.fallbackReason = agent.reason;
  if (agent.failures > 0) record.agentFailures = agent.failures;
  const same =
    existing.agent === agent.current &&
    routing.fallbackReason === record.fallbackReason &&
    routing.agentFailures === record.agentFailures;
  return same ? {} : { agent: agent.current, routing: record };
}

/** The routing decision of a start, as the task record keeps it. */
export function routingOf(
  start: Pick<NonNullable<TaskEventRequest["start"]>, "routing">,
): TaskRoutingRecord {
  return {
    agent: start.routing.agent.agent,
    reason: start.routing.agent.reason,
    priorityReason: start.routing.priority.reason,
    notes: start.routing.agent.ignored.map((ignored) => `${ignored.request}: ${ignored.reason}`),
  };
}

/** The history a decision records with its state: routing, dependencies, why it is blocked,
 * and its timeline notes. */
function decisionFacts(decision: TaskTransition, request: TaskEventRequest) {
  const { start } = request;
  const entries = [];
  if (start !== undefined) entries.push(historyEntry(AUDIT_ROUTED, routingOf(start)));
  if (request.dependencies !== undefined) {
    entries.push(historyEntry(AUDIT_DEPENDENCIES, request.dependencies));
  }
  const blocker = decision.task.blocker;
  if (decision.to === "blocked" && blocker !== null) {
    entries.push(historyEntry(AUDIT_BLOCKED, blocker));
  }
  for (const effect of decision.effects) {
    if (effect.type === "update-progress-comment") {
      entries.push(historyEntry(AUDIT_NOTE, { note: effect.note, format: "markdown" }));
    }
  }
  return entries;
}
