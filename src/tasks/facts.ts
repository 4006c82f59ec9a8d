/**
 * The task's history: audit entries of the decisions made about it (routing, dependencies seen,
 * why it was blocked, the PR opened, the gate's verdicts) and its timeline notes. History only:
 * what a task *is* lives in the typed task record (src/store/task-record.ts), never read back from
 * here. The timeline notes are the one history the progress comment shows.
 */
import type { NoteMarkdown, TimelineEntry } from "../domain/progress-comment.js";
import type { JsonValue, TaskDependencyRecord, TaskGateRecord } from "../store/index.js";
import type { TaskContext } from "./context.js";

export const AUDIT_NOTE = "task.note";
export const AUDIT_ROUTED = "task.routed";
export const AUDIT_DEPENDENCIES = "task.dependencies";
export const AUDIT_BLOCKED = "task.blocked";
export const AUDIT_PULL_REQUEST = "task.pull-request";
export const AUDIT_GATE = "task.gate";

/**
 * A timeline note: plain text, escaped when shown (`{ note }`, as every older record), or
 * markdown kanbot built with `note` (`format: "markdown"`, outside text escaped in it), shown as
 * it is so its code spans render. Write markdown notes with {@link recordNote}.
 */
export type NoteFacts =
  { note: string; format?: undefined } | { note: NoteMarkdown; format: "markdown" };

/** Adds a markdown `note` to the task's timeline. */
export async function recordNote(
  ctx: Pick<TaskContext, "store">,
  taskId: number,
  note: NoteMarkdown,
  actor = "kanbot",
): Promise<void> {
  await recordHistory(ctx, taskId, AUDIT_NOTE, { note, format: "markdown" }, actor);
}

/** Appends a decision (or a plain-text timeline note) to the task's history. */
export async function recordHistory(
  ctx: Pick<TaskContext, "store">,
  taskId: number,
  action: string,
  detail: object,
  actor = "kanbot",
): Promise<void> {
  await ctx.store.audit({ taskId, actor, action, detail: toJson(detail) });
}

/** A history entry of `detail`, for recording with a transition (`commitTransition`). */
export function historyEntry(
  action: string,
  detail: object,
): { action: string; detail: JsonValue } {
  return { action, detail: toJson(detail) };
}

/**
 * Saves the gate's look at a head in the task record; a verdict (passed, failed, a flake-guard
 * re-run) also goes into the history. A pending look is bookkeeping, not history.
 */
export async function recordGate(
  ctx: Pick<TaskContext, "store">,
  taskId: number,
  gate: TaskGateRecord,
): Promise<void> {
  await ctx.store.recordTaskFacts(taskId, { gate });
  if (gate.verdict === "waiting" || (gate.verdict === "pending" && gate.rerunRunIds.length === 0)) {
    return;
  }
  await recordHistory(ctx, taskId, AUDIT_GATE, {
    headSha: gate.headSha,
    verdict: gate.verdict,
    reason: gate.reason,
    ...(gate.noChecks ? { noChecks: true } : {}),
    ...(gate.rerunRunIds.length > 0 ? { rerunRunIds: gate.rerunRunIds } : {}),
  });
}

/** How soon a gate is judged again when the process that was to judge it died first. */
export const GATE_BACKSTOP_MS = 60_000;

/**
 * The outbox's `evaluate-checks`: the gate is judged once the transition's other effects ran, by
 * the process running them. Before the effect is ticked off, the gate's recheck is brought
 * forward to a minute from now, so that if the process dies before it judges, the once-a-minute
 * recheck sweep judges it (instead of the no-checks wait, 10 minutes later). Judging records its
 * own recheck time over it.
 */
export async function recordGateBackstop(
  ctx: Pick<TaskContext, "store" | "now">,
  gate: TaskGateRecord | undefined,
  taskId: number,
  headSha: string,
): Promise<void> {
  const now = ctx.now();
  const at = new Date(now.getTime() + GATE_BACKSTOP_MS);
  const same = gate?.headSha === headSha ? gate : undefined;
  if (same?.recheckAt != null && same.recheckAt.getTime() <= at.getTime()) return;
  await ctx.store.recordTaskFacts(taskId, {
    gate: same
      ? { ...same, recheckAt: at }
      : {
          headSha,
          since: now,
          recheckAt: at,
          verdict: "waiting",
          reason: "waiting for the first checks on the head",
          noChecks: false,
          rerunRunIds: [],
          waiting: null,
        },
  });
}

/** Saves the dependencies kanbot saw in the issue in the task record, and in the history. */
export async function recordDependencies(
  ctx: Pick<TaskContext, "store">,
  taskId: number,
  dependencies: TaskDependencyRecord,
): Promise<void> {
  await ctx.store.recordTaskFacts(taskId, { dependencies });
  await recordHistory(ctx, taskId, AUDIT_DEPENDENCIES, dependencies);
}

/** Timeline notes, oldest first: kanbot's markdown, or plain text from older records. */
export async function timeline(
  ctx: Pick<TaskContext, "store">,
  taskId: number,
): Promise<TimelineEntry[]> {
  const entries = await ctx.store.listAudit({ taskId, action: AUDIT_NOTE, limit: 50 });
  return entries
    .map((entry): TimelineEntry => {
      const detail = entry.detail as { note?: unknown; format?: unknown } | undefined;
      const text = String(detail?.note ?? "");
      return detail?.format === "markdown"
        ? { at: entry.at, markdown: text as NoteMarkdown }
        : { at: entry.at, text };
    })
    .reverse();
}

function toJson(value: object): JsonValue {
  return JSON.parse(JSON.stringify(value)) as JsonValue;
}
