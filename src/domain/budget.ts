/**
 * Budget accounting for a task (DESIGN section 2): every job counts against the task's budget of
 * attempts, wall-clock minutes and agent cost in USD. Pure: no clock, no I/O.
 */
import type { Budget, BudgetUsed } from "./types.js";

/** The three limits of a {@link Budget}, in the order they are checked. */
export type BudgetLimit = "attempts" | "minutes" | "usd";

export const BUDGET_LIMITS = [
  "attempts",
  "minutes",
  "usd",
] as const satisfies readonly BudgetLimit[];

/** What one job cost, as the runner (or, for a lost lease, the app's clock) measured it. */
export interface JobCost {
  minutes: number;
  usd: number;
}

/** A fresh account: nothing spent. */
export function noBudgetUsed(): BudgetUsed {
  return { attempts: 0, minutes: 0, usd: 0, lostLeases: 0 };
}

/**
 * The first limit that leaves no room for another job, or null when one more job may start.
 * A limit is spent when the amount used has reached it (`used >= limit`): a budget of 3 attempts
 * allows exactly 3 jobs, and a job that ran past the minutes or USD limit stops the next one.
 */
export function spentLimit(budget: Budget, used: BudgetUsed): BudgetLimit | null {
  for (const limit of BUDGET_LIMITS) {
    if (used[limit] >= budget[limit]) return limit;
  }
  return null;
}

/**
 * Adds a finished job's cost. Negative or non-finite figures (a clock skew, a missing cost
 * report) count as zero rather than refunding the budget.
 */
export function addJobCost(used: BudgetUsed, cost: JobCost): BudgetUsed {
  return {
    ...used,
    minutes: used.minutes + nonNegative(cost.minutes),
    usd: used.usd + nonNegative(cost.usd),
  };
}

/** Counts one more job started against the attempts limit. */
export function addAttempt(used: BudgetUsed): BudgetUsed {
  return { ...used, attempts: used.attempts + 1 };
}

/** Counts one more lost lease (a runner vanished while holding the job). */
export function addLostLease(used: BudgetUsed): BudgetUsed {
  return { ...used, lostLeases: used.lostLeases + 1 };
}

/** "2 of 3 attempts, 14 of 60 minutes, $0.80 of $5.00": for progress comments and PR bodies. */
export function describeBudget(budget: Budget, used: BudgetUsed): string {
  return [
    `${used.attempts} of ${budget.attempts} attempts`,
    `${formatMinutes(used.minutes)} of ${formatMinutes(budget.minutes)} minutes`,
    `${formatUsd(used.usd)} of ${formatUsd(budget.usd)}`,
  ].join(", ");
}

/** Why no further job may start, in words a maintainer can act on. */
export function describeSpentLimit(limit: BudgetLimit, budget: Budget, used: BudgetUsed): string {
  const next =
    "raise `budget` in .github/kanbot.yml or comment `/kanbot retry` to grant a fresh budget";
  switch (limit) {
    case "attempts":
      return `attempt budget spent: ${used.attempts} of ${budget.attempts} jobs used; ${next}`;
    case "minutes":
      return `time budget spent: ${formatMinutes(used.minutes)} of ${formatMinutes(budget.minutes)} minutes used; ${next}`;
    case "usd":
      return `cost budget spent: ${formatUsd(used.usd)} of ${formatUsd(budget.usd)} used; ${next}`;
  }
}

function nonNegative(value: number): number {
  return Number.isFinite(value) && value > 0 ? value : 0;
}

function formatMinutes(minutes: number): string {
  return Number.isInteger(minutes) ? String(minutes) : minutes.toFixed(1);
}

function formatUsd(usd: number): string {
  return `$${usd.toFixed(2)}`;
}

// ---------------------------------------------------------------------------------------------
// Budget labels (issue 14, part 3): `budget:5usd`, `budget:30m` on the issue override the
// repository's default for that task, when a person with the trigger permission set them.
// ---------------------------------------------------------------------------------------------

/** What one budget label sets. */
export type BudgetLabelValue =
  { limit: "usd"; value: number } | { limit: "minutes"; value: number };

/** The overrides the budget labels of an issue ask for (when several ask, the smallest wins). */
export type BudgetOverride = Partial<Pick<Budget, "usd" | "minutes">>;

const AMOUNT = String.raw`(\d+(?:\.\d+)?)`;
const BUDGET_LABELS: readonly {
  pattern: RegExp;
  limit: BudgetLabelValue["limit"];
  factor: number;
}[] = [
  { pattern: new RegExp(`^budget:\\s*\\$${AMOUNT}$`, "i"), limit: "usd", factor: 1 },
  { pattern: new RegExp(`^budget:\\s*${AMOUNT}\\s*usd$`, "i"), limit: "usd", factor: 1 },
  {
    pattern: new RegExp(`^budget:\\s*${AMOUNT}\\s*(?:m|min|mins|minutes)$`, "i"),
    limit: "minutes",
    factor: 1,
  },
  {
    pattern: new RegExp(`^budget:\\s*${AMOUNT}\\s*(?:h|hours?)$`, "i"),
    limit: "minutes",
    factor: 60,
  },
];

/**
 * A budget label's limit and value: `budget:5usd`, `budget:$5`, `budget:2.5usd` (dollars);
 * `budget:30m`, `budget:30min`, `budget:2h` (minutes). Undefined for any other label, and for a
 * zero or a number without a unit.
 */
export function parseBudgetLabel(label: string): BudgetLabelValue | undefined {
  for (const { pattern, limit, factor } of BUDGET_LABELS) {
    const amount = pattern.exec(label.trim())?.[1];
    if (amount === undefined) continue;
    const value = Number(amount) * factor;
    return Number.isFinite(value) && value > 0 ? { limit, value } : undefined;
  }
  return undefined;
}

/** What the budget labels ask for; the smallest value of each limit wins. */
export function budgetLabelOverride(labels: readonly string[]): BudgetOverride {
  const override: BudgetOverride = {};
  for (const label of labels) {
    const parsed = parseBudgetLabel(label);
    if (parsed === undefined) continue;
    const current = override[parsed.limit];
    override[parsed.limit] = current === undefined ? parsed.value : Math.min(current, parsed.value);
  }
  return override;
}

/**
 * The task's budget: the repository's, with the limits the budget labels set taken from
 * `honoured`. At a start it is the values of the labels a person with the trigger permission
 * added (src/tasks/budget-label.ts `honouredBudgetLabels`); later, the task's stored budget,
 * which only a person with that permission changes (adding a label): a label someone else added
 * leaves the stored value, so it changes nothing. Without budget labels the repository's budget
 * holds, so a change to `.github/kanbot.yml` applies as before.
 */
export function budgetWithLabels(
  repository: Budget,
  labels: readonly string[],
  honoured: BudgetOverride = budgetLabelOverride(labels),
): Budget {
  const asked = budgetLabelOverride(labels);
  return {
    attempts: repository.attempts,
    minutes:
      asked.minutes === undefined ? repository.minutes : (honoured.minutes ?? repository.minutes),
    usd: asked.usd === undefined ? repository.usd : (honoured.usd ?? repository.usd),
  };
}
