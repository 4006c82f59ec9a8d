/**
 * The task loop: the only code that applies the pure `transitionTask`. For each event it
 *
 * 1. reads the task and its jobs, first running what an earlier apply still owes (the task's
 *    outbox, ./outbox.ts), and asks the machine;
 * 2. commits the decision in one transaction (`JobStore.commitTransition`): the new state, the
 *    jobs it cancels and queues, the facts and timeline notes it records, and its outbox of
 *    GitHub effects. Optimistic: a concurrent change re-reads and re-decides, so a label and a
 *    card move arriving together still make one task and one job;
 * 3. runs the outbox (./effects/: pull request, labels, board, progress comment), ticking each
 *    effect off as it is done; the effects import the ports and the domain, never this file;
 * 4. feeds what follows back into the machine, in a loop rather than by recursion: a re-opened
 *    gate is judged (./gate.ts) and its verdict applied as the next event, and a task that
 *    reached review is offered to the auto-merge.
 *
 * A failure in step 3 (GitHub down, the app killed) fails the inbox delivery; the state and what
 * it still owes are saved, and the retried delivery (or the periodic resume, `resumeTask`) runs
 * the rest first. The repeated event is then decided as usual, so it changes nothing.
 *
 * Why one long file: the loop's steps (read, decide, commit, run the outbox, feed the follow-up
 * back) read in order in one place; what each step calls is already its own module (commit.ts,
 * outbox.ts, gate.ts, effects/).
 */
import { formatIssueRef } from "../domain/dependencies.js";
import { transitionTask } from "../domain/task-machine.js";
import type { TaskEvent } from "../domain/task.js";
import { TaskVersionConflictError, type Task } from "../store/index.js";
import { BoardLookup } from "./effects/board.js";
import { showIssueView } from "./effects/issue-view.js";
import { faultPoint } from "./fault-points.js";
import { recordGateBackstop } from "./facts.js";
import { postQuestion } from "./effects/question.js";
import { issueOfTask } from "./effects/progress-comment.js";
import { autoMergeIfReady, scheduleMergeabilityRecheck } from "./effects/auto-merge.js";
import {
  deleteTaskBranch,
  markPullRequestReady,
  publishJobResult,
  requestTaskReview,
} from "./effects/pull-request.js";
import { taskPolicyFor } from "./repo-config.js";
import { commit } from "./commit.js";
import { KANBOT_ACTOR, type TaskContext } from "./context.js";
import {
  isOutboxEffect,
  outboxJson,
  parseOutbox,
  type Outbox,
  type OutboxEffect,
} from "./outbox.js";
import { judgeGate, type GateJudgement, type GateOptions } from "./gate.js";
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
  return followUp(ctx, first, {
    config: request.config,
    issue: request.issue,
    board: request.board,
  });
}

