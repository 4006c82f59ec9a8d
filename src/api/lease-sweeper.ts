/**
 * The lease sweeper: every few seconds (and on demand) it asks the store to end expired leases
 * (the decisions are the store's: src/store/lost-lease-sweep.ts), ends each ended lease on the
 * API's side (its GitHub tokens revoked, its log bookkeeping dropped) and tells the rest of the
 * app through the `leasesExpired` hook. One sweep runs at a time.
 *
 * It also ends, the same way, every lease whose job still has kept GitHub tokens although it
 * holds no lease any more: a lease another replica ended and died before revoking, one ended
 * by a re-run's cancel (src/store/job-queue.ts), or a revoke GitHub failed to answer.
 */
import type { Logger } from "pino";
import type { ExpiredLeaseSweep, JobStore } from "../store/index.js";

const DEFAULT_SWEEP_INTERVAL_MS = 5_000;

export interface LeaseSweeper {
  /** One sweep now; a sweep already running is joined. */
  sweep(): Promise<ExpiredLeaseSweep>;
  /** Starts the periodic sweep; false when it was running already. */
  start(): boolean;
  /** Stops the periodic sweep and waits for a running one. */
  stop(): Promise<void>;
  readonly intervalMs: number;
}

export function createLeaseSweeper(options: {
  store: JobStore;
  log: Logger;
  /** How often; default 5 s. */
  intervalMs?: number;
  /** Ends a lease on the API's side (tokens, log bookkeeping). */
  endLease(jobId: number): Promise<void>;
  /** The `leasesExpired` hook. */
  leasesExpired?(sweep: ExpiredLeaseSweep): void | Promise<void>;
}): LeaseSweeper {
  const { store, log } = options;
  const intervalMs = options.intervalMs ?? DEFAULT_SWEEP_INTERVAL_MS;
  let timer: NodeJS.Timeout | undefined;
  let sweeping: Promise<ExpiredLeaseSweep> | undefined;

  async function sweepOnce(): Promise<ExpiredLeaseSweep> {
    const result = await store.endExpiredLeases();
    const ended = [...result.lost, ...result.canceled];
    for (const job of ended) await options.endLease(job.id);
    const endedIds = new Set(ended.map((job) => job.id));
    const leftovers = (await store.listJobTokenOrphans()).filter((id) => !endedIds.has(id));
    for (const jobId of leftovers) await options.endLease(jobId);
    if (leftovers.length > 0) {
      log.info({ jobs: leftovers }, "revoking job tokens kept past their lease");
    }
    if (ended.length > 0) {
      log.info(
        {
          lost: result.lost.map((job) => job.id),
          canceled: result.canceled.map((job) => job.id),
        },
        "expired leases ended",
      );
      try {
        await options.leasesExpired?.(result);
      } catch (error) {
        log.error({ err: error }, "leasesExpired hook failed");
      }
    }
    return result;
  }

  function sweep(): Promise<ExpiredLeaseSweep> {
    // One sweep at a time: a timer tick during a manual sweep joins it.
    sweeping ??= sweepOnce().finally(() => {
      sweeping = undefined;
    });
    return sweeping;
  }

  return {
    sweep,
    intervalMs,
    start() {
      if (timer !== undefined) return false;
      timer = setInterval(() => {
        sweep().catch((error: unknown) => log.error({ err: error }, "expired-lease sweep failed"));
      }, intervalMs);
      timer.unref();
      return true;
    },
    async stop() {
      if (timer !== undefined) clearInterval(timer);
      timer = undefined;
      await sweeping?.catch(() => undefined);
    },
  };
}
