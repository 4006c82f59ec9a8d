/**
 * The inbox's router: which handler a delivery goes to, GitHub's events and kanbot's own
 * (`kanbot_job`, `kanbot_gate`, ./internal-events.ts). Events without a handler (installations,
 * other PR actions) are recorded, marked processed and logged.
 *
 * It is the only file in src/inbox/ that imports src/handlers/: the rest of the inbox reaches
 * the handlers, and the payload schemas they rely on, through it (entry -> inbox -> handlers).
 */
import type { HandlerContext } from "../handlers/handler-context.js";
import { onIssueCommentCreated } from "../handlers/on-issue-comment-created.js";
import { onIssuesClosed } from "../handlers/on-issues-closed.js";
import { onIssuesLabeled } from "../handlers/on-issues-labeled.js";
import { onIssuesUnlabeled } from "../handlers/on-issues-unlabeled.js";
import { onProjectsV2ItemEdited } from "../handlers/on-projects-v2-item-edited.js";
import { onCheckRunCompleted } from "../handlers/on-check-run-completed.js";
import { onCheckSuiteCompleted } from "../handlers/on-check-suite-completed.js";
import { onKanbotGate } from "../handlers/on-kanbot-gate.js";
import { onKanbotJob } from "../handlers/on-kanbot-job.js";
import { onKanbotMergeability } from "../handlers/on-kanbot-mergeability.js";
import { onKanbotTask } from "../handlers/on-kanbot-task.js";
import { onPullRequestClosed } from "../handlers/on-pull-request-closed.js";
import { onPullRequestReviewSubmitted } from "../handlers/on-pull-request-review-submitted.js";
import { onPullRequestSynchronize } from "../handlers/on-pull-request-synchronize.js";
import { onPush } from "../handlers/on-push.js";
import { onStatus } from "../handlers/on-status.js";
import {
  GATE_MERGEABILITY_ACTION,
  GATE_RECHECK_ACTION,
  KANBOT_GATE_EVENT,
  KANBOT_JOB_EVENT,
  KANBOT_TASK_EVENT,
  QUESTION_TIMEOUT_ACTION,
  TASK_RESUME_ACTION,
} from "./internal-events.js";

/**
 * Why a payload does not fit its event, from the schemas of what the handlers read
 * (src/handlers/payload-schemas.ts): intake records such a delivery as invalid, and the worker
 * checks again before a handler runs.
 */
export { payloadProblem } from "../handlers/payload-schemas.js";

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
  [`${KANBOT_TASK_EVENT}.${TASK_RESUME_ACTION}`]: onKanbotTask,
  [`${KANBOT_TASK_EVENT}.${QUESTION_TIMEOUT_ACTION}`]: onKanbotTask,
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
  // fits the event's schema (src/handlers/payload-schemas.ts; ./process-delivery.ts checks
  // again).
  return handler as ((ctx: HandlerContext, payload: unknown) => Promise<void>) | undefined;
}
