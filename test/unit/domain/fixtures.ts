/** Shared snapshots, events and policy for the task machine's tests. */
import { DEFAULT_BACKOFF } from "../../../src/domain/backoff.js";
import { noBudgetUsed } from "../../../src/domain/budget.js";
import type {
  TaskEvent,
  TaskEventType,
  TaskPolicy,
  TaskSnapshot,
} from "../../../src/domain/task.js";
import type { BudgetUsed } from "../../../src/domain/types.js";

export const NOW = new Date("2025-03-01T12:00:00.000Z");
export const EARLIER = new Date("2025-03-01T11:00:00.000Z");

/** The PR head the snapshots know; a new head pushed by a job or a person; an old head. */
export const HEAD = "a".repeat(40);
export const NEW_HEAD = "b".repeat(40);
export const OLD_HEAD = "c".repeat(40);

export const POLICY: TaskPolicy = {
  budget: { attempts: 3, minutes: 60, usd: 5 },
  maxLostLeases: 3,
  backoff: DEFAULT_BACKOFF,
  deleteBranchOnMerge: true,
  fallback: { agents: [], after: 2 },
  // One hour: the needs-input snapshots entered their state an hour before NOW, so their
  // question is due.
  answerTimeoutHours: 1,
};

/** The planned answer job of the needs-input snapshots (src/domain/question.ts). */
export const ASKED = JSON.stringify({ question: "Which database?", askedBy: "implement" });

export function used(overrides: Partial<BudgetUsed> = {}): BudgetUsed {
  return { ...noBudgetUsed(), ...overrides };
}

function base(overrides: Partial<TaskSnapshot>): TaskSnapshot {
  return {
    state: "waiting",
    enteredAt: EARLIER,
    job: null,
    pr: null,
    used: used({ attempts: 1, minutes: 10, usd: 1 }),
    spent: used({ attempts: 1, minutes: 10, usd: 1 }),
    failures: 0,
    blocker: null,
    agent: null,
    ...overrides,
  };
}

/**
 * Every situation a task can be in that matters to the machine: each state, and for the states
 * where it makes a difference, with and without an open PR. `none` is an issue without a task.
 */
export const SITUATIONS = {
  none: null,
  waiting: base({
    state: "waiting",
    used: used(),
    spent: used(),
    job: { id: null, kind: "implement", instructions: null, notBefore: null },
  }),
  "queued:implement": base({
    state: "queued",
    job: { id: "job-1", kind: "implement", instructions: null, notBefore: null },
  }),
  "queued:fix-checks+pr": base({
    state: "queued",
    pr: { headSha: HEAD, draft: true },
    job: { id: "job-1", kind: "fix-checks", instructions: "lint failed", notBefore: null },
  }),
  "running:implement": base({
    state: "running",
    job: { id: "job-1", kind: "implement", instructions: null, notBefore: null },
  }),
  "running:revise+pr": base({
    state: "running",
    pr: { headSha: HEAD, draft: false },
    job: { id: "job-1", kind: "revise", instructions: "rename foo", notBefore: null },
  }),
  checks: base({ state: "checks", pr: { headSha: HEAD, draft: true } }),
  review: base({ state: "review", pr: { headSha: HEAD, draft: false } }),
  done: base({ state: "done", pr: { headSha: HEAD, draft: false } }),
  blocked: base({
    state: "blocked",
    used: used({ attempts: 3, minutes: 30, usd: 2 }),
    spent: used({ attempts: 3, minutes: 30, usd: 2 }),
    failures: 3,
    job: { id: null, kind: "implement", instructions: null, notBefore: null },
    blocker: { cause: "attempts-spent", message: "attempt budget spent", error: "boom" },
  }),
  "blocked+pr": base({
    state: "blocked",
    used: used({ attempts: 3, minutes: 30, usd: 2 }),
    spent: used({ attempts: 3, minutes: 30, usd: 2 }),
    pr: { headSha: HEAD, draft: true },
    job: { id: null, kind: "fix-checks", instructions: "lint failed", notBefore: null },
    blocker: { cause: "attempts-spent", message: "attempt budget spent", error: "lint failed" },
  }),
  "needs-input": base({
    state: "needs-input",
    job: { id: null, kind: "answer", instructions: ASKED, notBefore: null },
  }),
  "needs-input+pr": base({
    state: "needs-input",
    pr: { headSha: HEAD, draft: true },
    job: { id: null, kind: "answer", instructions: ASKED, notBefore: null },
  }),
  "blocked:unanswered": base({
    state: "blocked",
    job: { id: null, kind: "answer", instructions: ASKED, notBefore: null },
    blocker: { cause: "question-unanswered", message: "nobody answered", error: null },
  }),
  canceled: base({ state: "canceled" }),
  "canceled+pr": base({ state: "canceled", pr: { headSha: HEAD, draft: false } }),
} satisfies Record<string, TaskSnapshot | null>;

export type Situation = keyof typeof SITUATIONS;

export const SITUATION_NAMES = Object.keys(SITUATIONS) as Situation[];

/** One representative event of each type, about the snapshots' current head and job. */
export const EVENTS = {
  triggered: { type: "triggered", source: "label", dependenciesOpen: false },
  retry: { type: "retry", dependenciesOpen: false },
  "dependencies-cleared": { type: "dependencies-cleared" },
  "job-claimed": { type: "job-claimed", jobId: "job-1" },
  "job-succeeded": {
    type: "job-succeeded",
    jobId: "job-1",
    headSha: NEW_HEAD,
    minutes: 12,
    usd: 0.75,
  },
  "job-failed": {
    type: "job-failed",
    jobId: "job-1",
    error: "agent exited with code 1\nstack...",
    minutes: 5,
    usd: 0.25,
    fatal: false,
  },
  "job-needs-input": {
    type: "job-needs-input",
    jobId: "job-1",
    question: "Which database should this use?",
    minutes: 3,
    usd: 0.1,
  },
  "job-lost": { type: "job-lost", jobId: "job-1", minutes: 15 },
  "checks-passed": { type: "checks-passed", headSha: HEAD },
  "checks-failed": { type: "checks-failed", headSha: HEAD, summary: "test: 2 failed" },
  "revise-requested": { type: "revise-requested", source: "review", instructions: "use a map" },
  "base-moved-with-conflict": { type: "base-moved-with-conflict", headSha: HEAD },
  "head-pushed": { type: "head-pushed", headSha: NEW_HEAD },
  "pr-merged": { type: "pr-merged" },
  "pr-closed-unmerged": { type: "pr-closed-unmerged" },
  cancel: { type: "cancel", source: "command" },
  "needs-human": { type: "needs-human", reason: "the branch touches .github/workflows/" },
  answered: { type: "answered", answer: "Use Postgres.", author: "maintainer" },
  "question-timed-out": { type: "question-timed-out" },
} as const satisfies { [K in TaskEventType]: Extract<TaskEvent, { type: K }> };

export function situation(name: Situation): TaskSnapshot | null {
  const task = SITUATIONS[name];
  return task === null ? null : structuredClone(task);
}

/** A snapshot of `name` with some fields replaced (the situation must have a task). */
export function variant(
  name: Exclude<Situation, "none">,
  overrides: Partial<TaskSnapshot>,
): TaskSnapshot {
  return { ...structuredClone(SITUATIONS[name]), ...overrides };
}
