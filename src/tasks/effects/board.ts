/**
 * The board (an organisation's Projects v2 project named by `board.project`): find the issue's
 * item, adding it when absent, and set its Status field to the state's column. A board, field
 * or column that does not exist is logged and skipped, never fatal: labels carry the state too.
 */
import type { RepoConfig } from "../../config/repo-config.js";
import type { IssueFacts, ProjectBoard, ProjectItem } from "../../github/port.js";
import type { TaskState } from "../../domain/types.js";
import type { TaskContext } from "../context.js";

/**
 * Looks each board and item up once per event. A board may come from the process's cache of
 * boards (src/github/project-cache.ts); `refresh` asks GitHub once per event when the cached
 * board lacks a field or column the config names.
 */
export class BoardLookup {
  readonly #boards = new Map<string, Promise<ProjectBoard | undefined>>();
  readonly #refreshed = new Set<string>();
  readonly #items = new Map<string, Promise<ProjectItem | undefined>>();

  board(ctx: TaskContext, owner: string, number: number): Promise<ProjectBoard | undefined> {
    const key = `${owner.toLowerCase()}/${number}`;
    let found = this.#boards.get(key);
    if (found === undefined) {
      found = ctx.github.findProject(owner, number);
      this.#boards.set(key, found);
    }
    return found;
  }

  /**
   * The board read from GitHub (not the cache), once per event; undefined when it was already
   * read fresh in this event (nothing new to learn).
   */
  refresh(ctx: TaskContext, owner: string, number: number): Promise<ProjectBoard | undefined> {
    const key = `${owner.toLowerCase()}/${number}`;
    if (this.#refreshed.has(key)) return Promise.resolve(undefined);
    this.#refreshed.add(key);
    const found = ctx.github.findProject(owner, number, { fresh: true });
    this.#boards.set(key, found);
    return found;
  }

  item(ctx: TaskContext, board: ProjectBoard, nodeId: string): Promise<ProjectItem | undefined> {
    const key = `${board.id}:${nodeId}`;
    let found = this.#items.get(key);
    if (found === undefined) {
      found = ctx.github.findProjectItem(board, nodeId);
      this.#items.set(key, found);
    }
    return found;
  }

  remember(board: ProjectBoard, nodeId: string, item: ProjectItem): void {
    this.#items.set(`${board.id}:${nodeId}`, Promise.resolve(item));
  }
}

/** The board the config names, or undefined (none configured, or the app cannot see it). */
export async function configuredBoard(
  ctx: TaskContext,
  lookup: BoardLookup,
  config: RepoConfig,
  issue: IssueFacts,
): Promise<ProjectBoard | undefined> {
  const number = config.board.project;
  if (number === undefined) return undefined;
  const board = await lookup.board(ctx, issue.ref.owner, number);
  if (board === undefined) {
    ctx.log.warn(
      { owner: issue.ref.owner, project: number },
      "board named in .github/kanbot.yml not found or not visible to the app; board update skipped",
    );
  }
  return board;
}

/** The issue's value of the board's Priority field, when the issue is on the board. */
export async function boardPriority(
  ctx: TaskContext,
  lookup: BoardLookup,
  config: RepoConfig,
  issue: IssueFacts,
): Promise<string | undefined> {
  const board = await configuredBoard(ctx, lookup, config, issue);
  if (board === undefined) return undefined;
  const item = await lookup.item(ctx, board, issue.nodeId);
  return item?.values[config.board.priorityField];
}

/**
 * What moving the issue's card to `column` takes: `missing` when the board, its status field or
 * the column is missing (warned, nothing written), `shown` when the card shows the column already,
 * else the single-select value to `set` (the issue is added to the board first when absent: that
 * is the one write this makes).
 */
export type CardMove =
  | { kind: "missing" }
  | { kind: "shown" }
  | {
      kind: "set";
      board: ProjectBoard;
      item: ProjectItem;
      fieldId: string;
      fieldName: string;
      optionId: string;
      optionName: string;
    };

export async function planCardMove(
  ctx: TaskContext,
  lookup: BoardLookup,
  config: RepoConfig,
  issue: IssueFacts,
  target: { column: string; state: TaskState },
): Promise<CardMove> {
  const { column, state } = target;
  let board = await configuredBoard(ctx, lookup, config, issue);
  if (board === undefined) return { kind: "missing" };
  const fieldName = config.board.statusField;
  if (board.cached === true && statusOption(board, fieldName, column) === undefined) {
    // A cached board may be from before the field or column was added: ask GitHub.
    board = (await lookup.refresh(ctx, board.owner, board.number)) ?? board;
  }
  const field = board.fields.find((candidate) => sameName(candidate.name, fieldName));
  if (field === undefined) {
    ctx.log.warn(
      { project: board.number, field: fieldName },
      "board has no such status field; board update skipped",
    );
    return { kind: "missing" };
  }
  const option = field.options.find((candidate) => sameName(candidate.name, column));
  if (option === undefined) {
    ctx.log.warn(
      { project: board.number, field: field.name, column, state },
      "board has no column for this state; board update skipped",
    );
    return { kind: "missing" };
  }
  let item = await lookup.item(ctx, board, issue.nodeId);
  if (item === undefined) {
    item = await ctx.github.addProjectItem(board, issue.nodeId);
    lookup.remember(board, issue.nodeId, item);
    ctx.log.info({ project: board.number, issue: issue.ref }, "issue added to the board");
  }
  if (sameName(item.values[field.name] ?? "", option.name)) return { kind: "shown" };
  return {
    kind: "set",
    board,
    item,
    fieldId: field.id,
    fieldName: field.name,
    optionId: option.id,
    optionName: option.name,
  };
}

/** Remembers that the card shows the move's column (once it was written). */
export function rememberCardMove(
  lookup: BoardLookup,
  issue: IssueFacts,
  move: CardMove & { kind: "set" },
): void {
  lookup.remember(move.board, issue.nodeId, {
    ...move.item,
    values: { ...move.item.values, [move.fieldName]: move.optionName },
  });
}

/**
 * Moves the issue's card to `column` (adding the issue to the board first when it is not on it).
 * True when the card shows `column` afterwards; false when the board, its status field or the
 * column is missing (warned, nothing written).
 */
export async function moveCard(
  ctx: TaskContext,
  lookup: BoardLookup,
  config: RepoConfig,
  issue: IssueFacts,
  target: { column: string; state: TaskState },
): Promise<boolean> {
  const move = await planCardMove(ctx, lookup, config, issue, target);
  if (move.kind !== "set") return move.kind === "shown";
  await ctx.github.setSingleSelect(move.board, move.item.id, move.fieldId, move.optionId);
  rememberCardMove(lookup, issue, move);
  return true;
}

/** The option named `column` of the board's field `fieldName`, if both exist. */
function statusOption(
  board: ProjectBoard,
  fieldName: string,
  column: string,
): { id: string; name: string } | undefined {
  const field = board.fields.find((candidate) => sameName(candidate.name, fieldName));
  return field?.options.find((candidate) => sameName(candidate.name, column));
}

function sameName(a: string, b: string): boolean {
  return a.trim().toLowerCase() === b.trim().toLowerCase();
}
