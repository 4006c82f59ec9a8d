/**
 * Quota pauses (issue 14, part 1): when an agent's job failed with a `quota` failure, this runner
 * stops claiming jobs for that agent until the limit resets, and keeps claiming jobs for its other
 * agents. The dispatcher records the pause from the outcome it reports; the listener leaves the
 * paused agents out of its claims (runner/dispatch/listener.ts). The pauses are kept in a file
 * (`<workDir>/agent-pauses.json`, written whole and renamed into place), so a restarted runner
 * goes on waiting for the reset instead of spending one more run to learn the limit again. A
 * file that cannot be read or parsed is ignored (a pause is an economy, not a guarantee: the app
 * itself holds the failed job until its reset).
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";

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

/**
 * The runner's quota pauses; with `file`, read from it at once and written to it on every pause
 * (the runner's only writer, so no lock).
 */
export function createAgentPauses(file?: string): AgentPauses {
  const pauses = file === undefined ? new Map<string, number>() : readPauses(file);
  return {
    pause(agent, until) {
      pauses.set(agent, Math.max(until, pauses.get(agent) ?? 0));
      if (file !== undefined) writePauses(file, pauses);
    },
    paused(now) {
      for (const [agent, until] of pauses) if (until <= now) pauses.delete(agent);
      return new Map(pauses);
    },
  };
}

function readPauses(file: string): Map<string, number> {
  const pauses = new Map<string, number>();
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, "utf8"));
  } catch {
    return pauses;
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) return pauses;
  for (const [agent, until] of Object.entries(parsed)) {
    if (typeof until === "number" && Number.isFinite(until)) pauses.set(agent, until);
  }
  return pauses;
}

function writePauses(file: string, pauses: ReadonlyMap<string, number>): void {
  try {
    mkdirSync(dirname(file), { recursive: true });
    const temporary = `${file}.${process.pid}.tmp`;
    writeFileSync(temporary, `${JSON.stringify(Object.fromEntries(pauses))}\n`);
    renameSync(temporary, file);
  } catch {
    // Kept in memory all the same; the next pause tries the file again.
  }
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
