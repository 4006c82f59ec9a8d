/**
 * Review feedback as `revise` job instructions (issue 5 item 4): a `pull_request_review` with
 * changes requested (its body and each line comment) or a `/kanbot <instructions>` comment on
 * the PR, from a person with the required permission. kanbot's own comments never count.
 *
 * Choices where the issue is silent:
 * - Line comments by people below the required permission (replies in a thread) are left out
 *   and counted, never passed on as instructions.
 * - A changes-requested review with no text at all is ignored (`empty`): the agent would have
 *   nothing to act on; the handler can ask the reviewer to say what to change.
 * - Hidden HTML comments are removed from every text first (DESIGN section 7).
 * - Comments are ordered by path, then line (outdated comments, with only an original line, by
 *   that line), then id; comments with no line at all (file-level) come first in their file.
 */

import { parseCommand } from "./commands.js";
import { cleanText, trimStart } from "./fix-bundle.js";
import { stripHtmlComments } from "./issue-text.js";
import { hasAtLeast, type PermissionLevel } from "./permission.js";
import type { ReviseSource } from "./task.js";
import type { Permission } from "./types.js";

/** Who may steer the agent: a predicate, or each author's permission and the minimum. */
export type Trust =
  | { isTrusted: (login: string) => boolean }
  | { permissions: Readonly<Record<string, PermissionLevel>>; minimum: Permission };

/** One line comment of a review. */
export interface ReviewLineComment {
  id: number;
  path: string;
  /** The line on the current diff; null when the code it was on is gone (outdated). */
  line: number | null;
  /** The line on the diff the comment was made on. */
  originalLine?: number | null | undefined;
  /** The first line of a multi-line comment. */
  startLine?: number | null | undefined;
  side?: "LEFT" | "RIGHT" | null | undefined;
  body: string;
  author: string;
}

/** A submitted review (`pull_request_review.submitted`). */
export interface ReviewFeedback {
  type: "review";
  /** `changes_requested` (webhook) or `CHANGES_REQUESTED` (GraphQL); others are ignored. */
  state: string;
  body: string | null;
  author: string;
  comments: readonly ReviewLineComment[];
}

/** A comment on the PR (`issue_comment.created` on a pull request). */
export interface CommentFeedback {
  type: "comment";
  body: string;
  author: string;
}

export type Feedback = ReviewFeedback | CommentFeedback;

export interface ReviseLimits {
  /** The review body or command text. Default 8000 characters. */
  body: number;
  /** One line comment. Default 2000 characters. */
  comment: number;
  /** Line comments passed on. Default 50. */
  comments: number;
  /** The whole instructions. Default 24000 characters. */
  total: number;
}

export const DEFAULT_REVISE_LIMITS: ReviseLimits = {
  body: 8000,
  comment: 2000,
  comments: 50,
  total: 24000,
};

export interface ReviseContext {
  /** kanbot's bot login (`kanbot[bot]`); compared case-insensitively. */
  botLogin: string;
  trust: Trust;
  limits?: Partial<ReviseLimits> | undefined;
}

export type ReviseIgnoreCode =
  /** kanbot wrote it. */
  | "own"
  /** The author is below the required permission. */
  | "untrusted"
  /** A review that does not request changes. */
  | "not-changes-requested"
  /** A comment with no `/kanbot <instructions>` (or another command, handled elsewhere). */
  | "no-instructions"
  /** Changes requested with no text to act on. */
  | "empty";

export type ReviseDecision =
  | {
      outcome: "revise";
      source: ReviseSource;
      /** The person who asked. */
      requestedBy: string;
      /** The `revise` job's instructions (for `revise-requested`). */
      instructions: string;
      /** Line comments left out because their authors are not trusted. */
      untrustedComments: number;
    }
  | { outcome: "ignored"; code: ReviseIgnoreCode; reason: string };

