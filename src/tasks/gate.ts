/**
 * The checks gate, applied (issue 5 item 3; the rules are in src/domain/gate.ts and
 * docs/checks-gate.md):
 *
 * 1. gather every check run and commit status on the task's accepted head SHA, and the base
 *    branch's required checks (branch protection and rulesets), through the port;
 * 2. decide with `decideGate` (pure);
 * 3. passed -> a `checks-passed` event; failed -> the flake guard (when on) or a fix bundle and a
 *    `checks-failed` event; pending -> remember when to look again (the no-checks wait) and show
 *    on the progress comment what the gate waits for, editing it only when that text changes
 *    (with no check by the start deadline and `whenNone: wait`: that the PR stays a draft and
 *    how to make CI run on kanbot's branches).
 *
 * `/kanbot ready` judges the gate the same way, with `readyBy`: a head with no check passes.
 *
 * The gate judges; it never applies. The verdict's event goes back to the loop (`runGate` in
 * ./apply.ts), which applies it and, when the task reaches review, tries the auto-merge.
 *
 * Only the head the task accepted last is ever evaluated: an event about another SHA finds no
 * task (see `taskOfHead`) and changes nothing.
 */
import { buildFixBundle, type FailingCheck } from "../domain/fix-bundle.js";
import { gateWaitingText, type NoChecksHint } from "../domain/gate-progress.js";
import {
  decideGate,
  type CheckRunInput,
  type CommitStatusInput,
  type GateDecision,
} from "../domain/gate.js";
import type { RepoConfig } from "../config/repo-config.js";
import type { RepoRef } from "../domain/dependencies.js";
import type { CheckRunFacts } from "../github/pull-request-port.js";
import { gateJudges } from "../domain/task-machine.js";
import type { TaskEvent } from "../domain/task.js";
import type { Task, TaskGateRecord } from "../store/index.js";
import { showIssueView } from "./effects/issue-view.js";
import { issueOfTask } from "./effects/progress-comment.js";
import { baseBranchOf, configOfTask } from "./lookup.js";
import type { TaskContext } from "./context.js";
import { AUDIT_NOTE, recordGate, recordHistory } from "./facts.js";

/** What the gate found for one evaluation; a verdict carries the event the loop applies. */
export type GateJudgement =
  | { kind: "skipped"; reason: string }
  | { kind: "pending"; decision: GateDecision }
  | { kind: "rerun"; decision: GateDecision; runIds: number[] }
  | {
      kind: "verdict";
      decision: GateDecision;
      task: Task;
      config: RepoConfig;
      event: Extract<TaskEvent, { type: "checks-passed" | "checks-failed" }>;
    };

/** Bytes of a failed Actions job's log read for the fix bundle. */
const LOG_TAIL_BYTES = 16 * 1024;

/** What the caller of the gate may add: the config it read, a maintainer's `/kanbot ready`. */
export interface GateOptions {
  config?: RepoConfig;
  /** The login that said `/kanbot ready`: a head with no check passes without checks. */
  readyBy?: string;
}

/**
 * Judges the gate of task `taskId` on `headSha` and records what it saw. Skips when the task has
 * moved on (another head, or no longer waiting for checks).
 */
