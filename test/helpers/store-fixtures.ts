/**
 * Small builders for the store's tests: a clock the test moves by hand, and task / runner inputs
 * with sensible defaults.
 */
import type { NewTask, RunnerCapabilities } from "../../src/store/types.js";

export interface ManualClock {
  now: () => Date;
  advance(ms: number): void;
  /** Back to the start time (for a store shared by several tests). */
  reset(): void;
}

export function manualClock(start = Date.parse("2026-01-01T00:00:00.000Z")): ManualClock {
  let current = start;
  return {
    now: () => new Date(current),
    advance(ms: number) {
      current += ms;
    },
    reset() {
      current = start;
    },
  };
}

export function newTask(overrides: Partial<NewTask> = {}): NewTask {
  return {
    repo: "acme/widgets",
    installationId: 4242,
    issueNumber: 1,
    title: "Add a widget",
    body: "Please add a widget.",
    state: "queued",
    agent: "claude",
    requiredLabels: [],
    priority: 2,
    budget: { attempts: 5, minutes: 120, usd: 10 },
    startedBy: "octocat",
    ...overrides,
  };
}

export function runner(overrides: Partial<RunnerCapabilities> = {}): RunnerCapabilities {
  return {
    runnerId: "runner-1",
    agents: ["claude", "codex"],
    labels: [],
    repos: [],
    ...overrides,
  };
}
