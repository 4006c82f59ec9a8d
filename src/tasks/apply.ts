/**
 * The task loop: the only caller of the pure `transitionTask`. For each event it
 *
 * 1. reads the task and its jobs, and asks the machine;
 * 2. writes the new state to the store (optimistic: a concurrent change re-reads and re-decides,
 *    so a label and a card move arriving together still make one task and one job);
 * 3. runs the effects the transition owes (./effects/: jobs, pull request, labels, board,
 *    progress comment), which import the ports and the domain, never this file;
 * 4. feeds what follows from the effects back into the machine, in a loop rather than by
 *    recursion: a re-opened gate is judged (./gate.ts) and its verdict applied as the next event,
 *    and a task that reached review is offered to the auto-merge.
 *
 * A failure in step 3 fails the inbox delivery, which is retried; the retried event finds the
 * task already moved and only re-mirrors its labels (see `startTask` in ./start.ts).
 */
import { formatIssueRef } from "../domain/dependencies.js";
import { taskBranchName } from "../domain/task-branch.js";
import { storedIssueTitle } from "../domain/untrusted-text.js";
import { transitionTask } from "../domain/task-machine.js";
import type { TaskEffect, TaskEvent, TaskTransition } from "../domain/task.js";
import { TaskVersionConflictError, type Job, type Task, type TaskChanges } from "../store/index.js";
import { BoardLookup, moveCard } from "./effects/board.js";
import { cancelJobs, enqueueJob } from "./effects/jobs.js";
import { mirrorLabels } from "./effects/labels.js";
import { issueOfTask, updateProgressComment } from "./effects/progress-comment.js";
import {
  autoMergeIfReady,
  deleteTaskBranch,
  markPullRequestReady,
  publishJobResult,
  requestTaskReview,
  scheduleMergeabilityRecheck,
} from "./effects/pull-request.js";
import { labelNamesOf, taskPolicyOf } from "./repo-config.js";
import type { TaskContext } from "./context.js";
import {
  AUDIT_BLOCKED,
  AUDIT_DEPENDENCIES,
  AUDIT_ROUTED,
  recordFacts,
  recordNote,
} from "./facts.js";
import { judgeGate, type GateJudgement } from "./gate.js";
import { configOfTask, repoName } from "./lookup.js";
import type { TaskEventExtras, TaskEventOutcome, TaskEventRequest } from "./request.js";
import { snapshotOf } from "./snapshot.js";

export type { StartFacts, TaskEventOutcome, TaskEventRequest } from "./request.js";

const MAX_ROUNDS = 3;

/** Decides `event` for the issue's task, applies the decision and what follows from it. */
export async function applyTaskEvent(
  ctx: TaskContext,
  request: TaskEventRequest,
): Promise<TaskEventOutcome> {
  const first = await applyOnce(ctx, request);
  if (first.gate !== undefined) {
    await drainGates(ctx, [first.gate], {
      config: request.config,
      issue: request.issue,
      board: request.board,
    });
  }
  if (first.outcome.outcome !== "transition") return first.outcome;
  const latest = (await ctx.store.getTask(first.outcome.task.id)) ?? first.outcome.task;
  return { ...first.outcome, task: latest };
}

/** A gate the loop still has to judge: the task re-opened it on `headSha`. */
interface PendingGate {
  taskId: number;
  headSha: string;
}

interface Applied {
  outcome: TaskEventOutcome;
  gate?: PendingGate | undefined;
}

/** What `applyEventTo` read (or was given) to apply the event, for the follow-ups. */
type AppliedTo = Applied & { known: TaskEventExtras };