export async function judgeGate(
  ctx: TaskContext,
  taskId: number,
  headSha: string,
  known: GateOptions = {},
): Promise<GateJudgement> {
  // 0. Guard: the task still waits for checks on this very head.
  const task = await ctx.store.getTask(taskId);
  if (task === undefined) return skipped(ctx, taskId, "the task no longer exists");
  if (task.headSha !== headSha) {
    return skipped(ctx, taskId, "the event is about a head the task no longer has");
  }
  if (!gateJudges(task, headSha)) {
    return skipped(ctx, taskId, `the task is ${task.state}; the gate is closed`);
  }
  const config = known.config ?? (await configOfTask(ctx, task));
  const repo: RepoRef = { owner: issueOfTask(task).owner, repo: issueOfTask(task).repo };

  // 1. Gather.
  const base = task.pullRequest?.base ?? (await baseBranchOf(ctx, repo, config));
  const [runs, statuses, required] = await Promise.all([
    ctx.pulls.listCheckRuns(repo, headSha),
    ctx.pulls.listCommitStatuses(repo, headSha),
    ctx.pulls.requiredChecks(repo, base),
  ]);
  const gate = task.gate;
  const sameHead = gate?.headSha === headSha;
  const since = sameHead ? gate.since : task.updatedAt;

  // 2. Decide.
  const decision = decideGate({
    headSha,
    checkRuns: runs.map(toGateRun),
    statuses: statuses.map((status): CommitStatusInput => ({
      id: status.id,
      context: status.context,
      sha: headSha,
      state: status.state,
      createdAt: new Date(status.createdAt),
      updatedAt: new Date(status.updatedAt),
      targetUrl: status.targetUrl,
      description: status.description,
    })),
    protection:
      required === undefined || required.checks.length === 0
        ? null
        : required.checks.map((check) => ({ name: check.context, appId: check.appId ?? null })),
    configured: config.checks.required,
    self: { appId: null, checkName: "kanbot" },
    startDeadlineMinutes: config.checks.startDeadlineMinutes,
    whenNone: config.checks.whenNone,
    readyBy: known.readyBy,
    prCreatedAt: since,
    headPushedAt: since,
    now: ctx.now(),
  });
  ctx.log.info(
    { taskId: task.id, headSha, verdict: decision.verdict, reason: decision.reason },
    "gate decided",
  );
  const facts: TaskGateRecord = {
    noChecks: decision.noChecks,
    headSha,
    since,
    recheckAt: decision.recheckAt ?? null,
    verdict: decision.verdict,
    reason: decision.reason,
    rerunRunIds: sameHead ? gate.rerunRunIds : [],
    waiting: null,
  };

  // 3. Apply.
  if (decision.verdict === "pending") {
    const hint: NoChecksHint = {
      branchPrefix: config.branchPrefix,
      baseBranch: base,
      startDeadlineMinutes: config.checks.startDeadlineMinutes,
    };
    const shownBefore = sameHead ? (gate.waiting ?? null) : null;
    await showPending(ctx, task, config, { decision, hint }, facts, shownBefore);
    return { kind: "pending", decision };
  }
  if (decision.verdict === "passed") {
    await recordGate(ctx, task.id, facts);
    if (decision.noChecks) {
      const note =
        known.readyBy === undefined
          ? `No checks appeared on ${headSha.slice(0, 7)} within ${config.checks.startDeadlineMinutes} minutes, so the gate passed without checks.`
          : `@${known.readyBy} said /kanbot ready: no check ran on ${headSha.slice(0, 7)}, so the gate passed without checks.`;
      await recordHistory(ctx, task.id, AUDIT_NOTE, { note });
    }
    return { kind: "verdict", decision, task, config, event: { type: "checks-passed", headSha } };
  }

  // Failed: the flake guard re-runs failed Actions workflows once per head before counting.
  const byId = new Map(runs.map((run) => [run.id, run]));
  if (config.checks.rerunFailedOnce) {
    const rerun = await rerunOnce(ctx, task, repo, decision, byId, facts);
    if (rerun.length > 0) return { kind: "rerun", decision, runIds: rerun };
  }
  await recordGate(ctx, task.id, facts);
  const failing = await Promise.all(
    decision.failed.map((check) => failingCheck(ctx, repo, check, byId)),
  );
  const bundle = buildFixBundle(failing);
  return {
    kind: "verdict",
    decision,
    task,
    config,
    event: { type: "checks-failed", headSha, summary: bundle.instructions },
  };
}

/**
 * Records a pending decision and, while the task waits for checks, shows on the progress comment
 * what the gate waits for. check_run events come in bursts: the comment is edited only when the
 * text differs from the one recorded (and shown) last for this head.
 */
async function showPending(
  ctx: TaskContext,
  task: Task,
  config: RepoConfig,
  { decision, hint }: { decision: GateDecision; hint: NoChecksHint },
  facts: TaskGateRecord,
  shownBefore: string | null,
): Promise<void> {
  // Only a task in `checks` shows it (a queued or running job will push another head).
  const waiting = task.state === "checks" ? gateWaitingText(decision, hint) : null;
  await recordGate(ctx, task.id, { ...facts, waiting });
  if (waiting === null || waiting === shownBefore) return;
  try {
    await showIssueView(ctx, task, { config });
  } catch (error) {
    // Not shown after all: the delivery's retry (or the next event) sees a change and edits.
    await recordGate(ctx, task.id, { ...facts, waiting: shownBefore });
    throw error;
  }
}

