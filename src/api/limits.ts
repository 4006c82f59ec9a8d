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
