// Budget labels (issue 14, part 3): what `budget:5usd` and `budget:30m` mean, and which value the
// task's budget takes at a start and after it.
import { describe, expect, it } from "vitest";

import {
  budgetLabelOverride,
  budgetWithLabels,
  parseBudgetLabel,
} from "../../../src/domain/budget.js";
import { DEFAULT_REPO_CONFIG } from "../../../src/config/repo-config.js";
import { taskPolicyFor, taskPolicyOf } from "../../../src/tasks/repo-config.js";

const REPOSITORY = { attempts: 3, minutes: 60, usd: 10 };

describe("parseBudgetLabel", () => {
  it.each([
    ["budget:5usd", { limit: "usd", value: 5 }],
    ["budget:2.5USD", { limit: "usd", value: 2.5 }],
    ["budget:$5", { limit: "usd", value: 5 }],
    ["budget: 5 usd", { limit: "usd", value: 5 }],
    ["budget:30m", { limit: "minutes", value: 30 }],
    ["budget:30min", { limit: "minutes", value: 30 }],
    ["Budget:45minutes", { limit: "minutes", value: 45 }],
    ["budget:2h", { limit: "minutes", value: 120 }],
  ])("%s", (label, expected) => {
    expect(parseBudgetLabel(label)).toEqual(expected);
  });

  it.each([
    "budget:5",
    "budget:0usd",
    "budget:-1usd",
    "budget:fiveusd",
    "agent:ready",
    "budget:5eur",
  ])("%s is not a budget label", (label) => {
    expect(parseBudgetLabel(label)).toBeUndefined();
  });
});

describe("budgetWithLabels", () => {
  it("several labels of one limit: the smallest wins", () => {
    expect(budgetLabelOverride(["budget:5usd", "budget:$3", "budget:1h"])).toEqual({
      usd: 3,
      minutes: 60,
    });
  });

  it("at a start, the labels' values replace the repository's", () => {
    expect(budgetWithLabels(REPOSITORY, ["bug", "budget:5usd"])).toEqual({
      attempts: 3,
      minutes: 60,
      usd: 5,
    });
  });

  it("after the start, a labelled limit keeps the stored value: a label nobody honoured changes nothing", () => {
    const stored = { attempts: 3, minutes: 60, usd: 10 };

    expect(budgetWithLabels(REPOSITORY, ["budget:500usd"], stored)).toEqual(stored);
  });

  it("after the start, a limit without a label follows the repository (a kanbot.yml change applies)", () => {
    const stored = { attempts: 3, minutes: 60, usd: 2 };

    expect(budgetWithLabels({ ...REPOSITORY, usd: 20 }, [], stored)).toEqual({
      attempts: 3,
      minutes: 60,
      usd: 20,
    });
  });
});

describe("taskPolicyFor", () => {
  const config = DEFAULT_REPO_CONFIG;

  it("a start takes the labels it honours; a later event the stored budget", () => {
    const task = {
      budget: { attempts: config.budget.attempts, minutes: config.budget.minutes, usd: 1 },
    };
    const start = { budgetLabels: ["budget:7usd"] };

    expect(taskPolicyFor(config, ["budget:7usd"], task, start).budget.usd).toBe(7);
    expect(taskPolicyFor(config, ["budget:7usd"], task, undefined).budget.usd).toBe(1);
    expect(taskPolicyFor(config, [], task, undefined).budget.usd).toBe(config.budget.usd);
  });

  it("a start ignores the budget labels it does not honour (a triage user's)", () => {
    const labels = ["budget:500usd", "budget:30m"];

    const policy = taskPolicyFor(config, labels, undefined, { budgetLabels: ["budget:30m"] });
    expect(policy.budget.usd).toBe(config.budget.usd);
    expect(policy.budget.minutes).toBe(30);
    expect(taskPolicyFor(config, labels, undefined, {}).budget).toEqual(
      taskPolicyOf(config).budget,
    );
  });
});