/** Re-runs each failed Actions run not re-run yet on this head; the run ids re-run. */
async function rerunOnce(
  ctx: TaskContext,
  task: Task,
  repo: RepoRef,
  decision: GateDecision,
  byId: Map<number, CheckRunFacts>,
  facts: TaskGateRecord,
): Promise<number[]> {
  const runIds = new Set<number>();
  for (const check of decision.failed) {
    const run = check.id === null ? undefined : byId.get(check.id);
    if (run?.actionsJob === undefined) return [];
    if (facts.rerunRunIds.includes(run.actionsJob.runId)) return [];
    runIds.add(run.actionsJob.runId);
  }
  const rerun: number[] = [];
  for (const runId of runIds) {
    const outcome = await ctx.pulls.rerunFailedJobs(repo, runId);
    if (outcome.kind === "rerun") {
      rerun.push(runId);
      continue;
    }
    ctx.log.warn({ taskId: task.id, runId, message: outcome.message }, "re-run refused");
    // The failure counts now; the progress comment says why the flake guard did not act.
    await recordHistory(ctx, task.id, AUDIT_NOTE, {
      note: `The flake guard could not re-run workflow run ${runId} (${outcome.message}); the failure counts. Re-running needs the app permission actions: write.`,
    });
  }
  if (rerun.length === 0) return [];
  await recordGate(ctx, task.id, {
    ...facts,
    verdict: "pending",
    reason: "failed workflows re-run once (flake guard)",
    rerunRunIds: [...facts.rerunRunIds, ...rerun],
  });
  await recordHistory(ctx, task.id, AUDIT_NOTE, {
    note: `Checks failed on ${facts.headSha.slice(0, 7)}; re-ran the failed workflow once before counting it (flake guard).`,
  });
  return rerun;
}

/** What the fix bundle shows of one failing check: output, annotations, the Actions log tail. */
async function failingCheck(
  ctx: TaskContext,
  repo: RepoRef,
  check: GateDecision["failed"][number],
  byId: Map<number, CheckRunFacts>,
): Promise<FailingCheck> {
  const run = check.source === "check-run" && check.id !== null ? byId.get(check.id) : undefined;
  if (run === undefined) {
    return {
      name: check.name,
      conclusion: String(check.conclusion ?? "failure"),
      url: check.url,
      title: check.summary,
    };
  }
  const annotations =
    run.output.annotationsCount > 0 ? await ctx.pulls.listAnnotations(repo, run.id) : [];
  let log: string | null = null;
  if (run.actionsJob !== undefined) {
    const tail = await ctx.pulls.jobLogTail(repo, run.actionsJob.jobId, {
      maxBytes: LOG_TAIL_BYTES,
    });
    if (tail.kind === "log") log = tail.text;
    else ctx.log.info({ checkRunId: run.id, outcome: tail.kind }, "no Actions log for the bundle");
  }
  return {
    name: run.name,
    conclusion: run.conclusion ?? "failure",
    url: run.htmlUrl ?? run.detailsUrl,
    title: run.output.title,
    summary: run.output.summary,
    text: run.output.text,
    annotations: annotations.map((annotation) => ({
      path: annotation.path,
      startLine: annotation.startLine,
      endLine: annotation.endLine,
      level: annotation.level,
      title: annotation.title,
      message: annotation.message,
    })),
    log,
  };
}

function toGateRun(run: CheckRunFacts): CheckRunInput {
  return {
    id: run.id,
    name: run.name,
    headSha: run.headSha,
    status: run.status,
    conclusion: run.conclusion,
    startedAt: run.startedAt === null ? null : new Date(run.startedAt),
    completedAt: run.completedAt === null ? null : new Date(run.completedAt),
    app:
      run.appId !== undefined && run.appSlug !== undefined
        ? { id: run.appId, slug: run.appSlug }
        : null,
    url: run.htmlUrl ?? run.detailsUrl,
    summary: run.output.title ?? run.output.summary?.split("\n", 1)[0] ?? null,
  };
}

function skipped(ctx: TaskContext, taskId: number, reason: string): GateJudgement {
  ctx.log.info({ taskId, reason }, "gate not evaluated");
  return { kind: "skipped", reason };
}
