import { describe, expect, it } from "vitest";

import {
  decideGate,
  type CheckRunInput,
  type CheckRunStatus,
  type CommitStatusInput,
  type GateInput,
} from "../../../src/domain/gate.js";
import { gateWaitingText, type NoChecksHint } from "../../../src/domain/gate-progress.js";

const HEAD = "a".repeat(40);
const ACTIONS = { id: 15368, slug: "github-actions" };
const SINCE = new Date("2025-03-01T12:00:00Z");

function minute(n: number): Date {
  return new Date(SINCE.getTime() + n * 60_000);
}

let nextId = 1;

function run(
  name: string,
  status: CheckRunStatus,
  conclusion: CheckRunInput["conclusion"] = null,
): CheckRunInput {
  return {
    id: nextId++,
    name,
    headSha: HEAD,
    status,
    conclusion: status === "completed" ? (conclusion ?? "success") : null,
    startedAt: status === "queued" ? null : minute(1),
    completedAt: status === "completed" ? minute(2) : null,
    app: ACTIONS,
  };
}

function commitStatus(context: string, state: CommitStatusInput["state"]): CommitStatusInput {
  return { context, sha: HEAD, state, createdAt: minute(1), updatedAt: minute(1) };
}

const HINT: NoChecksHint = {
  branchPrefix: "kanbot/",
  baseBranch: "main",
  startDeadlineMinutes: 10,
};

function text(partial: Partial<GateInput>, hint: NoChecksHint = HINT): string | null {
  return gateWaitingText(
    decideGate({
      headSha: HEAD,
      checkRuns: [],
      statuses: [],
      protection: null,
      self: { appId: null },
      startDeadlineMinutes: hint.startDeadlineMinutes,
      whenNone: "wait",
      prCreatedAt: SINCE,
      now: minute(3),
      ...partial,
    }),
    hint,
  );
}

describe("gateWaitingText", () => {
  it.each<[string, Partial<GateInput>, string | null]>([
    [
      "one check in progress",
      { checkRuns: [run("build", "in_progress")] },
      "waiting for build (in progress)",
    ],
    [
      "running and queued, by name in order",
      { checkRuns: [run("test", "queued"), run("build", "in_progress")] },
      "waiting for build (in progress), test (queued)",
    ],
    [
      "one passed while another runs: the count and the name",
      { checkRuns: [run("build", "completed"), run("test", "in_progress")] },
      "waiting for test (in progress); 1 passed (build)",
    ],
    [
      "neutral and skipped count as passed",
      {
        checkRuns: [
          run("docs", "completed", "skipped"),
          run("lint", "completed", "neutral"),
          run("test", "in_progress"),
        ],
      },
      "waiting for test (in progress); 2 passed (docs, lint)",
    ],
    [
      "more than five passed: only the count",
      {
        checkRuns: [
          ...["a", "b", "c", "d", "e", "f"].map((name) => run(name, "completed")),
          run("test", "waiting"),
        ],
      },
      "waiting for test (waiting); 6 passed",
    ],
    [
      "more than five waiting: the first five and how many more",
      { checkRuns: ["a", "b", "c", "d", "e", "f", "g"].map((name) => run(name, "queued")) },
      "waiting for a (queued), b (queued), c (queued), d (queued), e (queued) and 2 more",
    ],
    [
      "a required check not reported yet",
      {
        checkRuns: [run("build", "completed")],
        protection: [{ name: "build" }, { name: "sec" }],
      },
      "waiting for sec (not reported yet); 1 passed (build)",
    ],
    [
      "a pending commit status",
      { statuses: [commitStatus("ci/circle", "pending")] },
      "waiting for ci/circle (pending)",
    ],
    [
      "no checks yet: the end of the wait, in UTC",
      {},
      "no checks on the head yet; waiting until 2025-03-01T12:10:00Z",
    ],
    ["passed: nothing to show", { checkRuns: [run("build", "completed")] }, null],
    ["failed: nothing to show", { checkRuns: [run("build", "completed", "failure")] }, null],
    [
      "no checks after the wait with whenNone: pass: passed, nothing to show",
      { now: minute(11), whenNone: "pass" },
      null,
    ],
    [
      "no check ran by the deadline (whenNone: wait): the PR stays a draft, and how to make CI run",
      { now: minute(11) },
      "no check ran on the head within 10 minutes, so the PR stays a draft. " +
        "To have CI check kanbot's branches (kanbot/…), run a workflow on pull_request " +
        "(its branches filter, if any, must include the base branch, main) or on push with " +
        'branches: ["kanbot/**"]; a check that runs on the PR\'s head then decides the gate. ' +
        "Or comment /kanbot ready to mark the PR ready for review without checks.",
    ],
  ])("%s", (_name, input, expected) => {
    expect(text(input)).toBe(expected);
  });

  it("does not change while the same checks wait, however much later it is asked", () => {
    const checkRuns = [run("build", "completed"), run("test", "in_progress")];

    expect(text({ checkRuns, now: minute(4) })).toBe(text({ checkRuns, now: minute(40) }));
  });

  it("names the configured branch prefix, base branch and deadline when no check ran", () => {
    const hint = { branchPrefix: "bots/", baseBranch: "develop", startDeadlineMinutes: 1 };

    const held = text({ now: minute(2) }, hint);

    expect(held).toMatch(/^no check ran on the head within 1 minute, so the PR stays a draft\./);
    expect(held).toContain("(bots/…)");
    expect(held).toContain("the base branch, develop");
    expect(held).toContain('branches: ["bots/**"]');
  });

  it("does not change while no check runs, however much later it is asked", () => {
    expect(text({ now: minute(11) })).toBe(text({ now: minute(500) }));
  });

  it("changes when a check moves from queued to in progress", () => {
    expect(text({ checkRuns: [run("test", "queued")] })).not.toBe(
      text({ checkRuns: [run("test", "in_progress")] }),
    );
  });
});