/** One event: read, decide, store, run the effects. Returns the gate it re-opened, if any. */
async function applyOnce(ctx: TaskContext, request: TaskEventRequest): Promise<Applied> {
  const { issue, config } = request;
  const policy = taskPolicyOf(config);
  for (let round = 1; ; round++) {
    // 1. Read and decide.
    const existing = await ctx.store.findTask(repoName(issue.ref), issue.ref.number);
    const jobs = existing === undefined ? [] : await ctx.store.listJobs(existing.id);
    const snapshot = existing === undefined ? null : snapshotFor(existing, jobs, request);
    const decision = transitionTask(snapshot, request.event, ctx.now(), policy);
    if (decision.outcome !== "transition") {
      ctx.log.info(
        {
          issue: issue.ref,
          event: request.event.type,
          outcome: decision.outcome,
          reason: decision.reason,
        },
        "task event changes nothing",
      );
      return { outcome: { ...decision, task: existing } };
    }

    // 2. Store.
    let task: Task | undefined;
    try {
      task = await persist(ctx, existing, decision, request);
    } catch (error) {
      if (!(error instanceof TaskVersionConflictError) || round >= MAX_ROUNDS) throw error;
    }
    if (task === undefined) {
      if (round >= MAX_ROUNDS) {
        throw new Error(
          `task for ${formatIssueRef(issue.ref)} kept changing while kanbot applied ${request.event.type}; the delivery will be retried`,
        );
      }
      ctx.log.debug({ issue: issue.ref, round }, "task changed concurrently; deciding again");
      continue;
    }
    ctx.log.info(
      {
        issue: issue.ref,
        taskId: task.id,
        event: request.event.type,
        from: decision.from,
        to: decision.to,
      },
      "task state changed",
    );

    // 3. Effects.
    for (const effect of decision.effects) {
      await applyEffect(ctx, task, effect, request);
    }
    // 4. A re-opened gate decides from the checks already on the head (the caller's loop).
    const evaluate = decision.effects.find((effect) => effect.type === "evaluate-checks");
    return {
      outcome: { outcome: "transition", task, from: decision.from, to: decision.to },
      gate: evaluate === undefined ? undefined : { taskId: task.id, headSha: evaluate.headSha },
    };
  }
}

/**
 * Judges each pending gate and applies its verdict as the next event; a task that reaches review
 * is offered to the auto-merge (an approval may have come before the checks). Returns the
 * judgement of the first gate, for the caller that asked for it.
 */
async function drainGates(
  ctx: TaskContext,
  gates: PendingGate[],
  extras: TaskEventExtras,
): Promise<GateRun | undefined> {
  let first: GateRun | undefined;
  for (let gate = gates.shift(); gate !== undefined; gate = gates.shift()) {
    const judgement = await judgeGate(ctx, gate.taskId, gate.headSha, {
      ...(extras.config === undefined ? {} : { config: extras.config }),
    });
    if (judgement.kind !== "verdict") {
      first ??= judgement;
      continue;
    }
    const applied = await applyEventTo(ctx, judgement.task, judgement.event, "kanbot", {
      ...extras,
      config: judgement.config,
    });
    Object.assign(extras, applied.known);
    first ??= { kind: "applied", decision: judgement.decision, outcome: applied.outcome };
    if (applied.gate !== undefined) gates.push(applied.gate);
    const outcome = applied.outcome;
    if (outcome.outcome === "transition" && outcome.to === "review") {
      const task = (await ctx.store.getTask(outcome.task.id)) ?? outcome.task;
      const merged = await autoMergeIfReady(ctx, task, judgement.config, { kind: "gate-passed" });
      if (merged.kind === "mergeability-unknown") {
        await scheduleMergeabilityRecheck(ctx, task, "auto-merge", "gate-passed");
      }
    }
  }
  return first;
}

/** What running the gate did: the judgement, or the verdict applied to the task. */
export type GateRun =
  | Exclude<GateJudgement, { kind: "verdict" }>
  | {
      kind: "applied";
      decision: Extract<GateJudgement, { kind: "verdict" }>["decision"];
      outcome: TaskEventOutcome;
    };

/**
 * Judges the gate of task `taskId` on `headSha` and applies its verdict (check events, the
 * no-checks timer). Does nothing when the task has moved on.
 */
export async function runGate(
  ctx: TaskContext,
  taskId: number,
  headSha: string,
): Promise<GateRun | undefined> {
  return drainGates(ctx, [{ taskId, headSha }], {});
}

/** Applies `event` to `task` with its issue and config (read unless given). */
export async function applyToTask(
  ctx: TaskContext,
  task: Task,
  event: TaskEvent,
  actor: string,
  extras: TaskEventExtras = {},
): Promise<TaskEventOutcome> {
  const applied = await applyEventTo(ctx, task, event, actor, extras);
  if (applied.gate !== undefined) await drainGates(ctx, [applied.gate], applied.known);
  if (applied.outcome.outcome !== "transition") return applied.outcome;
  const latest = (await ctx.store.getTask(applied.outcome.task.id)) ?? applied.outcome.task;
  return { ...applied.outcome, task: latest };
}

