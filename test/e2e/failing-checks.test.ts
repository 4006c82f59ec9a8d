/**
 * Failing CI end to end: the agent's first push breaks the sample repository's test suite, the
 * gate sees the simulated CI fail and queues a fix-checks job whose prompt carries the failing
 * check's output, and the agent's second push makes the PR green.
 */
import { describe, expect, it } from "vitest";

import { REPO } from "./harness.js";
import {
  agentLabels,
  checkRuns,
  checkRunText,
  mathWith,
  nodeTest,
  progressComment,
  useE2E,
  waitForState,
} from "./steps.js";

const TITLE = "Add multiply";

const TEST = nodeTest("multiply", "math.js", "assert.equal(multiply(4, 5), 20);");

// What node --test prints for the broken multiply: only the failing check's output has it.
const FAILURE = "9 !== 20";

describe("end to end: failing checks", () => {
  const harness = useE2E();

  it("sends the failing check to a fix-checks job and reaches review once CI is green", async () => {
    const e2e = harness();
    // The fix job is recognised by the failure in its prompt (so this key comes first); the
    // implement job by the title.
    e2e.script(FAILURE, [
      { files: { "src/math.js": mathWith("return a * b;") }, say: "multiply() multiplies now." },
    ]);
    e2e.script(TITLE, [
      {
        files: { "src/math.js": mathWith("return a + b;"), "test/multiply.test.js": TEST },
        say: "Added multiply() with a test.",
      },
    ]);
    const issue = await e2e.fileIssue(TITLE, "Add `multiply(a, b)` to src/math.js, with a test.");
    await e2e.maintainer.labelIssue(REPO, issue, "agent:ready");

    await e2e.waitFor("a draft PR from kanbot", () => e2e.pullFor(issue) !== undefined);
    const pull = e2e.pullFor(issue);
    if (pull === undefined) throw new Error("no PR");
    const firstHead = pull.headSha;
    await e2e.waitFor(`CI to fail on the first head ${firstHead.slice(0, 7)}`, () =>
      e2e.sim.ciRuns.some((run) => run.sha === firstHead && run.exitCode !== 0),
    );

    await waitForState(e2e, issue, "agent:review", "In review");
    const fixed = e2e.sim.pull(REPO, pull.number);
    expect(fixed.headSha).not.toBe(firstHead);
    expect(fixed.head).toBe(pull.head);
    expect(fixed.draft).toBe(false);
    expect(fixed.state).toBe("open");
    // GitHub shows the failure on the first head and green checks on the fixed one.
    expect(checkRuns(e2e, firstHead)).toContain("test=failure");
    expect(checkRunText(e2e, firstHead, "test")).toContain(FAILURE);
    expect(checkRuns(e2e, fixed.headSha)).toEqual(
      expect.arrayContaining(["test=success", "kanbot=success"]),
    );
    // CI ran twice on the branch: red, then green after the fix job.
    const runs = e2e.sim.ciRuns.filter((run) => run.branch === pull.head);
    expect(runs.map((run) => run.exitCode)).toEqual([1, 0]);
    // The fix job's agent found the failure in its prompt: its log (the kanbot check run's tail)
    // shows the script picked by FAILURE.
    expect(checkRunText(e2e, fixed.headSha, "kanbot")).toContain(`run 1 for "${FAILURE}"`);
    const comment = progressComment(e2e, issue);
    expect(comment).toContain("Checks failed on");
    expect(comment).toContain("fix-checks");
    expect(comment).toMatch(/ready for review/);
    expect(agentLabels(e2e, issue)).toEqual(["agent:review"]);
    expect(e2e.sim.violations).toEqual([]);
  });
});
