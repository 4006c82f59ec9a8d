/**
 * Which handler an inbox delivery goes to: GitHub's events, and kanbot's own inbox events
 * (`kanbot_job`, `kanbot_gate`, src/inbox/internal-events.ts). Events without a handler
 * (installations, other PR actions) are recorded, marked processed and logged.
 */
import {
  GATE_MERGEABILITY_ACTION,
  GATE_RECHECK_ACTION,
  KANBOT_GATE_EVENT,
  KANBOT_JOB_EVENT,
} from "../inbox/internal-events.js";
import type { HandlerContext } from "./handler-context.js";
import { onIssueCommentCreated } from "./on-issue-comment-created.js";
import { onIssuesClosed } from "./on-issues-closed.js";
import { onIssuesLabeled } from "./on-issues-labeled.js";
import { onIssuesUnlabeled } from "./on-issues-unlabeled.js";
import { onProjectsV2ItemEdited } from "./on-projects-v2-item-edited.js";
import { onCheckRunCompleted } from "./on-check-run-completed.js";
import { onCheckSuiteCompleted } from "./on-check-suite-completed.js";
import { onKanbotGate } from "./on-kanbot-gate.js";
import { onKanbotJob } from "./on-kanbot-job.js";
import { onKanbotMergeability } from "./on-kanbot-mergeability.js";
import { onPullRequestClosed } from "./on-pull-request-closed.js";
import { onPullRequestReviewSubmitted } from "./on-pull-request-review-submitted.js";
import { onPullRequestSynchronize } from "./on-pull-request-synchronize.js";
import { onPush } from "./on-push.js";
import { onStatus } from "./on-status.js";

type AnyHandler = (ctx: HandlerContext, payload: never) => Promise<void>;

const HANDLERS: Record<string, AnyHandler> = {
  "issues.labeled": onIssuesLabeled,
  "issues.unlabeled": onIssuesUnlabeled,
  "issues.closed": onIssuesClosed,
  "issue_comment.created": onIssueCommentCreated,
  "projects_v2_item.edited": onProjectsV2ItemEdited,
  "check_suite.completed": onCheckSuiteCompleted,
  "check_run.completed": onCheckRunCompleted,
  status: onStatus,
  "pull_request.closed": onPullRequestClosed,
  "pull_request.synchronize": onPullRequestSynchronize,
  "pull_request_review.submitted": onPullRequestReviewSubmitted,
  push: onPush,
  [`${KANBOT_JOB_EVENT}.claimed`]: onKanbotJob,
  [`${KANBOT_JOB_EVENT}.finished`]: onKanbotJob,
  [`${KANBOT_JOB_EVENT}.lost`]: onKanbotJob,
  [`${KANBOT_GATE_EVENT}.${GATE_RECHECK_ACTION}`]: onKanbotGate,
  [`${KANBOT_GATE_EVENT}.${GATE_MERGEABILITY_ACTION}`]: onKanbotMergeability,
};

/** The `event.action` keys (or bare events) this version acts on, GitHub's and kanbot's own. */
export function handledEventKeys(): string[] {
  return Object.keys(HANDLERS);
}

/** The handler of `event` + `action`, or undefined when this version does not act on it. */
export function handlerFor(
  event: string,
  action: string | undefined,
): ((ctx: HandlerContext, payload: unknown) => Promise<void>) | undefined {
  const handler = HANDLERS[action === undefined ? event : `${event}.${action}`];
  // The payload was recorded from a verified delivery of exactly this event and action, and
  // fits the event's schema (./payload-schemas.ts; src/inbox/process-delivery.ts checks again).
  return handler as ((ctx: HandlerContext, payload: unknown) => Promise<void>) | undefined;
}