/** Judges the gate an applied event re-opened, then answers with the task as it is now. */
async function followUp(
  ctx: TaskContext,
  applied: Applied,
  known: TaskEventExtras,
): Promise<TaskEventOutcome> {
  if (applied.gate !== undefined) await drainGates(ctx, [applied.gate], known);
  if (applied.outcome.outcome !== "transition") return applied.outcome;
  const latest = (await ctx.store.getTask(applied.outcome.task.id)) ?? applied.outcome.task;
  return { ...applied.outcome, task: latest };
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

/**
 * One event: read, decide, commit (the state, its job changes and its outbox together), run the
 * outbox. Returns the gate it re-opened, if any. Effects a crashed or failed earlier apply left
 * in the outbox run first, so an event retried after a failure finds the task where the first
 * try left it, with its view and PR brought up to date, and is then decided as usual (a repeat
 * of an event already applied changes nothing).
 */
async function applyOnce(ctx: TaskContext, request: TaskEventRequest): Promise<Applied> {
  const { issue, config } = request;
  let resumedGate: PendingGate | undefined;
  for (let round = 1; ; round++) {
    // 1. Read (finishing what an earlier apply owes) and decide.
    const existing = await ctx.store.findTask(repoName(issue.ref), issue.ref.number);
    if (existing?.pendingEffects !== undefined) {
      resumedGate = (await resumeOutbox(ctx, existing, request)) ?? resumedGate;
      continue;
    }
    const jobs = existing === undefined ? [] : await ctx.store.listJobs(existing.id);
    const snapshot = existing === undefined ? null : snapshotOf(existing, jobs);
    // The issue's budget labels: the writers' values at a start, the stored ones after.
    const policy = taskPolicyFor(config, issue.labels, existing, request.start);
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
      return { outcome: { ...decision, task: existing }, gate: resumedGate };
    }

    // 2. Commit.
    const outbox: Outbox = {
      effects: decision.effects.filter(isOutboxEffect),
      actor: request.actor,
      ...(request.job === undefined ? {} : { jobId: request.job.id }),
      ...(request.closed === undefined ? {} : { closed: request.closed }),
    };
    let task: Task | undefined;
    try {
      task = await commit(ctx, existing, decision, request, outbox);
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
    faultPoint({ step: "committed", taskId: task.id });

    // 3. The outbox: labels, board, progress comment, PR; a re-opened gate is judged after.
    const gate = await runOutbox(ctx, task, outbox, request);
    return {
      outcome: { outcome: "transition", task, from: decision.from, to: decision.to },
      gate: gate ?? resumedGate,
    };
  }
}

/**
 * Runs what task `taskId`'s outbox still owes, without an event of its own (the periodic sweep,
 * `kanbot_task.resume`), and judges the gate it re-opened. False when nothing was owed.
 */
export async function resumeTask(ctx: TaskContext, taskId: number): Promise<boolean> {
  const task = await ctx.store.getTask(taskId);
  if (task?.pendingEffects === undefined) return false;
  const config = await configOfTask(ctx, task);
  const issue = await ctx.github.getIssue(issueOfTask(task));
  if (issue === undefined) {
    ctx.log.warn({ taskId }, "the task's issue is gone; its owed effects are dropped");
    await ctx.store.updateTask(taskId, { pendingEffects: null });
    return false;
  }
  const board = new BoardLookup();
  const gate = await resumeOutbox(ctx, task, { issue, config, actor: KANBOT_ACTOR, board });
  if (gate !== undefined) await drainGates(ctx, [gate], { config, issue, board });
  return true;
}

/** What running effects needs of a request (a resume has no event of its own). */
type EffectRequest = Omit<TaskEventRequest, "event" | "start" | "dependencies">;

/** Runs what an earlier apply of this task left in its outbox; the gate it re-opened, if any. */
async function resumeOutbox(
  ctx: TaskContext,
  task: Task,
  request: EffectRequest,
): Promise<PendingGate | undefined> {
  const parsed = parseOutbox(task.pendingEffects);
  if (!parsed.ok || parsed.outbox === undefined) {
    ctx.log.error(
      { taskId: task.id, error: parsed.ok ? "empty" : parsed.error },
      "unreadable task outbox dropped",
    );
    await ctx.store.updateTask(
      task.id,
      { pendingEffects: null },
      { expectedVersion: task.version },
    );
    return undefined;
  }
  const { outbox } = parsed;
  ctx.log.info(
    { taskId: task.id, effects: outbox.effects.map((effect) => effect.type) },
    "finishing the effects an earlier apply left in the outbox",
  );
  const job = outbox.jobId === undefined ? undefined : await ctx.store.getJob(outbox.jobId);
  return runOutbox(ctx, task, outbox, {
    ...request,
    actor: outbox.actor,
    job,
    closed: outbox.closed,
    comments: undefined,
  });
}

/**
 * Runs the outbox's effects in order, ticking each off in the task row once done (the last one
 * clears it). A failure leaves the rest for the next apply.
 */
async function runOutbox(
  ctx: TaskContext,
  task: Task,
  outbox: Outbox,
  request: EffectRequest,
): Promise<PendingGate | undefined> {
  let gate: PendingGate | undefined;
  let current = task;
  if (outbox.effects.length === 0) {
    // Nothing owed (an outbox written empty by hand): clear it, or the loop would find it again.
    await ctx.store.updateTask(current.id, { pendingEffects: null });
    return undefined;
  }
  for (let index = 0; index < outbox.effects.length; index++) {
    const effect = outbox.effects[index];
    if (effect === undefined) continue;
    if (effect.type === "evaluate-checks") {
      gate = { taskId: task.id, headSha: effect.headSha };
      await recordGateBackstop(ctx, current.gate, task.id, effect.headSha);
    } else {
      await applyEffect(ctx, current, effect, request);
    }
    const point = { taskId: task.id, effect: effect.type, index };
    faultPoint({ step: "effect-done", ...point });
    const rest = outbox.effects.slice(index + 1);
    const refreshed = await ctx.store.updateTask(current.id, {
      pendingEffects: rest.length === 0 ? null : outboxJson({ ...outbox, effects: rest }),
    });
    faultPoint({ step: "effect-ticked-off", ...point });
    // Keep what effects wrote to the task (PR number, branch, head) in hand.
    current = Object.assign(current, refreshed);
  }
  return gate;
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
  readyBy?: string,
): Promise<GateRun | undefined> {
  let first: GateRun | undefined;
  for (let gate = gates.shift(); gate !== undefined; gate = gates.shift()) {
    const options: GateOptions = {
      ...(extras.config === undefined ? {} : { config: extras.config }),
      // `/kanbot ready` speaks for the gate it was given, not for one a verdict re-opens.
      ...(readyBy === undefined || first !== undefined ? {} : { readyBy }),
    };
    const judgement = await judgeGate(ctx, gate.taskId, gate.headSha, options);
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
 * no-checks timer, `/kanbot ready` with `readyBy` and what the command read). Does nothing when
 * the task has moved on.
 */
export async function runGate(
  ctx: TaskContext,
  taskId: number,
  headSha: string,
  options: { readyBy?: string; known?: TaskEventExtras } = {},
): Promise<GateRun | undefined> {
  return drainGates(ctx, [{ taskId, headSha }], { ...options.known }, options.readyBy);
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
  return followUp(ctx, applied, applied.known);
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
    closed: extras.closed,
  });
  return { ...applied, known: { config, issue, board } };
}

async function applyEffect(
  ctx: TaskContext,
  task: Task,
  effect: OutboxEffect,
  request: EffectRequest,
): Promise<void> {
  switch (effect.type) {
    case "set-label":
    case "update-board":
    case "update-progress-comment":
      // The issue's view, computed whole from the task record (its notes were recorded with the
      // transition): the first of these writes what differs, the others find nothing to write.
      await showIssueView(ctx, task, {
        config: request.config,
        issue: request.issue,
        board: request.board,
        comments: request.comments,
      });
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
    case "post-question":
      await postQuestion(ctx, task, effect, request.config);
      return;
  }
}
