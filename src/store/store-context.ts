/**
 * What every part of the store shares: the database handle, the clock, the logger, the policy,
 * and small helpers for secrets, text and the audit log.
 */
import { createHash, randomBytes } from "node:crypto";
import type { Kysely, Transaction } from "kysely";
import type { Logger } from "pino";
import type { StoreDialect } from "./migrations.js";
import { toJsonText } from "./rows.js";
import type { StoreDatabase } from "./schema.js";
import type { NewAuditEntry } from "./types.js";

/** Tunables of the store's policies. */
export interface StorePolicy {
  /** Processing attempts of a webhook delivery before it is marked `failed`. */
  deliveryMaxAttempts: number;
  /** First retry delay of a failed delivery; doubles per attempt. */
  deliveryBackoffBaseMs: number;
  /** Longest retry delay of a failed delivery. */
  deliveryBackoffMaxMs: number;
}

export const DEFAULT_STORE_POLICY: StorePolicy = {
  deliveryMaxAttempts: 8,
  deliveryBackoffBaseMs: 5_000,
  deliveryBackoffMaxMs: 10 * 60_000,
};

export interface StoreContext {
  db: Kysely<StoreDatabase>;
  dialect: StoreDialect;
  /** The store's clock, in epoch milliseconds. */
  now: () => number;
  log: Logger;
  policy: StorePolicy;
}

/** The database or a transaction on it. */
export type Db = Kysely<StoreDatabase> | Transaction<StoreDatabase>;

export const SYSTEM_ACTOR = "kanbot";
const ERROR_TEXT_LIMIT = 8_000;

export function runnerActor(runnerId: string): string {
  return `runner:${runnerId}`;
}

/** SHA-256 hex of a secret token: the only form in which the store keeps tokens. */
export function hashToken(token: string): string {
  return createHash("sha256").update(token, "utf8").digest("hex");
}

/** A new random secret (256 bits) with a prefix that tells what it is (`kbr_`, `kbl_`…). */
export function newSecret(prefix: string): string {
  return `${prefix}${randomBytes(32).toString("base64url")}`;
}

export function truncate(text: string): string {
  return text.length > ERROR_TEXT_LIMIT ? `${text.slice(0, ERROR_TEXT_LIMIT)}…` : text;
}

/** Postgres text cannot hold NUL; agents' output sometimes does. Same result on both engines. */
export function withoutNul(text: string): string {
  return text.includes("\u0000") ? text.replaceAll("\u0000", "\uFFFD") : text;
}

export async function insertAudit(db: Db, at: number, entry: NewAuditEntry): Promise<void> {
  await db
    .insertInto("audit_log")
    .values({
      at,
      task_id: entry.taskId ?? null,
      job_id: entry.jobId ?? null,
      actor: entry.actor,
      action: entry.action,
      detail: toJsonText(entry.detail),
    })
    .execute();
}
