/**
 * The typed part of the task record (issue 12): what kanbot knows about a task beyond its state
 * and jobs, each fact in its own column (migration 0005_task_record). Before, these facts were
 * read back as "the newest audit entry of a kind" with casts; the audit log is history again.
 *
 * - the pull request kanbot opened (number, url, node id, base) and whether it is still a draft;
 * - the newest `kanbot` check run;
 * - the gate's last look at the head (since, recheck at, verdict, what it waits for);
 * - the progress comment's id;
 * - routing, dependencies and, while blocked, the blocker;
 * - what kanbot last wrote of the issue's view (the card's column, the comment's body);
 * - what the task spent over its whole life and when it entered its state.
 *
 * The two JSON columns (routing, dependencies) are parsed with zod, so a row this version cannot
 * read fails loudly instead of travelling on as a wrong type.
 */
import type { Selectable, Updateable } from "kysely";
import { z } from "zod";
import type { IssueRef } from "../domain/dependencies.js";
import { BLOCK_CAUSES, type TaskBlocker } from "../domain/task.js";
import type { BudgetUsed } from "../domain/types.js";
import { oneOf } from "./column-words.js";
import type { TasksTable } from "./schema.js";

/** The pull request kanbot opened for the task (its number is also `Task.prNumber`). */
export interface TaskPullRequestRecord {
  number: number;
  url: string;
  /** GraphQL node id (ready for review). */
  nodeId: string;
  /** The branch the PR targets. */
  base: string;
}

/** The newest `kanbot` check run on the task's head. */
export interface TaskCheckRunRecord {
  id: number;
  url: string | null;
}

export type TaskGateVerdict = "pending" | "passed" | "failed" | "waiting";

/**
 * The gate's last look at a head: when the wait for checks started (`since`) and when to decide
 * again if no check event arrives (`recheckAt`, the end of the no-checks wait), or null.
 */
export interface TaskGateRecord {
  headSha: string;
  since: Date;
  recheckAt: Date | null;
  verdict: TaskGateVerdict;
  reason: string;
  /** The verdict passed only because no checks appeared within the wait. */
  noChecks: boolean;
  /** Actions workflow runs re-run once by the flake guard on this head. */
  rerunRunIds: number[];
  /** While pending: what the progress comment shows the gate waits for on this head (null:
   * nothing shown). The comment is edited only when this text changes. */
  waiting: string | null;
}

/** The routing decision of the task's last start. */
export interface TaskRoutingRecord {
  agent: string;
  reason: string;
  priorityReason: string;
  /** Requests routing ignored, for the progress comment's notes. */
  notes: string[];
  /**
   * Fallback agents (issue 14 part 4): why the task's jobs now go to `Task.agent` instead of
   * `agent`; absent while they go to the routed agent.
   */
  fallbackReason?: string | undefined;
  /** Failed jobs of class task or transient in a row of `Task.agent`; absent: none. */
  agentFailures?: number | undefined;
}

/** The dependencies kanbot last saw in the issue. */
export interface TaskDependencyRecord {
  /** Open blockers. */
  blockers: IssueRef[];
  /** The dependency cycle the task is on, if any. */
  cycle: IssueRef[] | null;
  /** Body references kanbot could not look up. */
  unknown: IssueRef[];
}

/** The typed facts of a task record (see the file comment). */
export interface TaskRecordFacts {
  /** When the task entered its current state (the app's clock). */
  enteredAt: Date;
  /** Spent over the task's whole life (`used` restarts when a person starts it again). */
  spent: BudgetUsed;
  /** Whether the task's PR is (still) a draft; true until its checks first pass. */
  prDraft: boolean;
  pullRequest: TaskPullRequestRecord | undefined;
  checkRun: TaskCheckRunRecord | undefined;
  gate: TaskGateRecord | undefined;
  progressCommentId: number | undefined;
  routing: TaskRoutingRecord | undefined;
  dependencies: TaskDependencyRecord | undefined;
  /** Set while the task is blocked. */
  blocker: TaskBlocker | undefined;
  /** The board column kanbot last moved the card to (src/domain/issue-view.ts). */
  shownColumn: string | undefined;
  /** The progress comment body kanbot last wrote. */
  shownComment: string | undefined;
  /** While `needs-input`: when the question is due (then the task is blocked); else undefined. */
  questionDueAt?: Date | undefined;
}

