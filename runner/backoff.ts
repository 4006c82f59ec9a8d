/**
 * Jittered exponential backoff, as actions/runner's listener retries a failing connection: the
 * delay doubles with each failure up to a cap, and each wait is a random point in its upper half
 * so that many runners do not retry in step.
 */

export interface BackoffPolicy {
  /** Delay after the first failure. Default 1 s. */
  initialMs: number;
  /** Longest delay. Default 60 s. */
  maxMs: number;
  /** Source of jitter in [0, 1). Default `Math.random`. */
  random: () => number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = {
  initialMs: 1_000,
  maxMs: 60_000,
  random: Math.random,
};

/** The wait after the `failures`-th failure in a row (1-based): in [d/2, d), d = initial·2^(n-1), capped. */
export function backoffDelay(failures: number, policy: BackoffPolicy = DEFAULT_BACKOFF): number {
  const exponent = Math.max(0, Math.min(failures - 1, 30));
  const ceiling = Math.min(policy.maxMs, policy.initialMs * 2 ** exponent);
  return Math.round(ceiling / 2 + policy.random() * (ceiling / 2));
}

/** Resolves after `ms`, or at once when `signal` aborts (never rejects). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted === true) {
      resolve();
      return;
    }
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}
