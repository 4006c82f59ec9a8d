/**
 * Keeps a job's lease alive: a heartbeat every third of the lease (like actions/runner's job
 * renewal), reporting the phase. The answer decides the job's fate:
 * - `canceled: true` -> `onStop("canceled")` (the agent is stopped, work in progress pushed);
 * - 409 (lease lost) -> `onStop("lease-lost")` (the agent is stopped, nothing is pushed);
 * - 401 (runner token revoked) -> `onStop("revoked")`;
 * - no answer for longer than the lease itself -> `onStop("lease-lost")`: the app has ended the
 *   lease by then, so pushing would race the runner that gets the job next.
 */
import type { Logger } from "pino";

import { LeaseLostError, RunnerTokenRevokedError, type JobApi } from "../client.js";
import type { StopCause } from "../job-control.js";

export type BeatResult = "ok" | "canceled" | "lease-lost" | "revoked" | "unreachable";

export interface LeaseKeeperOptions {
  api: Pick<JobApi, "heartbeat">;
  jobId: number;
  leaseToken: string;
  /** The lease's length, from the claim. */
  leaseMs: number;
  /** Time between heartbeats. Default a third of the lease. */
  intervalMs?: number;
  phase: () => string;
  onStop: (cause: StopCause) => void;
  /** A monotonic clock in ms (default `performance.now`). */
  monotonic?: () => number;
  log: Logger;
}

export interface LeaseKeeper {
  /** One heartbeat now; what it learned is also reported through `onStop`. */
  beat(): Promise<BeatResult>;
  stop(): void;
}

export function startLeaseKeeper(options: LeaseKeeperOptions): LeaseKeeper {
  const monotonic = options.monotonic ?? (() => performance.now());
  const intervalMs = options.intervalMs ?? Math.max(1_000, Math.floor(options.leaseMs / 3));
  let lastConfirmed = monotonic();
  let failing = false;
  let stopped = false;
  let beating: Promise<BeatResult> | undefined;

  async function once(): Promise<BeatResult> {
    try {
      const answer = await options.api.heartbeat(options.jobId, {
        leaseToken: options.leaseToken,
        phase: options.phase(),
      });
      lastConfirmed = monotonic();
      if (failing) options.log.info({ jobId: options.jobId }, "heartbeat reaches the app again");
      failing = false;
      if (answer.canceled) {
        options.onStop("canceled");
        return "canceled";
      }
      return "ok";
    } catch (error) {
      if (error instanceof LeaseLostError) {
        options.log.warn({ jobId: options.jobId }, "lease lost: the app gave the job up");
        options.onStop("lease-lost");
        return "lease-lost";
      }
      if (error instanceof RunnerTokenRevokedError) {
        options.onStop("revoked");
        return "revoked";
      }
      if (!failing) {
        failing = true;
        options.log.warn(
          { jobId: options.jobId, err: (error as Error).message },
          "heartbeat failed; retrying",
        );
      }
      if (monotonic() - lastConfirmed > options.leaseMs) {
        options.log.warn(
          { jobId: options.jobId },
          "no heartbeat answer for longer than the lease; treating it as lost",
        );
        options.onStop("lease-lost");
        return "lease-lost";
      }
      return "unreachable";
    }
  }

  function beat(): Promise<BeatResult> {
    beating ??= once().finally(() => {
      beating = undefined;
    });
    return beating;
  }

  const timer = setInterval(() => {
    if (!stopped) void beat();
  }, intervalMs);
  timer.unref();

  return {
    beat,
    stop() {
      stopped = true;
      clearInterval(timer);
    },
  };
}
