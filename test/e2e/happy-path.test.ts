/**
 * The loop end to end, with nothing mocked between the parts: the real app server and a real
 * runner process against the GitHub simulator, the fake agent editing the sample repository, the
 * simulated CI running its real test suite, and the maintainer approving and merging.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { MAINTAINER, REPO, startE2E, type E2E } from "./harness.js";
import { mathWith, nodeTest } from "./steps.js";

const MULTIPLY = {
  "src/math.js": mathWith("return a * b;"),
  "test/multiply.test.js": nodeTest("multiply", "math.js", "assert.equal(multiply(4, 5), 20);"),
};

const SUBTRACT = {
  "src/subtract.js": "export function subtract(a, b) {\n  return a - b;\n}\n",
  "test/subtract.test.js": nodeTest("subtract", "subtract.js", "assert.equal(subtract(5, 3), 2);"),
};

// Imports A's module: on a branch cut before A's merge, its test fails.
const NEGATE = {
  "src/negate.js": [
    'import { subtract } from "./subtract.js";',
    "",
    "export function negate(a) {",
    "  return subtract(0, a);",
    "}",
    "",
  ].join("\n"),
  "test/negate.test.js": nodeTest("negate", "negate.js", "assert.equal(negate(4), -4);"),
};

describe("end to end: app + runner + simulator", () => {
  let e2e: E2E;

  beforeAll(async () => {
    e2e = await startE2E({ logLevel: process.env.KANBOT_E2E_LOG_LEVEL ?? "info" });
  });

  afterAll(async () => {
    await e2e?.stop();
  });

  it("takes a labeled issue to a merged PR and a Done card", async () => {
    e2e.script("Add multiply", [{ files: MULTIPLY, say: "Added multiply() with a test." }]);
    const issue = await e2e.fileIssue(
      "Add multiply",
      "Add `multiply(a, b)` to src/math.js, with a test.",
    );
    await e2e.maintainer.labelIssue(REPO, issue, "agent:ready");

    await e2e.waitFor("the issue to be accepted", () =>
      ["agent:queued", "agent:working", "agent:checks", "agent:review"].some((label) =>
        e2e.hasLabel(issue, label),
      ),
    );
    expect(e2e.hasLabel(issue, "agent:ready")).toBe(false);

    await e2e.waitFor("a draft PR from kanbot", () => e2e.pullFor(issue) !== undefined);
    const opened = e2e.pullFor(issue);
    expect(opened?.head).toMatch(new RegExp(`^kanbot/${issue}-`));
    expect(await e2e.branchExists(opened?.head ?? "")).toBe(true);

    await e2e.waitFor(
      "the task to reach review (label, card, PR out of draft)",
      () =>
        e2e.hasLabel(issue, "agent:review") &&
        e2e.column(issue) === "In review" &&
        e2e.pullFor(issue)?.draft === false,
    );
    const pull = e2e.pullFor(issue);
    if (pull === undefined) throw new Error("no PR");
    const view = e2e.issue(issue);
    expect(view.labels.filter((label) => label.startsWith("agent:"))).toEqual(["agent:review"]);
    expect(view.column).toBe("In review");
    expect(pull.state).toBe("open");
    expect(pull.draft).toBe(false);
    expect(pull.requestedReviewers).toContain(MAINTAINER);
    expect(view.pull?.checks).toContain("test=success");
    // The agent's change is on the branch and CI ran the sample repo's suite on it.
    const ciRun = e2e.sim.ciRuns.find((run) => run.sha === pull.headSha);
    expect(ciRun?.exitCode).toBe(0);
    expect(ciRun?.output).toMatch(/# pass 2\b/);
    const body = e2e.sim.state.mustIssue(e2e.sim.state.mustRepo(REPO), pull.number).body ?? "";
    expect(body).toMatch(new RegExp(`Closes #${issue}\\b`));

    await e2e.maintainer.approve(REPO, pull.number, "Looks good.");
    await e2e.maintainer.merge(REPO, pull.number);

    await e2e.waitFor(
      "the task to be done (label, card)",
      () => e2e.hasLabel(issue, "agent:done") && e2e.column(issue) === "Done",
    );
    const done = e2e.issue(issue);
    expect(done.state).toBe("closed");
    expect(done.labels.filter((label) => label.startsWith("agent:"))).toEqual(["agent:done"]);
    expect(done.column).toBe("Done");
    expect(e2e.sim.pull(REPO, pull.number).merged).toBe(true);
    await e2e.waitFor(
      "the task branch to be deleted",
      async () => !(await e2e.branchExists(pull.head)),
    );
    // One sticky progress comment, edited along the way.
    const comments = e2e.botComments(issue);
    expect(comments).toHaveLength(1);
    expect(comments[0]).toContain(`/pull/${pull.number}`);
    expect(e2e.sim.violations).toEqual([]);
  });

  it("starts B, which depends on A, only once A's PR is merged", async () => {
    e2e.script("Add subtract", [{ files: SUBTRACT, say: "Added subtract()." }]);
    e2e.script("Add negate", [{ files: NEGATE, say: "Added negate() on top of subtract()." }]);
    const a = await e2e.fileIssue("Add subtract", "Add `subtract(a, b)` to src/math.js.");
    const b = await e2e.fileIssue(
      "Add negate",
      `Add \`negate(a)\` built on subtract.\n\nDepends on #${a}`,
    );
    await e2e.maintainer.labelIssue(REPO, b, "agent:ready");
    await e2e.waitFor(
      "B to wait for A (label, card Ready)",
      () => e2e.hasLabel(b, "agent:waiting") && e2e.column(b) === "Ready",
    );
    await e2e.maintainer.labelIssue(REPO, a, "agent:ready");

    await e2e.waitFor(
      "A to reach review",
      () => e2e.hasLabel(a, "agent:review") && e2e.column(a) === "In review",
    );
    // A's PR is open but not merged: B still waits, and no PR of B exists.
    expect(e2e.hasLabel(b, "agent:waiting")).toBe(true);
    expect(e2e.pullFor(b)).toBeUndefined();

    const pullA = e2e.pullFor(a);
    if (pullA === undefined) throw new Error("no PR for A");
    await e2e.maintainer.approve(REPO, pullA.number);
    await e2e.maintainer.merge(REPO, pullA.number);

    await e2e.waitFor("A to be done", () => e2e.hasLabel(a, "agent:done"));
    await e2e.waitFor(
      "B to reach review",
      () => e2e.hasLabel(b, "agent:review") && e2e.column(b) === "In review",
    );
    const pullB = e2e.pullFor(b);
    // B's branch starts from main after A's merge: its CI ran A's tests and its own.
    const ciB = e2e.sim.ciRuns.find((run) => run.sha === pullB?.headSha);
    expect(ciB?.exitCode).toBe(0);
    expect(ciB?.output).toMatch(/# pass 4\b/);
    expect(e2e.sim.violations).toEqual([]);
  });
});
