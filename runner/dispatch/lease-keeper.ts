/**
 * Keeps a job's lease alive: a heartbeat every third of the lease (like actions/runner's job
 * renewal), reporting the phase. Each heartbeat rides out app blips: it is retried with backoff
 * while the lease lasts (runner/client.ts), and an answered one renews the lease clock from the
 * moment it was sent. The answer decides the job's fate:
 * - `canceled: true` -> `onStop("canceled")` (the agent is stopped, work in progress pushed);
 * - 409 or 404 (lease lost) -> `onStop("lease-lost")` (the agent is stopped, nothing is pushed);
 * - 401 (runner token revoked) -> `onStop("revoked")`;
 * - no answer until the lease has ended -> `onStop("lease-lost")`: the app has ended the lease by
 *   then, so pushing would race the runner that gets the job next.
 */
import type { Logger } from "pino";

import {
  LeaseExpiredError,
  LeaseLostError,
  RunnerTokenRevokedError,
  type JobApi,
} from "../client.js";
import type { StopCause } from "../job-control.js";
import type { LeaseClock } from "./lease-clock.js";

export type BeatResult = "ok" | "canceled" | "lease-lost" | "revoked" | "unreachable";

export interface LeaseKeeperOptions {
  api: Pick<JobApi, "heartbeat">;
  jobId: number;
  leaseToken: string;
  /** The job's lease as this runner knows it; answered heartbeats renew it. */
  clock: LeaseClock;
  /** The lease's length, from the claim. */
  leaseMs: number;
  /** Time between heartbeats. Default a third of the lease. */
  intervalMs?: number;
  /** Aborted when the job is given up (its calls stop retrying). */
  signal?: AbortSignal;
  phase: () => string;
  onStop: (cause: StopCause) => void;
  log: Logger;
}

export interface LeaseKeeper {
  /**
   * One heartbeat now (or the one under way), retried while the lease lasts; what it learned is
   * also reported through `onStop`.
   */
  beat(): Promise<BeatResult>;
  stop(): void;
}

export function startLeaseKeeper(options: LeaseKeeperOptions): LeaseKeeper {
  const { clock, log, jobId } = options;
  const intervalMs = options.intervalMs ?? Math.max(1_000, Math.floor(options.leaseMs / 3));
  const stopping = new AbortController();
  const signal =
    options.signal === undefined
      ? stopping.signal
      : AbortSignal.any([stopping.signal, options.signal]);
  let failing = false;
  let beating: Promise<BeatResult> | undefined;

  function failed(error: unknown): void {
    if (failing) return;
    failing = true;
    log.warn({ jobId, err: (error as Error).message }, "heartbeat failed; retrying");
  }

  async function once(): Promise<BeatResult> {
    let sentAt = clock.now();
    try {
      const answer = await options.api.heartbeat(
        jobId,
        { leaseToken: options.leaseToken, phase: options.phase() },
        {
          signal,
          retry: {
            remainingMs: () => clock.remainingMs(),
            beforeAttempt: () => {
              sentAt = clock.now();
            },
            onRetry: failed,
          },
        },
      );
      clock.renewed(sentAt);
      if (failing) log.info({ jobId }, "heartbeat reaches the app again");
      failing = false;
      if (answer.canceled) {
        options.onStop("canceled");
        return "canceled";
      }
      return "ok";
    } catch (error) {
      if (stopping.signal.aborted) return "unreachable";
      if (options.signal?.aborted === true) return "lease-lost";
      if (error instanceof LeaseExpiredError) {
        log.warn({ jobId }, "no heartbeat answer until the lease ended; treating it as lost");
        options.onStop("lease-lost");
        return "lease-lost";
      }
      if (error instanceof LeaseLostError) {
        log.warn({ jobId }, "lease lost: the app gave the job up");
        options.onStop("lease-lost");
        return "lease-lost";
      }
      if (error instanceof RunnerTokenRevokedError) {
        options.onStop("revoked");
        return "revoked";
      }
      // An answer that is not retried (a 400, a 403…): the next heartbeat tries again.
      failed(error);
      if (clock.remainingMs() <= 0) {
        log.warn({ jobId }, "no heartbeat answer for longer than the lease; treating it as lost");
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
    if (!stopping.signal.aborted) void beat();
  }, intervalMs);
  timer.unref();

  return {
    beat,
    stop() {
      stopping.abort(new Error("the lease keeper stopped"));
      clearInterval(timer);
    },
  };
}
