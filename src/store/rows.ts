/**
 * Row <-> record translation: epoch milliseconds to Dates, 0/1 to booleans, JSON text to values,
 * and a check that every enum-like column holds a word of the domain vocabulary.
 */
import type { Selectable } from "kysely";
import {
  JOB_KINDS,
  JOB_STATUSES,
  TASK_STATES,
  type JobKind,
  type JobStatus,
  type Priority,
  type TaskState,
} from "../domain/types.js";
import { oneOf } from "./column-words.js";
import { parseJobResult, type JobResult } from "./job-result.js";
import { toTaskRecordFacts } from "./task-record.js";
import type {
  AuditLogTable,
  DeliveriesTable,
  JobsTable,
  LogChunksTable,
  RunnersTable,
  TasksTable,
} from "./schema.js";
import type {
  AuditEntry,
  Delivery,
  DeliveryStatus,
  Job,
  JsonValue,
  LogChunk,
  Runner,
  Task,
} from "./types.js";

const DELIVERY_STATUSES = [
  "pending",
  "done",
  "failed",
  "invalid",
] as const satisfies readonly DeliveryStatus[];

export function toPriority(value: number): Priority {
  if (value <= 0) return 0;
  if (value === 1) return 1;
  if (value === 2) return 2;
  return 3;
}

export function toJsonText(value: JsonValue | JobResult | undefined): string | null {
  return value === undefined ? null : JSON.stringify(value);
}

export function fromJsonText(text: string | null): JsonValue | undefined {
  if (text === null) return undefined;
  const value: JsonValue = JSON.parse(text);
  return value;
}

export function toStringListText(values: readonly string[]): string {
  return JSON.stringify([...values]);
}

export function fromStringListText(text: string): string[] {
  const value: unknown = JSON.parse(text);
  if (!Array.isArray(value)) return [];
  return value.filter((item): item is string => typeof item === "string");
}

function date(ms: number): Date {
  return new Date(ms);
}

function optionalDate(ms: number | null): Date | undefined {
  return ms === null ? undefined : new Date(ms);
}

function optional<T>(value: T | null): T | undefined {
  return value === null ? undefined : value;
}

export function toTask(row: Selectable<TasksTable>): Task {
  return {
    id: row.id,
    repo: row.repo,
    installationId: row.installation_id,
    issueNumber: row.issue_number,
    title: row.title,
    body: row.body,
    state: oneOf<TaskState>(TASK_STATES, row.state, "tasks.state"),
    agent: optional(row.agent),
    requiredLabels: fromStringListText(row.required_labels),
    priority: toPriority(row.priority),
    budget: {
      attempts: row.budget_attempts,
      minutes: row.budget_minutes,
      usd: row.budget_usd,
    },
    used: {
      attempts: row.used_attempts,
      minutes: row.used_minutes,
      usd: row.used_usd,
      lostLeases: row.used_lost_leases,
    },
    startedBy: optional(row.started_by),
    branch: optional(row.branch),
    prNumber: optional(row.pr_number),
    headSha: optional(row.head_sha),
    pendingEffects: fromJsonText(row.pending_effects),
    ...toTaskRecordFacts(row),
    createdAt: date(row.created_at),
    updatedAt: date(row.updated_at),
    version: row.version,
  };
}

export function toJob(row: Selectable<JobsTable>): Job {
  return {
    id: row.id,
    taskId: row.task_id,
    kind: oneOf<JobKind>(JOB_KINDS, row.kind, "jobs.kind"),
    attempt: row.attempt,
    status: oneOf<JobStatus>(JOB_STATUSES, row.status, "jobs.status"),
    agent: row.agent,
    requiredLabels: fromStringListText(row.required_labels),
    repo: row.repo,
    priority: toPriority(row.priority),
    input: fromJsonText(row.input),
    enqueuedAt: date(row.enqueued_at),
    notBefore: date(row.not_before),
    runnerId: optional(row.runner_id),
    leaseExpiresAt: optionalDate(row.lease_expires_at),
    phase: optional(row.phase),
    cancelRequested: row.cancel_requested !== 0,
    result: parseJobResult(fromJsonText(row.result)),
    error: optional(row.error),
    startedAt: optionalDate(row.started_at),
    finishedAt: optionalDate(row.finished_at),
    ...(row.preferred_runner_id === null || row.prefer_until === null
      ? {}
      : {
          preferredRunner: {
            runnerId: row.preferred_runner_id,
            until: date(Number(row.prefer_until)),
          },
        }),
  };
}

export function toRunner(row: Selectable<RunnersTable>): Runner {
  return {
    id: row.id,
    name: row.name,
    agents: fromStringListText(row.agents),
    labels: fromStringListText(row.labels),
    repos: fromStringListText(row.repos),
    registeredAt: date(row.registered_at),
    lastSeenAt: optionalDate(row.last_seen_at),
    revokedAt: optionalDate(row.revoked_at),
  };
}

export function toLogChunk(row: Selectable<LogChunksTable>): LogChunk {
  return { jobId: row.job_id, seq: row.seq, text: row.text, receivedAt: date(row.received_at) };
}

export function toDelivery(row: Selectable<DeliveriesTable>): Delivery {
  return {
    deliveryId: row.delivery_id,
    event: row.event,
    action: optional(row.action),
    installationId: optional(row.installation_id),
    payload: fromJsonText(row.payload) ?? null,
    orderingKey: row.ordering_key,
    status: oneOf<DeliveryStatus>(DELIVERY_STATUSES, row.status, "deliveries.status"),
    attempts: row.attempts,
    nextAttemptAt: date(row.next_attempt_at),
    lastError: optional(row.last_error),
    receivedAt: date(row.received_at),
    processedAt: optionalDate(row.processed_at),
  };
}

export function toAuditEntry(row: Selectable<AuditLogTable>): AuditEntry {
  return {
    id: row.id,
    at: date(row.at),
    taskId: optional(row.task_id),
    jobId: optional(row.job_id),
    actor: row.actor,
    action: row.action,
    detail: fromJsonText(row.detail),
  };
}