/** Decides whether `feedback` starts a `revise` job, and with which instructions. */
export function planRevise(feedback: Feedback, context: ReviseContext): ReviseDecision {
  const limits = { ...DEFAULT_REVISE_LIMITS, ...context.limits };
  const isBot = (login: string): boolean => login.toLowerCase() === context.botLogin.toLowerCase();
  const trusted = (login: string): boolean => !isBot(login) && isTrusted(context.trust, login);

  if (isBot(feedback.author)) return ignored("own", "kanbot's own comments never start a job");
  if (feedback.type === "comment") {
    const command = parseCommand(feedback.body);
    if (command?.kind !== "instructions") {
      return ignored("no-instructions", "the comment has no `/kanbot <instructions>`");
    }
    if (!trusted(feedback.author)) return untrusted(feedback.author, context.trust);
    const text = clean(command.text, limits.body);
    return {
      outcome: "revise",
      source: "command",
      requestedBy: feedback.author,
      instructions: fit(
        `@${feedback.author} asked for changes on the pull request with \`/kanbot\`:\n\n${quote(text)}`,
        limits.total,
      ),
      untrustedComments: 0,
    };
  }

  if (feedback.state.toLowerCase() !== "changes_requested") {
    return ignored(
      "not-changes-requested",
      `a review in state ${feedback.state} does not request changes`,
    );
  }
  if (!trusted(feedback.author)) return untrusted(feedback.author, context.trust);

  const body = clean(feedback.body ?? "", limits.body);
  const fromTrusted = feedback.comments.filter((comment) => trusted(comment.author));
  const untrustedComments = feedback.comments.filter(
    (comment) => !isBot(comment.author) && !trusted(comment.author),
  ).length;
  const comments = sortComments(fromTrusted)
    .map((comment) => ({ comment, text: clean(comment.body, limits.comment) }))
    .filter(({ text }) => text !== "");
  if (body === "" && comments.length === 0) {
    return ignored("empty", "the review requests changes but says nothing to act on");
  }

  const sections = [`@${feedback.author} requested changes on the pull request.`];
  if (body !== "") sections.push(`Review:\n\n${quote(body)}`);
  const shown = comments.slice(0, Math.max(0, limits.comments));
  if (shown.length > 0) {
    const lines = shown.map(({ comment, text }, index) =>
      [`${index + 1}. ${where(comment)} (@${comment.author}):`, indent(quote(text))].join("\n"),
    );
    const more = comments.length - shown.length;
    if (more > 0) lines.push(`… and ${more} more comment${more === 1 ? "" : "s"} on the diff.`);
    sections.push(`Comments on the diff:\n\n${lines.join("\n\n")}`);
  }
  return {
    outcome: "revise",
    source: "review",
    requestedBy: feedback.author,
    instructions: fit(sections.join("\n\n"), limits.total),
    untrustedComments,
  };
}

/** Orders line comments by path, then line, then id. */
export function sortComments<C extends ReviewLineComment>(comments: readonly C[]): C[] {
  const lineOf = (comment: C): number =>
    comment.line ?? comment.originalLine ?? Number.NEGATIVE_INFINITY;
  return [...comments].sort(
    (a, b) =>
      (a.path < b.path ? -1 : a.path > b.path ? 1 : 0) || lineOf(a) - lineOf(b) || a.id - b.id,
  );
}

function isTrusted(trust: Trust, login: string): boolean {
  if ("isTrusted" in trust) return trust.isTrusted(login);
  const entry = Object.entries(trust.permissions).find(
    ([name]) => name.toLowerCase() === login.toLowerCase(),
  );
  return entry !== undefined && hasAtLeast(entry[1], trust.minimum);
}

function untrusted(author: string, trust: Trust): ReviseDecision {
  const needed = "minimum" in trust ? `${trust.minimum} permission` : "the required permission";
  return ignored("untrusted", `@${author} does not have ${needed} on the repository`);
}

function ignored(code: ReviseIgnoreCode, reason: string): ReviseDecision {
  return { outcome: "ignored", code, reason };
}

function where(comment: ReviewLineComment): string {
  const side = comment.side === "LEFT" ? ", old side" : "";
  if (comment.line !== null) {
    const start = comment.startLine ?? null;
    const lines =
      start !== null && start !== comment.line
        ? `lines ${start}-${comment.line}`
        : `line ${comment.line}`;
    return `${comment.path} ${lines}${side}`;
  }
  if (comment.originalLine != null) {
    return `${comment.path} line ${comment.originalLine} of an earlier version (outdated)${side}`;
  }
  return `${comment.path} (whole file)`;
}

function clean(text: string, limit: number): string {
  return trimStart(cleanText(stripHtmlComments(text)).trim(), limit);
}

function quote(text: string): string {
  return text
    .split("\n")
    .map((line) => (line === "" ? ">" : `> ${line}`))
    .join("\n");
}

function indent(text: string): string {
  return text
    .split("\n")
    .map((line) => `   ${line}`)
    .join("\n");
}

function fit(text: string, limit: number): string {
  return trimStart(text, limit);
}