async function applyEventTo(
  ctx: TaskContext,
  task: Task,
  event: TaskEvent,
  actor: string,
  extras: TaskEventExtras,
): Promise<AppliedTo> {
  const config = extras.config ?? (await configOfTask(ctx, task));
  const issue = extras.issue ?? (await ctx.github.getIssue(issueOfTask(task)));
  if (issue === undefined) {
    ctx.log.warn({ taskId: task.id, event: event.type }, "the task's issue is gone; nothing done");
    return {
      outcome: {
        outcome: "rejected",
        code: "no-task",
        reason: "the task's issue no longer exists",
        task,
      },
      known: { ...extras, config },
    };
  }
  const board = extras.board ?? new BoardLookup();
  const applied = await applyOnce(ctx, {
    issue,
    config,
    actor,
    event,
    board,
    job: extras.job,
    lostJobId: extras.lostJobId,
    closed: extras.closed,
  });
  return { ...applied, known: { config, issue, board } };
}

/** The machine's view of the task; for a lost job, as it was before the store's sweep. */
function snapshotFor(task: Task, jobs: readonly Job[], request: TaskEventRequest) {
  const lostJobId = request.lostJobId;
  if (lostJobId === undefined) return snapshotOf(task, jobs);
  const snapshot = snapshotOf(
    task,
    jobs.filter((job) => job.id <= lostJobId),
  );
  return {
    ...snapshot,
    used: { ...snapshot.used, lostLeases: Math.max(0, snapshot.used.lostLeases - 1) },
  };
}

/** Writes the decision; undefined when another writer got there first (decide again). */
async function persist(
  ctx: TaskContext,
  existing: Task | undefined,
  decision: TaskTransition,
  request: TaskEventRequest,
): Promise<Task | undefined> {
  const { issue, start } = request;
  const policy = taskPolicyOf(request.config);
  let task: Task;
  if (existing === undefined) {
    const created = await ctx.store.upsertTask({
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
    });
    if (!created.created) return undefined;
    task = await ctx.store.updateTask(
      created.task.id,
      { used: decision.task.used },
      { actor: request.actor },
    );
  } else {
    const changes: TaskChanges = {
      state: decision.to,
      used: decision.task.used,
      headSha: decision.task.pr?.headSha ?? null,
    };
    if (start !== undefined) {
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
    task = await ctx.store.updateTask(existing.id, changes, {
      expectedVersion: existing.version,
      actor: request.actor,
    });
  }
  if (start !== undefined) {
    await recordFacts(ctx, task.id, AUDIT_ROUTED, {
      agent: start.routing.agent.agent,
      reason: start.routing.agent.reason,
      priorityReason: start.routing.priority.reason,
      notes: start.routing.agent.ignored.map((ignored) => `${ignored.request}: ${ignored.reason}`),
    });
  }
  if (request.dependencies !== undefined) {
    await recordFacts(ctx, task.id, AUDIT_DEPENDENCIES, request.dependencies);
  }
  const blocker = decision.task.blocker;
  if (decision.to === "blocked" && blocker !== null) {
    await recordFacts(ctx, task.id, AUDIT_BLOCKED, {
      message: blocker.message,
      error: blocker.error,
    });
  }
  return task;
}

async function applyEffect(
  ctx: TaskContext,
  task: Task,
  effect: TaskEffect,
  request: TaskEventRequest,
): Promise<void> {
  switch (effect.type) {
    case "enqueue-job":
      await enqueueJob(ctx, task, effect, request);
      return;
    case "cancel-job":
      await cancelJobs(ctx, task, request.actor);
      return;
    case "set-label":
      await mirrorLabels(ctx, request.issue, effect.state, labelNamesOf(request.config));
      return;
    case "update-board":
      await moveCard(ctx, request.board, request.config, request.issue, effect.state);
      return;
    case "update-progress-comment":
      await recordNote(ctx, task.id, effect.note, request.actor);
      await updateProgressComment(ctx, task, request.config, request.comments);
      return;
    case "open-pr":
    case "update-pr":
      await publishJobResult(ctx, task, effect, request);
      return;
    case "mark-pr-ready":
      await markPullRequestReady(ctx, task);
      return;
    case "request-review":
      await requestTaskReview(ctx, task, request.config);
      return;
    case "delete-branch":
      await deleteTaskBranch(ctx, task, request.config, request.closed);
      return;
    case "evaluate-checks":
      // Judged once the transition's other effects ran (the state mirror); see `applyOnce`.
      return;
  }
}
