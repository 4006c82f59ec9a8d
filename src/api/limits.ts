import type { Settings } from "../config/settings.js";
import type { RunnerApiLimits } from "./runner-api.js";

/** The runner API's limits from the app settings (KANBOT_LEASE_SECONDS and friends). */
export function runnerApiLimits(
  settings: Pick<
    Settings,
    | "KANBOT_LEASE_SECONDS"
    | "KANBOT_CLAIM_TIMEOUT_SECONDS"
    | "KANBOT_API_MAX_BODY_BYTES"
    | "KANBOT_JOB_LOG_MAX_BYTES"
  >,
): RunnerApiLimits {
  return {
    leaseMs: settings.KANBOT_LEASE_SECONDS * 1000,
    claimTimeoutMs: settings.KANBOT_CLAIM_TIMEOUT_SECONDS * 1000,
    maxBodyBytes: settings.KANBOT_API_MAX_BODY_BYTES,
    jobLogMaxBytes: settings.KANBOT_JOB_LOG_MAX_BYTES,
  };
}

/**
 * pino `redact` paths the app's logger needs once the runner API is mounted: Probot's HTTP
 * logger (pino-http) logs every request's headers, and runners send their token in
 * `Authorization`. Pass them to the root logger: `pino({ redact: RUNNER_API_LOG_REDACT_PATHS })`.
 */
export const RUNNER_API_LOG_REDACT_PATHS: readonly string[] = [
  "req.headers.authorization",
  "req.headers.cookie",
];
