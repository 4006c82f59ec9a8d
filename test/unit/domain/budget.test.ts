import { describe, expect, it } from "vitest";

import {
  addJobCost,
  describeBudget,
  describeSpentLimit,
  noBudgetUsed,
  spentLimit,
} from "../../../src/domain/budget.js";
import type { Budget, BudgetUsed } from "../../../src/domain/types.js";

const BUDGET: Budget = { attempts: 3, minutes: 60, usd: 5 };

function used(overrides: Partial<BudgetUsed>): BudgetUsed {
  return { ...noBudgetUsed(), ...overrides };
}

describe("spentLimit", () => {
  it.each([
    [used({}), null],
    [used({ attempts: 2, minutes: 59.9, usd: 4.99 }), null],
    [used({ attempts: 3 }), "attempts"],
    [used({ attempts: 4 }), "attempts"],
    [used({ minutes: 60 }), "minutes"],
    [used({ usd: 5 }), "usd"],
    [used({ attempts: 3, minutes: 60, usd: 5 }), "attempts"],
    [used({ minutes: 70, usd: 9 }), "minutes"],
    [used({ lostLeases: 99 }), null],
  ])("%o -> %s", (spent, expected) => {
    expect(spentLimit(BUDGET, spent)).toBe(expected);
  });
});

describe("addJobCost", () => {
  it.each([
    [
      { minutes: 5, usd: 0.5 },
      { minutes: 15, usd: 1.5 },
    ],
    [
      { minutes: -5, usd: -1 },
      { minutes: 10, usd: 1 },
    ],
    [
      { minutes: Number.NaN, usd: Number.POSITIVE_INFINITY },
      { minutes: 10, usd: 1 },
    ],
  ])("adds %o", (cost, expected) => {
    const before = used({ attempts: 1, minutes: 10, usd: 1 });

    const after = addJobCost(before, cost);

    expect(after).toEqual({ ...before, ...expected });
    expect(before.minutes).toBe(10);
  });
});

describe("describing the budget", () => {
  it("shows every limit", () => {
    expect(describeBudget(BUDGET, used({ attempts: 2, minutes: 14.25, usd: 0.8 }))).toBe(
      "2 of 3 attempts, 14.3 of 60 minutes, $0.80 of $5.00",
    );
  });

  it.each([
    ["attempts", "3 of 3 jobs"],
    ["minutes", "61 of 60 minutes"],
    ["usd", "$5.20 of $5.00"],
  ] as const)("says which %s limit is spent and what to do", (limit, figures) => {
    const message = describeSpentLimit(limit, BUDGET, used({ attempts: 3, minutes: 61, usd: 5.2 }));

    expect(message).toContain(figures);
    expect(message).toContain("/kanbot retry");
  });
});
