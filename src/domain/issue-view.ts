/**
 * The issue's GitHub view of a task, computed (issue 12): one pure function gives what the issue
 * should show (its state label, its card's column, the progress comment's body), and one gives
 * the writes that take GitHub from what it shows now (the labels it carries, the column and
 * comment kanbot last wrote) to that view. The effect (src/tasks/effects/issue-view.ts) only
 * carries the writes out, so a budgeted writer can sit on this seam: one view in, one diff out.
 */
import {
  planLabelChange,
  stateLabelDefinition,
  type LabelChange,
  type LabelDefinition,
  type LabelNames,
} from "./labels.js";
import { renderProgressComment, type ProgressView } from "./progress-comment.js";
import type { TaskState } from "./types.js";

/** What the issue should show for a task. */
export interface IssueView {
  state: TaskState;
  /** The state's label, with the colour and description it is created with; none when canceled. */
  label: LabelDefinition | undefined;
  /** The board column of the state; null when the card stays where it is (no board, canceled). */
  column: string | null;
  /** The progress comment's body. */
  comment: string;
}

/** What GitHub shows now, as far as kanbot knows it. */
export interface ShownIssueView {
  /** The issue's labels (from the event, or a read); undefined: not known, labels left alone. */
  labels: readonly string[] | undefined;
  /** The column kanbot last moved the card to; undefined: never, or not remembered. */
  column: string | undefined;
  /** The comment body kanbot last wrote; undefined: never, or not remembered. */
  comment: string | undefined;
}

/** The writes a view needs; each part is null when GitHub already shows it. */
export interface IssueViewWrites {
  labels: (LabelChange & { definition: LabelDefinition | undefined }) | null;
  column: string | null;
  comment: string | null;
}

/** The view of a task in `state`: `columns` are the board's (undefined: no board). */
export function issueView(input: {
  state: TaskState;
  names: LabelNames;
  columns: Readonly<Partial<Record<TaskState, string>>> | undefined;
  progress: ProgressView;
}): IssueView {
  return {
    state: input.state,
    label: stateLabelDefinition(input.state, input.names),
    column: input.state === "canceled" ? null : (input.columns?.[input.state] ?? null),
    comment: renderProgressComment(input.progress),
  };
}

/** The writes that take GitHub from `shown` to `view`. */
export function issueViewWrites(
  view: IssueView,
  shown: ShownIssueView,
  names: LabelNames,
): IssueViewWrites {
  const change =
    shown.labels === undefined ? undefined : planLabelChange(shown.labels, view.state, names);
  return {
    labels:
      change === undefined || (change.add.length === 0 && change.remove.length === 0)
        ? null
        : { ...change, definition: view.label },
    column: view.column !== null && view.column !== shown.column ? view.column : null,
    comment: view.comment !== shown.comment ? view.comment : null,
  };
}
