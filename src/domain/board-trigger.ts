/**
 * Whether a `projects_v2_item` edit is a trigger: the issue's card sits in the trigger column of
 * the project the repository's config names (DESIGN section 5). Pure; the handler resolves the
 * item and reads the config.
 */
import type { IssueRef } from "./dependencies.js";

/** The `board` settings a card move is judged by. */
export interface BoardTriggerSettings {
  project?: number | undefined;
  statusField: string;
  triggerColumn: string;
}

/** The resolved item: its project and its single-select values by field name. */
export interface MovedCard {
  project: { owner: string; number: number };
  values: Readonly<Record<string, string>>;
}

export type CardMove =
  | { trigger: true }
  | { trigger: false; reason: "other-project" | "other-column"; column?: string | undefined };

/**
 * `board` undefined means the settings could not be read (an invalid `.github/kanbot.yml` whose
 * `board` section is broken too): then any project of the repository's owner counts, with the
 * default `Status` field and `Ready` column, so that the person who dragged the card learns that
 * the file is broken instead of nothing happening.
 */
export function classifyCardMove(
  board: BoardTriggerSettings | undefined,
  card: MovedCard,
  issue: IssueRef,
): CardMove {
  const settings = board ?? { statusField: "Status", triggerColumn: "Ready" };
  const sameOwner = card.project.owner.toLowerCase() === issue.owner.toLowerCase();
  const named = board === undefined || board.project === card.project.number;
  if (!sameOwner || !named || (board !== undefined && board.project === undefined)) {
    return { trigger: false, reason: "other-project" };
  }
  const column = card.values[settings.statusField];
  if (column?.trim().toLowerCase() !== settings.triggerColumn.trim().toLowerCase()) {
    return { trigger: false, reason: "other-column", column };
  }
  return { trigger: true };
}
