/**
 * The issue text stored for the agent's prompt: the body without hidden HTML comments, then the
 * comments of people who hold at least the configured permission (hidden comments stripped
 * too). Comments from anyone below that level, and from bots (kanbot included), never enter it.
 *
 * Every piece is capped at GitHub's own limit (65,536 characters) and loses its invisible
 * characters before it is stored (`src/domain/untrusted-text.ts`); the whole is capped at
 * `ISSUE_THREAD_LIMIT`. A cut leaves a visible note.
 */
import type { IssueComment, IssueFacts } from "../github/port.js";
import { stripHtmlComments } from "../domain/issue-text.js";
import { capText, ISSUE_THREAD_LIMIT, storedIssueText } from "../domain/untrusted-text.js";
import { hasAtLeast, type PermissionLevel } from "../domain/permission.js";
import type { Permission } from "../domain/types.js";
import type { TaskContext } from "./context.js";

/** Joins the trusted text; `trusted` says which comment authors may speak to the agent. */
export function promptText(
  issue: Pick<IssueFacts, "body">,
  comments: readonly IssueComment[],
  trusted: (login: string) => boolean,
): string {
  const body = issueText(issue.body ?? "");
  const parts = comments
    .filter((comment) => comment.authorType !== "Bot" && trusted(comment.author))
    .map((comment) => ({ author: comment.author, text: issueText(comment.body) }))
    .filter((comment) => comment.text !== "")
    .map((comment) => `Comment by @${comment.author}:\n\n${comment.text}`);
  if (parts.length === 0) return body;
  return capText([body, "---", ...parts].join("\n\n"), ISSUE_THREAD_LIMIT);
}

/**
 * One issue or comment text: hidden comments removed, then capped (after, so that a cut inside
 * an unterminated comment cannot hide the note) and invisible characters removed.
 */
function issueText(text: string): string {
  return storedIssueText(stripHtmlComments(text)).trim();
}

/**
 * Asks GitHub for each human commenter's permission once and builds the prompt text. `levels`
 * (lower-case login → permission) is filled as they are read, for a caller that needs them again.
 */
export async function trustedPromptText(
  ctx: TaskContext,
  issue: IssueFacts,
  comments: readonly IssueComment[],
  minimum: Permission,
  levels = new Map<string, PermissionLevel>(),
): Promise<string> {
  for (const comment of comments) {
    if (comment.authorType === "Bot" || levels.has(comment.author.toLowerCase())) continue;
    levels.set(
      comment.author.toLowerCase(),
      await ctx.github.permissionOf(issue.ref, comment.author),
    );
  }
  return promptText(issue, comments, (login) =>
    hasAtLeast(levels.get(login.toLowerCase()) ?? "none", minimum),
  );
}
