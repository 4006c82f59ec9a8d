/**
 * The issue's GitHub view of a task (issue 12): the view is computed from the task record by
 * `issueView` (src/domain/issue-view.ts), compared with what GitHub shows (the labels the event
 * saw, the column and comment kanbot last wrote, remembered in the task record), and only the
 * difference is written: labels, the card, the progress comment. Every transition's `set-label`,
 * `update-board` and `update-progress-comment` effect lands here; the first one writes what
 * changed, the rest find nothing left to write.
 *
 * Coalesced (issue 15): GitHub's secondary limit counts content-generating *requests*, so a view
 * change that would take two or more REST writes (a label out, a label in, the card, the comment)
 * is written as ONE GraphQL request of aliased mutations (`writeIssueView`, the `WriteIssueView`
 * document): a state change costs one request instead of four. Steps:
 * 1. the diff (pure); 2. the one-off writes a part may need first, as before: the state label
 * created in the repository (REST, once per repository), the issue added to the board
 * (`AddProjectItem`), the progress comment created (REST, the first time); 3. the node ids (label
 * ids listed once per repository, the comment's read once; ./node-ids.ts); 4. one request for
 * every part whose ids are known; a part whose id is unknown (a label GitHub does not list, a
 * comment it no longer has) and a change of one part alone take the REST calls of before.
 */
import { issueView, issueViewWrites } from "../../domain/issue-view.js";
import type { LabelChange } from "../../domain/labels.js";
import type { IssueComment, IssueFacts, IssueViewWrite } from "../../github/port.js";
import type { RepoConfig } from "../../config/repo-config.js";
import type { Task } from "../../store/index.js";
import { labelNamesOf } from "../repo-config.js";
import type { TaskContext } from "../context.js";
import { planCardMove, rememberCardMove, type BoardLookup, type CardMove } from "./board.js";
import { ensureStateLabel, labelsWritten, writeLabels } from "./labels.js";
import { commentNodeId, labelNodeIds, rememberCommentNodeId } from "./node-ids.js";
import {
  findProgressCommentOf,
  issueOfTask,
  progressView,
  writeProgressComment,
} from "./progress-comment.js";

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
  /**
   * Write a change of two or more parts in one request (`writeIssueView`); default
   * {@link COALESCED_VIEW_WRITES_BY_DEFAULT}.
   */
  coalesce?: boolean;
}

/**
 * Whether `showIssueView` coalesces when its caller does not say: yes (issue 15 part 3). The
 * strict-mock handler and pull-request tests declare the one request (`ghp.writeIssueView`,
 * `ghp.labelNodeIds`, `ghp.commentNodeId` in test/helpers).
 */
