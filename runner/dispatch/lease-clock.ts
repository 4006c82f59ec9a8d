/**
 * How long a job's lease still lasts, as far as this runner can tell, on its own monotonic clock.
 * The app sets a lease to end one lease length after it answers the claim or a heartbeat; the
 * runner counts that length from the moment it sent the heartbeat that was answered (a little
 * before the app's moment, so the runner's end is never later than the app's). Only durations
 * are used, never the app's timestamps, so the two machines' clocks need not agree.
 *
 * Calls that are safe to repeat (token, heartbeat, log, complete) are retried while this clock
 * says the lease may still hold; when it runs out, the job is given up (runner/client.ts,
 * `LeaseExpiredError`).
 */

export interface LeaseClock {
  /** A heartbeat sent at `sentAt` (a value of `now()`) was answered: the lease runs from then. */
  renewed(sentAt: number): void;
  /** Time left before the lease ends (0 or less: it has ended). */
  remainingMs(): number;
  /** The clock's time (ms, monotonic). */
  now(): number;
}

export interface LeaseClockOptions {
  /** The lease's length, from the claim. */
  leaseMs: number;
  /** A monotonic clock in ms. Default `performance.now`. */
  monotonic?: () => number;
}

/** A clock for a lease granted just now (when the claim's answer arrived). */
export function createLeaseClock(options: LeaseClockOptions): LeaseClock {
  const now = options.monotonic ?? (() => performance.now());
  let endsAt = now() + options.leaseMs;
  return {
    renewed(sentAt) {
      endsAt = Math.max(endsAt, sentAt + options.leaseMs);
    },
    remainingMs: () => endsAt - now(),
    now,
  };
}
