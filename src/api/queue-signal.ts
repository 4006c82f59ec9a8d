/**
 * Wakes waiting long-poll claims when a job may have become claimable. The store's
 * `onJobQueued` (an in-process event, plus LISTEN/NOTIFY across Postgres replicas) bumps a
 * generation counter; a claim reads the generation before it tries the queue, so a job queued
 * between its failed try and its wait still wakes it.
 */
export interface QueueSignal {
  /** Changes every time a job may have been queued. */
  readonly generation: number;
  /** Waiting claims right now. */
  readonly waiting: number;
  /**
   * Resolves when the generation differs from `seen` (at once if it already does), after
   * `timeoutMs`, or when `signal` aborts. Resolves `true` only for a wake-up.
   */
  wait(seen: number, timeoutMs: number, signal: AbortSignal): Promise<boolean>;
  /** A job may be claimable. */
  notify(): void;
}

export function createQueueSignal(): QueueSignal {
  let generation = 0;
  const waiters = new Set<() => void>();

  function notify(): void {
    generation++;
    for (const wake of [...waiters]) wake();
  }

  function wait(seen: number, timeoutMs: number, signal: AbortSignal): Promise<boolean> {
    if (generation !== seen) return Promise.resolve(true);
    if (signal.aborted || timeoutMs <= 0) return Promise.resolve(false);
    return new Promise((resolve) => {
      const finish = (woken: boolean) => {
        clearTimeout(timer);
        signal.removeEventListener("abort", onAbort);
        waiters.delete(onWake);
        resolve(woken);
      };
      const onWake = () => finish(true);
      const onAbort = () => finish(false);
      const timer = setTimeout(() => finish(false), timeoutMs);
      waiters.add(onWake);
      signal.addEventListener("abort", onAbort, { once: true });
    });
  }

  return {
    get generation() {
      return generation;
    },
    get waiting() {
      return waiters.size;
    },
    wait,
    notify,
  };
}
