/**
 * The runner API calls the daemon makes, as a structural slice of `RunnerApiClient`
 * (runner/client.ts), so unit tests can pass a fake.
 */
import type { RunnerApiClient } from "../client.js";

export type JobApi = Pick<RunnerApiClient, "heartbeat" | "jobToken" | "appendLog" | "complete">;
export type ClaimApi = Pick<RunnerApiClient, "claim">;
export type DaemonApi = JobApi & ClaimApi;