/** Changes to the typed facts; null clears a fact. */
export interface TaskRecordChanges {
  enteredAt?: Date;
  spent?: BudgetUsed;
  prDraft?: boolean;
  /** Also sets `prNumber`. */
  pullRequest?: TaskPullRequestRecord | null;
  checkRun?: TaskCheckRunRecord | null;
  gate?: TaskGateRecord | null;
  progressCommentId?: number | null;
  routing?: TaskRoutingRecord | null;
  dependencies?: TaskDependencyRecord | null;
  blocker?: TaskBlocker | null;
  shownColumn?: string | null;
  shownComment?: string | null;
  questionDueAt?: Date | null;
}

/** The facts effects and reads record as they learn them (`JobStore.recordTaskFacts`): not
 * decisions, so they neither bump the version nor reach the audit log. */
export type TaskFactChanges = Pick<
  TaskRecordChanges,
  | "pullRequest"
  | "checkRun"
  | "gate"
  | "progressCommentId"
  | "routing"
  | "dependencies"
  | "shownColumn"
  | "shownComment"
>;

const issueRefSchema = z.object({
  owner: z.string(),
  repo: z.string(),
  number: z.number().int(),
});

export const routingSchema = z.object({
  agent: z.string(),
  reason: z.string(),
  priorityReason: z.string(),
  notes: z.array(z.string()),
  fallbackReason: z.string().optional(),
  agentFailures: z.number().int().min(0).optional(),
});

export const dependenciesSchema = z.object({
  blockers: z.array(issueRefSchema),
  cycle: z.array(issueRefSchema).nullable(),
  unknown: z.array(issueRefSchema),
});

const runIdsSchema = z.array(z.number().int());

const GATE_VERDICTS = [
  "pending",
  "passed",
  "failed",
  "waiting",
] as const satisfies readonly TaskGateVerdict[];

function parseColumn<T>(schema: z.ZodType<T>, text: string | null, column: string): T | undefined {
  if (text === null) return undefined;
  const parsed = schema.safeParse(JSON.parse(text));
  if (!parsed.success) {
    throw new Error(
      `the store holds a value in ${column} this kanbot version cannot read ` +
        `(${parsed.error.issues[0]?.message ?? "invalid"}); upgrade kanbot or repair the row`,
    );
  }
  return parsed.data;
}

/** The typed facts of a task row. */
export function toTaskRecordFacts(row: Selectable<TasksTable>): TaskRecordFacts {
  return {
    enteredAt: new Date(row.entered_at ?? row.updated_at),
    spent: {
      attempts: row.spent_attempts,
      minutes: row.spent_minutes,
      usd: row.spent_usd,
      lostLeases: row.spent_lost_leases,
    },
    prDraft: row.pr_draft !== 0,
    pullRequest:
      row.pr_number === null || row.pr_url === null || row.pr_node_id === null
        ? undefined
        : {
            number: row.pr_number,
            url: row.pr_url,
            nodeId: row.pr_node_id,
            base: row.pr_base ?? "",
          },
    checkRun:
      row.check_run_id === null ? undefined : { id: row.check_run_id, url: row.check_run_url },
    gate:
      row.gate_head_sha === null || row.gate_since === null
        ? undefined
        : {
            headSha: row.gate_head_sha,
            since: new Date(row.gate_since),
            recheckAt: row.gate_recheck_at === null ? null : new Date(row.gate_recheck_at),
            verdict: oneOf(GATE_VERDICTS, row.gate_verdict ?? "", "tasks.gate_verdict"),
            reason: row.gate_reason ?? "",
            noChecks: row.gate_no_checks !== 0,
            rerunRunIds:
              parseColumn(runIdsSchema, row.gate_rerun_run_ids, "tasks.gate_rerun_run_ids") ?? [],
            waiting: row.gate_waiting,
          },
    progressCommentId: row.progress_comment_id ?? undefined,
    routing: parseColumn(routingSchema, row.routing, "tasks.routing"),
    dependencies: parseColumn(dependenciesSchema, row.dependencies, "tasks.dependencies"),
    blocker:
      row.blocker_cause === null
        ? undefined
        : {
            cause: oneOf(BLOCK_CAUSES, row.blocker_cause, "tasks.blocker_cause"),
            message: row.blocker_message ?? "",
            error: row.blocker_error,
          },
    shownColumn: row.shown_column ?? undefined,
    shownComment: row.shown_comment ?? undefined,
    questionDueAt: row.question_due_at == null ? undefined : new Date(Number(row.question_due_at)),
  };
}

