/**
 * The inbox's vocabulary, in one place: the names and payloads of the events that come from
 * inside kanbot rather than from GitHub, their delivery ids, and every inbox ordering key.
 *
 * kanbot's own events are recorded in the durable inbox like webhooks, so they are worked in
 * order with the issue's webhooks, retried with backoff when GitHub fails, and never lost by a
 * crash:
 *
 * - `kanbot_job.claimed|finished|lost`: a runner claimed, finished or lost a job (the runner
 *   API's hooks, recorded by ./internal-event-recorder.ts; handled by
 *   src/handlers/on-kanbot-job.ts);
 * - `kanbot_task.question-timeout`: a `needs-input` task whose question passed its deadline
 *   (the recorder's once-a-minute sweep; src/handlers/on-kanbot-task.ts);
 * - `kanbot_gate.recheck`: a gate whose no-checks wait ended (the recorder's once-a-minute
 *   sweep; src/handlers/on-kanbot-gate.ts);
 * - `kanbot_gate.mergeability`: GitHub was still computing whether a PR merges cleanly (recorded
 *   by the pull-request effect; src/handlers/on-kanbot-mergeability.ts).
 *
 * A leaf module: it holds names, payload types and pure key functions, and imports nothing but
 * types, so the inbox, the handlers and the task loop can all use it without an arrow back.
 */
import type { JsonValue, NewDelivery, Task } from "../store/index.js";

/** What every kanbot-only event name starts with; GitHub never sends one (intake refuses it). */
export const KANBOT_EVENT_PREFIX = "kanbot_";

/** The event name of runner-side job events in the inbox. */
export const KANBOT_JOB_EVENT = "kanbot_job";
/** The event name of gate re-evaluations in the inbox (`recheck` and `mergeability`). */
export const KANBOT_GATE_EVENT = "kanbot_gate";

/** The event name of task-level events in the inbox (`resume`). */
export const KANBOT_TASK_EVENT = "kanbot_task";
/** The `kanbot_task` action that runs what a task's outbox still owes (src/tasks/outbox.ts). */
export const TASK_RESUME_ACTION = "resume";

/** The `kanbot_task` action that blocks a task whose question nobody answered in time. */
export const QUESTION_TIMEOUT_ACTION = "question-timeout";

/** The `kanbot_gate` action of a re-evaluation once the no-checks wait ended. */
export const GATE_RECHECK_ACTION = "recheck";
/** The `kanbot_gate` action that asks GitHub again whether a PR merges cleanly. */
export const GATE_MERGEABILITY_ACTION = "mergeability";

export type KanbotJobAction = "claimed" | "finished" | "lost";

/** Whether `event` is one of kanbot's own inbox events (never one of GitHub's). */
export function isKanbotEvent(event: string): boolean {
  return event.startsWith(KANBOT_EVENT_PREFIX);
}

/** The payload of a `kanbot_job` delivery. */
export interface KanbotJobPayload {
  action: KanbotJobAction;
  jobId: number;
  taskId: number;
  repository: { full_name: string };
  installation: { id: number };
}

/** The payload of a `kanbot_gate.recheck` delivery. */
export interface KanbotGatePayload {
  action: typeof GATE_RECHECK_ACTION;
  taskId: number;
  headSha: string;
  repository: { full_name: string };
  installation: { id: number };
}

/** The payload of a `kanbot_task.resume` or `kanbot_task.question-timeout` delivery. */
export interface KanbotTaskPayload {
  action: typeof TASK_RESUME_ACTION | typeof QUESTION_TIMEOUT_ACTION;
  taskId: number;
  repository: { full_name: string };
  installation: { id: number };
}

/** The payload of a `kanbot_gate.mergeability` delivery. */
export interface MergeabilityRecheckPayload {
  action: typeof GATE_MERGEABILITY_ACTION;
  taskId: number;
  /** The PR head the question is about; a task that moved on drops it. */
  headSha: string;
  /** `conflict`: the base moved (rebase job on conflict); `auto-merge`: merge once known. */
  purpose: "conflict" | "auto-merge";
  repository: { full_name: string };
  installation: { id: number };
}

// Delivery ids: derived from what the event is about, so a repeated hook or sweep records it
// once (the inbox de-duplicates by delivery id).

