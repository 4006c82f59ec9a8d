/**
 * Which handler an inbox delivery goes to. kanbot subscribes to more events than this half of
 * the loop handles (pull requests, reviews, checks, pushes, installations); those are recorded,
 * marked processed and logged.
 */
import type { HandlerContext } from "./handler-context.js";
import { onIssueCommentCreated } from "./on-issue-comment-created.js";
import { onIssuesClosed } from "./on-issues-closed.js";
import { onIssuesLabeled } from "./on-issues-labeled.js";
import { onIssuesUnlabeled } from "./on-issues-unlabeled.js";
import { onProjectsV2ItemEdited } from "./on-projects-v2-item-edited.js";

type AnyHandler = (ctx: HandlerContext, payload: never) => Promise<void>;

const HANDLERS: Record<string, AnyHandler> = {
  "issues.labeled": onIssuesLabeled,
  "issues.unlabeled": onIssuesUnlabeled,
  "issues.closed": onIssuesClosed,
  "issue_comment.created": onIssueCommentCreated,
  "projects_v2_item.edited": onProjectsV2ItemEdited,
};

/** The handler of `event` + `action`, or undefined when this version does not act on it. */
export function handlerFor(
  event: string,
  action: string | undefined,
): ((ctx: HandlerContext, payload: unknown) => Promise<void>) | undefined {
  const handler = HANDLERS[action === undefined ? event : `${event}.${action}`];
  // The payload was recorded from a verified delivery of exactly this event and action.
  return handler as ((ctx: HandlerContext, payload: unknown) => Promise<void>) | undefined;
}