/** The columns of typed fact changes. */
export function taskRecordColumns(changes: TaskRecordChanges): Updateable<TasksTable> {
  const columns: Updateable<TasksTable> = {};
  if (changes.enteredAt !== undefined) columns.entered_at = changes.enteredAt.getTime();
  if (changes.spent !== undefined) {
    columns.spent_attempts = changes.spent.attempts;
    columns.spent_minutes = changes.spent.minutes;
    columns.spent_usd = changes.spent.usd;
    columns.spent_lost_leases = changes.spent.lostLeases;
  }
  if (changes.prDraft !== undefined) columns.pr_draft = changes.prDraft ? 1 : 0;
  if (changes.pullRequest !== undefined) {
    const pr = changes.pullRequest;
    if (pr !== null) columns.pr_number = pr.number;
    columns.pr_url = pr?.url ?? null;
    columns.pr_node_id = pr?.nodeId ?? null;
    columns.pr_base = pr?.base ?? null;
  }
  if (changes.checkRun !== undefined) {
    columns.check_run_id = changes.checkRun?.id ?? null;
    columns.check_run_url = changes.checkRun?.url ?? null;
  }
  if (changes.gate !== undefined) {
    const gate = changes.gate;
    columns.gate_head_sha = gate?.headSha ?? null;
    columns.gate_since = gate?.since.getTime() ?? null;
    columns.gate_recheck_at = gate?.recheckAt?.getTime() ?? null;
    columns.gate_verdict = gate?.verdict ?? null;
    columns.gate_reason = gate?.reason ?? null;
    columns.gate_no_checks = gate?.noChecks === true ? 1 : 0;
    columns.gate_rerun_run_ids = JSON.stringify(gate?.rerunRunIds ?? []);
    columns.gate_waiting = gate?.waiting ?? null;
  }
  if (changes.progressCommentId !== undefined) {
    columns.progress_comment_id = changes.progressCommentId;
  }
  if (changes.routing !== undefined) {
    columns.routing = changes.routing === null ? null : JSON.stringify(changes.routing);
  }
  if (changes.dependencies !== undefined) {
    columns.dependencies =
      changes.dependencies === null ? null : JSON.stringify(changes.dependencies);
  }
  if (changes.blocker !== undefined) {
    columns.blocker_cause = changes.blocker?.cause ?? null;
    columns.blocker_message = changes.blocker?.message ?? null;
    columns.blocker_error = changes.blocker?.error ?? null;
  }
  if (changes.shownColumn !== undefined) columns.shown_column = changes.shownColumn;
  if (changes.shownComment !== undefined) columns.shown_comment = changes.shownComment;
  if (changes.questionDueAt !== undefined) {
    columns.question_due_at = changes.questionDueAt?.getTime() ?? null;
  }
  return columns;
}
