/**
 * The job store: tasks, jobs and their leases, runners, job logs, the webhook inbox and the
 * audit log, on SQLite (default) or Postgres. See docs/store.md.
 */
export { openStore, type OpenStoreOptions } from "./open-store.js";
export type { JobStore } from "./job-store.js";
export { DEFAULT_STORE_POLICY, hashToken, type StorePolicy } from "./store-context.js";
export { DEFAULT_DATABASE_URL, parseStoreUrl, redactUrl, type StoreLocation } from "./store-url.js";
export * from "./errors.js";
export { JobResult, parseJobResult } from "./job-result.js";
export type * from "./types.js";
export type * from "./task-record.js";
