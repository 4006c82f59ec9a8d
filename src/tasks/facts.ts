/**
 * Facts about a task that the store row does not hold, kept as audit entries (the store's
 * audit trail of decisions): the routing decision, the dependencies last seen, why the task is
 * blocked, the timeline notes and the progress comment's id. The newest entry of each wins.
 */
import type { IssueRef } from "../domain/dependencies.js";
import type { NoteMarkdown, TimelineEntry } from "../domain/progress-comment.js";
import type { JsonValue } from "../store/index.js";
import type { TaskContext } from "./context.js";

export const AUDIT_NOTE = "task.note";
export const AUDIT_ROUTED = "task.routed";
export const AUDIT_DEPENDENCIES = "task.dependencies";
export const AUDIT_BLOCKED = "task.blocked";
export const AUDIT_PROGRESS_COMMENT = "progress.comment";
export const AUDIT_PULL_REQUEST = "task.pull-request";
export const AUDIT_GATE = "task.gate";

/** The task's PR and the newest `kanbot` check run, for the progress comment's links. */
export interface PullRequestFacts {
  number: number;
  url: string;
  /** GraphQL node id (ready for review). */
  nodeId: string;
  /** The branch the PR targets. */
  base: string;
  checkRunId: number | null;
  checkRunUrl: string | null;
}

/**
 * The gate's last look at a head: when the wait for checks started (`since`) and when to decide
 * again if no check event arrives (`recheckAt`, the end of the no-checks wait), or null.
 */
export interface GateFacts {
  headSha: string;
  since: string;
  recheckAt: string | null;
  verdict: "pending" | "passed" | "failed" | "waiting";
  reason: string;
  /** Actions workflow runs re-run once by the flake guard on this head. */
  rerunRunIds: number[];
  /** While pending: what the progress comment shows the gate waits for on this head (absent or
   * null: nothing shown). The comment is edited only when this text changes. */
  waiting?: string | null;
}

export interface RoutedFacts {
  agent: string;
  reason: string;
  priorityReason: string;
  /** Requests routing ignored, for the progress comment's notes. */
  notes: string[];
}

export interface DependencyFacts {
  /** Open blockers. */
  blockers: IssueRef[];
  /** The dependency cycle the task is on, if any. */
  cycle: IssueRef[] | null;
  /** Body references kanbot could not look up. */
  unknown: IssueRef[];
}

export interface BlockedFacts {
  message: string;
  error: string | null;
}

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
  await recordFacts(ctx, taskId, AUDIT_NOTE, { note, format: "markdown" }, actor);
}

export async function recordFacts(
  ctx: Pick<TaskContext, "store">,
  taskId: number,
  action: string,
  detail:
    | RoutedFacts
    | DependencyFacts
    | BlockedFacts
    | PullRequestFacts
    | GateFacts
    | NoteFacts
    | { commentId: number },
  actor = "kanbot",
): Promise<void> {
  await ctx.store.audit({ taskId, actor, action, detail: toJson(detail) });
}

/** An audit entry of `detail`, for recording with a transition (`commitTransition`). */
export function factsEntry(
  action: string,
  detail: RoutedFacts | DependencyFacts | BlockedFacts | NoteFacts,
): { action: string; detail: JsonValue } {
  return { action, detail: toJson(detail) };
}

async function latest(
  ctx: Pick<TaskContext, "store">,
  taskId: number,
  action: string,
): Promise<unknown> {
  const [entry] = await ctx.store.listAudit({ taskId, action, limit: 1 });
  return entry?.detail;
}

export async function latestRouting(
  ctx: Pick<TaskContext, "store">,
  taskId: number,
): Promise<RoutedFacts | undefined> {
  return (await latest(ctx, taskId, AUDIT_ROUTED)) as RoutedFacts | undefined;
}

export async function latestDependencies(
  ctx: Pick<TaskContext, "store">,
  taskId: number,
): Promise<DependencyFacts | undefined> {
  return (await latest(ctx, taskId, AUDIT_DEPENDENCIES)) as DependencyFacts | undefined;
}

export async function latestBlocked(
  ctx: Pick<TaskContext, "store">,
  taskId: number,
): Promise<BlockedFacts | undefined> {
  return (await latest(ctx, taskId, AUDIT_BLOCKED)) as BlockedFacts | undefined;
}

export async function progressCommentId(
  ctx: Pick<TaskContext, "store">,
  taskId: number,
): Promise<number | undefined> {
  const detail = (await latest(ctx, taskId, AUDIT_PROGRESS_COMMENT)) as
    { commentId?: number } | undefined;
  return detail?.commentId;
}

export async function latestPullRequest(
  ctx: Pick<TaskContext, "store">,
  taskId: number,
): Promise<PullRequestFacts | undefined> {
  return (await latest(ctx, taskId, AUDIT_PULL_REQUEST)) as PullRequestFacts | undefined;
}

export async function latestGate(
  ctx: Pick<TaskContext, "store">,
  taskId: number,
): Promise<GateFacts | undefined> {
  return (await latest(ctx, taskId, AUDIT_GATE)) as GateFacts | undefined;
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
