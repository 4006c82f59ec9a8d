/**
 * The issue's GitHub view of a task (issue 12): the view is computed from the task record by
 * `issueView` (src/domain/issue-view.ts), compared with what GitHub shows (the labels the event
 * saw, the column and comment kanbot last wrote, remembered in the task record), and only the
 * difference is written: labels, the card, the progress comment. Every transition's `set-label`,
 * `update-board` and `update-progress-comment` effect lands here; the first one writes what
 * changed, the rest find nothing left to write.
 */
import { issueView, issueViewWrites } from "../../domain/issue-view.js";
import type { IssueComment, IssueFacts } from "../../github/port.js";
import type { RepoConfig } from "../../config/repo-config.js";
import type { Task } from "../../store/index.js";
import { labelNamesOf } from "../repo-config.js";
import type { TaskContext } from "../context.js";
import { moveCard, type BoardLookup } from "./board.js";
import { writeLabels } from "./labels.js";
import { progressView, writeProgressComment } from "./progress-comment.js";

export interface ShowIssueViewOptions {
  config: RepoConfig;
  /** The issue as the event saw it: its labels are brought to the view (and the card, with a
   * `board`). Without it only the progress comment is written. */
  issue?: IssueFacts | undefined;
  board?: BoardLookup | undefined;
  /** The issue's comments, when the caller already listed them (finds the comment). */
  comments?: readonly IssueComment[] | undefined;
  /** Write the comment even if kanbot wrote the same body last (`/kanbot status`). */
  force?: boolean;
  /** Leave the comment alone (labels and card only). */
  comment?: false;
}

/** Brings the issue's view of `task` (as the store holds it now) up to date on GitHub. */
export async function showIssueView(
  ctx: TaskContext,
  task: Task,
  options: ShowIssueViewOptions,
): Promise<void> {
  // The record as the store holds it now: the caller's copy may predate facts effects recorded.
  const record = (await ctx.store.getTask(task.id)) ?? task;
  const { config, issue, board } = options;
  const names = labelNamesOf(config);
  const view = issueView({
    state: record.state,
    names,
    columns:
      issue === undefined || board === undefined || config.board.project === undefined
        ? undefined
        : config.board.columns,
    progress: await progressView(ctx, record, config),
  });
  const writes = issueViewWrites(
    view,
    {
      labels: issue?.labels,
      column: record.shownColumn,
      comment:
        options.force === true || options.comment === false ? undefined : record.shownComment,
    },
    names,
  );
  if (writes.labels !== null && issue !== undefined) {
    await writeLabels(ctx, issue, writes.labels, writes.labels.definition);
  }
  if (writes.column !== null && issue !== undefined && board !== undefined) {
    let moved = await moveCard(ctx, board, config, issue, {
      column: writes.column,
      state: record.state,
    });
    // A board without a "Needs input" column shows such a task In progress (the running column).
    const fallback = fallbackColumn(record.state, config);
    if (!moved && fallback !== undefined && fallback !== writes.column) {
      moved = await moveCard(ctx, board, config, issue, { column: fallback, state: record.state });
    }
    if (moved) await ctx.store.recordTaskFacts(record.id, { shownColumn: writes.column });
  }
  if (writes.comment !== null && options.comment !== false) {
    await writeProgressComment(ctx, record, writes.comment, options.comments);
    await ctx.store.recordTaskFacts(record.id, { shownComment: writes.comment });
  }
}

/** The column a state falls back to when the board lacks its own: `needs-input` -> running's. */
function fallbackColumn(state: Task["state"], config: RepoConfig): string | undefined {
  return state === "needs-input" ? config.board.columns.running : undefined;
}
