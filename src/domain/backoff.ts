/**
 * When a failed job may be tried again. Deterministic exponential backoff: the delay doubles
 * with each consecutive failure, up to a cap. There is no jitter here on purpose: retries are
 * spread out by the queue (runners claim at their own pace), and a pure function should give
 * the same answer for the same inputs.
 */

export interface BackoffPolicy {
  /** Delay after the first failure, in seconds. */
  baseSeconds: number;
  /** Multiplier applied for each further consecutive failure. */
  factor: number;
  /** Upper bound of the delay, in seconds. */
  maxSeconds: number;
}

/** 1 min, 2 min, 4 min, 8 min, 16 min, then 30 min. */
export const DEFAULT_BACKOFF = {
  baseSeconds: 60,
  factor: 2,
  maxSeconds: 30 * 60,
} as const satisfies BackoffPolicy;

/**
 * Seconds to wait before the next attempt, given the number of consecutive failed jobs so far
 * (including the one that just failed). Zero failures means no wait.
 */
export function backoffDelaySeconds(
  failures: number,
  policy: BackoffPolicy = DEFAULT_BACKOFF,
): number {
  if (!(failures >= 1)) return 0;
  const delay = policy.baseSeconds * policy.factor ** (Math.floor(failures) - 1);
  return Math.max(0, Math.min(policy.maxSeconds, delay));
}

/** The earliest time a runner may claim the retry: `now` plus the backoff delay. */
export function retryAt(
  now: Date,
  failures: number,
  policy: BackoffPolicy = DEFAULT_BACKOFF,
): Date {
  return new Date(now.getTime() + backoffDelaySeconds(failures, policy) * 1000);
}
