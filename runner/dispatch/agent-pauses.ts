/**
 * Quota pauses (issue 14, part 1): when an agent's job failed with a `quota` failure, this runner
 * stops claiming jobs for that agent until the limit resets, and keeps claiming jobs for its other
 * agents. The dispatcher records the pause from the outcome it reports; the listener leaves the
 * paused agents out of its claims (runner/dispatch/listener.ts). In memory only: a restarted
 * runner claims again, and the app still holds the failed job itself until the reset (its
 * not-before time), so a lost pause costs at most one more failed run.
 */
import type { JobOutcomeInput } from "../../src/protocol/index.js";

/** Pause when the CLI gave no reset time (the app's backoff decides the job itself). */
export const DEFAULT_QUOTA_PAUSE_MS = 5 * 60_000;
/** The longest pause a reported reset time can ask for. */
export const MAX_QUOTA_PAUSE_MS = 7 * 24 * 3_600_000;

export interface AgentPauses {
  /** Pauses `agent` until `until` (ms since the epoch); the later of two pauses wins. */
  pause(agent: string, until: number): void;
  /** The agents paused at `now`, each with the time it resumes. */
  paused(now: number): ReadonlyMap<string, number>;
}

export function createAgentPauses(): AgentPauses {
  const pauses = new Map<string, number>();
  return {
    pause(agent, until) {
      pauses.set(agent, Math.max(until, pauses.get(agent) ?? 0));
    },
    paused(now) {
      for (const [agent, until] of pauses) if (until <= now) pauses.delete(agent);
      return new Map(pauses);
    },
  };
}

/** Until when a job's outcome pauses its agent: a quota failure's reset (bounded), else none. */
export function quotaPauseUntil(outcome: JobOutcomeInput, now: number): number | undefined {
  if (outcome.status !== "failed" || outcome.failureClass !== "quota") return undefined;
  const reset = outcome.resetAt === undefined ? Number.NaN : Date.parse(outcome.resetAt);
  if (Number.isNaN(reset)) return now + DEFAULT_QUOTA_PAUSE_MS;
  return Math.min(now + MAX_QUOTA_PAUSE_MS, Math.max(now, reset));
}

/** The claim's agents without the paused ones; empty when every one is paused. */
export function unpausedAgents(
  agents: readonly string[],
  paused: ReadonlyMap<string, number>,
): string[] {
  return agents.filter((agent) => !paused.has(agent));
}
