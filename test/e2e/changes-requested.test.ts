/**
 * A review requesting changes end to end: the maintainer reviews kanbot's PR with a line comment,
 * a revise job carries the review to the agent, which pushes to the same branch; the PR (same
 * number, still ready) gets a new head, its checks run again and review is requested again.
 */
import { describe, expect, it } from "vitest";

import { MAINTAINER, REPO } from "./harness.js";
import {
  agentLabels,
  checkRuns,
  checkRunText,
  nodeTest,
  progressComment,
  useE2E,
  waitForState,
} from "./steps.js";

const TITLE = "Add square";

// The line comment the maintainer leaves; the revise job is recognised by it in its prompt.
const REQUEST = "Please also add cube(a) next to square";

describe("end to end: changes requested", () => {
  const harness = useE2E();

  it("revises the PR on the same branch and asks for review again", async () => {
    const e2e = harness();
    e2e.script(REQUEST, [
      {
        files: {
          "src/square.js":
            "export function square(a) {\n  return a * a;\n}\n\nexport function cube(a) {\n  return a * a * a;\n}\n",
          "test/cube.test.js": nodeTest("cube", "square.js", "assert.equal(cube(3), 27);"),
        },
        say: "Added cube() as the review asked.",
      },
    ]);
    e2e.script(TITLE, [
      {
        files: {
          "src/square.js": "export function square(a) {\n  return a * a;\n}\n",
          "test/square.test.js": nodeTest("square", "square.js", "assert.equal(square(3), 9);"),
        },
        say: "Added square().",
      },
    ]);
    const issue = await e2e.fileIssue(TITLE, "Add `square(a)` in src/square.js, with a test.");
    await e2e.maintainer.labelIssue(REPO, issue, "agent:ready");
    await waitForState(e2e, issue, "agent:review", "In review");
    const first = e2e.pullFor(issue);
    if (first === undefined) throw new Error("no PR");
    expect(first.requestedReviewers).toContain(MAINTAINER);
    // The simulator's PR object changes in place: keep what it was.
    const { number, head, headSha: firstHead } = first;

    await e2e.maintainer.requestChanges(REPO, number, "One more function, please.", [
      { path: "src/square.js", line: 2, body: REQUEST },
    ]);
    await e2e.waitFor("the revise job to push a new head", () => {
      const pull = e2e.pullFor(issue);
      return pull !== undefined && pull.headSha !== firstHead;
    });
    await waitForState(e2e, issue, "agent:review", "In review");

    const revised = e2e.sim.pull(REPO, number);
    expect(e2e.pullFor(issue)?.number).toBe(number);
    expect(revised.head).toBe(head);
    expect(revised.state).toBe("open");
    expect(revised.draft).toBe(false);
    expect(revised.requestedReviewers).toContain(MAINTAINER);
    expect(revised.reviews.map((review) => review.state)).toEqual(["CHANGES_REQUESTED"]);
    // The new head holds both commits' work, CI ran the whole suite on it and it is green.
    const ci = e2e.sim.ciRuns.find((run) => run.sha === revised.headSha);
    expect(ci?.exitCode).toBe(0);
    expect(ci?.output).toMatch(/# pass 3\b/);
    expect(checkRuns(e2e, revised.headSha)).toEqual(
      expect.arrayContaining(["test=success", "kanbot=success"]),
    );
    // The revise job's agent had the review comment in its prompt (the script picked by REQUEST).
    expect(checkRunText(e2e, revised.headSha, "kanbot")).toContain(`run 1 for "${REQUEST}"`);
    const comment = progressComment(e2e, issue);
    expect(comment).toContain("A review requested changes");
    expect(comment).toMatch(/revise job pushed [0-9a-f]{7}/);
    expect(agentLabels(e2e, issue)).toEqual(["agent:review"]);
    expect(e2e.sim.violations).toEqual([]);
  });
});