export const COALESCED_VIEW_WRITES_BY_DEFAULT = true;

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
  const labels = writes.labels !== null && issue !== undefined ? writes.labels : null;
  if (labels !== null && issue !== undefined) {
    await ensureStateLabel(ctx, issue, labels, labels.definition);
  }

  let card: (CardMove & { kind: "set" }) | undefined;
  if (writes.column !== null && issue !== undefined && board !== undefined) {
    const target = { column: writes.column, state: record.state };
    let move = await planCardMove(ctx, board, config, issue, target);
    // A board without a "Needs input" column shows such a task In progress (the running column).
    const fallback = fallbackColumn(record.state, config);
    if (move.kind === "missing" && fallback !== undefined && fallback !== writes.column) {
      move = await planCardMove(ctx, board, config, issue, { ...target, column: fallback });
    }
    if (move.kind === "shown") {
      await ctx.store.recordTaskFacts(record.id, { shownColumn: writes.column });
    }
    if (move.kind === "set") card = move;
  }

  let comment: { id: number; nodeId?: string | undefined } | undefined;
  if (writes.comment !== null && options.comment !== false) {
    comment = await findProgressCommentOf(ctx, record, options.comments);
    if (comment === undefined) {
      // The first time: created by REST (GraphQL has no "comment on an issue" for it to save).
      const created = await writeProgressComment(ctx, record, writes.comment, []);
      rememberCommentNodeId(ctx, issueOfTask(record), created.id, created.nodeId);
      await ctx.store.recordTaskFacts(record.id, { shownComment: writes.comment });
    }
  }

  const restWrites =
    (labels === null ? 0 : labels.remove.length + (labels.add.length > 0 ? 1 : 0)) +
    (card === undefined ? 0 : 1) +
    (comment === undefined ? 0 : 1);
  const coalesced =
    (options.coalesce ?? COALESCED_VIEW_WRITES_BY_DEFAULT) && restWrites >= 2 && issue !== undefined
      ? await coalescedWrite(ctx, record, issue, {
          labels,
          card,
          comment:
            comment === undefined || writes.comment === null
              ? undefined
              : { ...comment, body: writes.comment },
        })
      : undefined;
  if (coalesced !== undefined && issue !== undefined) {
    await ctx.github.writeIssueView(issue.ref, coalesced.write);
    ctx.log.debug(
      { issue: issue.ref, parts: coalesced.parts },
      "issue view written in one request",
    );
  }
  const done = coalesced?.parts ?? [];

  if (labels !== null && issue !== undefined) {
    if (done.includes("labels")) labelsWritten(ctx, issue, labels);
    else await writeLabels(ctx, issue, labels, undefined);
  }
  if (card !== undefined && issue !== undefined && board !== undefined) {
    if (!done.includes("card")) {
      await ctx.github.setSingleSelect(card.board, card.item.id, card.fieldId, card.optionId);
    }
    rememberCardMove(board, issue, card);
    await ctx.store.recordTaskFacts(record.id, { shownColumn: writes.column ?? undefined });
  }
  if (comment !== undefined && writes.comment !== null) {
    if (!done.includes("comment")) {
      await ctx.github.updateComment(issueOfTask(record), comment.id, writes.comment);
    }
    await ctx.store.recordTaskFacts(record.id, { shownComment: writes.comment });
  }
}

type ViewPart = "labels" | "card" | "comment";

/**
 * The one request for the parts whose node ids are known (labels listed once per repository,
 * the comment's read once); undefined when fewer than two parts' REST writes would be saved.
 */
async function coalescedWrite(
  ctx: TaskContext,
  record: Task,
  issue: IssueFacts,
  parts: {
    labels: LabelChange | null;
    card: (CardMove & { kind: "set" }) | undefined;
    comment: { id: number; nodeId?: string | undefined; body: string } | undefined;
  },
): Promise<{ write: IssueViewWrite; parts: ViewPart[] } | undefined> {
  const write: IssueViewWrite = { issueNodeId: issue.nodeId, removeLabelIds: [], addLabelIds: [] };
  const done: ViewPart[] = [];
  let saved = 0;
  if (parts.labels !== null) {
    const { remove, add } = parts.labels;
    const ids = await labelNodeIds(ctx, issue.ref, [...remove, ...add]);
    if (ids === undefined) {
      ctx.log.info({ issue: issue.ref, ...parts.labels }, "label node id unknown; labels by REST");
    } else {
      write.removeLabelIds = ids.slice(0, remove.length);
      write.addLabelIds = ids.slice(remove.length);
      done.push("labels");
      saved += remove.length + (add.length > 0 ? 1 : 0);
    }
  }
  if (parts.card !== undefined) {
    const { board, item, fieldId, optionId } = parts.card;
    write.card = { board, itemId: item.id, fieldId, optionId };
    done.push("card");
    saved += 1;
  }
  if (parts.comment !== undefined) {
    const { id, nodeId, body } = parts.comment;
    const known = await commentNodeId(ctx, issueOfTask(record), id, nodeId);
    if (known === undefined) {
      ctx.log.info({ issue: issue.ref, commentId: id }, "comment node id unknown; comment by REST");
    } else {
      write.comment = { nodeId: known, body };
      done.push("comment");
      saved += 1;
    }
  }
  return saved >= 2 ? { write, parts: done } : undefined;
}

/** The column a state falls back to when the board lacks its own: `needs-input` -> running's. */
function fallbackColumn(state: Task["state"], config: RepoConfig): string | undefined {
  return state === "needs-input" ? config.board.columns.running : undefined;
}