/** The delivery id of a job event: one per job and action. */
export function jobDeliveryId(jobId: number, action: KanbotJobAction): string {
  return `kanbot-job-${jobId}-${action}`;
}

/** The delivery id of an outbox resume: one per task and version (the state it owes effects for). */
export function taskResumeDeliveryId(taskId: number, version: number): string {
  return `kanbot-resume-${taskId}-${version}`;
}

/** The delivery id of a question's timeout: one per task and deadline. */
export function questionTimeoutDeliveryId(taskId: number, dueAt: string): string {
  return `kanbot-question-${taskId}-${dueAt}`;
}

/** The delivery id of a gate re-evaluation: one per task, head and no-checks deadline. */
export function gateRecheckDeliveryId(taskId: number, headSha: string, recheckAt: string): string {
  return `kanbot-gate-${taskId}-${headSha}-${recheckAt}`;
}

/** The delivery id of a mergeability question: one per task, head, purpose and cause. */
export function mergeabilityDeliveryId(
  taskId: number,
  headSha: string,
  purpose: MergeabilityRecheckPayload["purpose"],
  cause: string,
): string {
  return `kanbot-mergeable-${taskId}-${headSha}-${purpose}-${cause}`;
}

/**
 * The inbox record of a job event of `task`: one per job and action, ordered with everything else
 * about the task's issue. The runner API records `finished` with the completion itself.
 */
export function jobEventDelivery(
  jobId: number,
  task: Pick<Task, "id" | "repo" | "installationId" | "issueNumber">,
  action: KanbotJobAction,
): NewDelivery {
  const payload: KanbotJobPayload = {
    action,
    jobId,
    taskId: task.id,
    repository: { full_name: task.repo },
    installation: { id: task.installationId },
  };
  return {
    deliveryId: jobDeliveryId(jobId, action),
    event: KANBOT_JOB_EVENT,
    action,
    installationId: task.installationId,
    payload: { ...payload } as unknown as JsonValue,
    orderingKey: issueOrderingKey(task.repo, task.issueNumber),
  };
}

// Ordering keys: the inbox hands out one delivery per key at a time, in the order recorded.

/** The ordering key of everything about one issue (or PR) of a repository: `owner/repo#N`. */
export function issueOrderingKey(repo: string, number: number): string {
  return `${repo}#${number}`;
}

/**
 * The ordering key of a task's mergeability questions: the issue's own key plus
 * `/mergeability`, so a question the inbox retries never holds up the issue's other events.
 */
export function mergeabilityOrderingKey(repo: string, number: number): string {
  return `${issueOrderingKey(repo, number)}/mergeability`;
}

/** The few fields of a webhook payload that decide where an event is queued. */
export interface OrderingPayload {
  action?: unknown;
  installation?: { id?: unknown } | null;
  repository?: { full_name?: unknown } | null;
  issue?: { number?: unknown } | null;
  pull_request?: { number?: unknown } | null;
  check_suite?: { head_sha?: unknown } | null;
  check_run?: { head_sha?: unknown } | null;
  sha?: unknown;
  projects_v2_item?: { content_node_id?: unknown } | null;
}

/**
 * The ordering key of a webhook delivery. Events for one issue (or PR) are processed in order;
 * events about different issues may run in parallel. The key is `owner/repo#N` where the payload
 * names an issue or PR, `owner/repo@sha` for check and status events (resolved to a PR later),
 * the item's content for board events, else the repository or installation.
 */
export function orderingKey(event: string, payload: OrderingPayload): string {
  const repo =
    typeof payload.repository?.full_name === "string" ? payload.repository.full_name : undefined;
  const number = payload.issue?.number ?? payload.pull_request?.number;
  if (repo && typeof number === "number") return issueOrderingKey(repo, number);
  const sha = payload.check_suite?.head_sha ?? payload.check_run?.head_sha ?? payload.sha;
  if (repo && typeof sha === "string") return `${repo}@${sha}`;
  const content = payload.projects_v2_item?.content_node_id;
  if (event === "projects_v2_item" && typeof content === "string") return `node:${content}`;
  if (repo) return repo;
  const installation = payload.installation?.id;
  return typeof installation === "number" ? `installation:${installation}` : `event:${event}`;
}
