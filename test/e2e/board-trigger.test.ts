/**
 * The board as the trigger end to end: the maintainer drags an issue's card to Ready on the
 * Projects board named in `.github/kanbot.yml` (no label involved); kanbot accepts the task, the
 * runner does the work and the card moves along the board to In review.
 */
import { describe, expect, it } from "vitest";

import { REPO } from "./harness.js";
import {
  agentLabels,
  nodeTest,
  progressComment,
  useE2E,
  waitForIssue,
  waitForState,
} from "./steps.js";

const TITLE = "Add max";

const MAX = {
  "src/max.js": "export function max(a, b) {\n  return a > b ? a : b;\n}\n",
  "test/max.test.js": nodeTest("max", "max.js", "assert.equal(max(2, 7), 7);"),
};

describe("end to end: a card moved to Ready", () => {
  // Debug logs: the app says when it ignores a card move, which GitHub would not show.
  const harness = useE2E({ logLevel: "debug" });

  it("starts the task and moves the card along the board", async () => {
    const e2e = harness();
    e2e.script(TITLE, [{ files: MAX, say: "Added max()." }]);
    const issue = await e2e.fileIssue(TITLE, "Add `max(a, b)` in src/max.js.");
    // On the board but not in the trigger column: nothing happens.
    await e2e.maintainer.moveCard(REPO, issue, "Todo");
    await e2e.waitFor("the app to ignore the card in Todo", () =>
      /card not in the trigger column; ignored/.test(e2e.logs(400)),
    );
    expect(agentLabels(e2e, issue)).toEqual([]);
    expect(progressComment(e2e, issue)).toBe("");

    await e2e.maintainer.moveCard(REPO, issue, "Ready");
    await waitForIssue(e2e, issue, "the task to be accepted", () =>
      progressComment(e2e, issue).includes("Accepted; queued an implement job"),
    );
    await waitForState(e2e, issue, "agent:review", "In review");

    const pull = e2e.pullFor(issue);
    expect(pull?.state).toBe("open");
    expect(pull?.draft).toBe(false);
    expect(e2e.sim.ciRuns.find((run) => run.sha === pull?.headSha)?.exitCode).toBe(0);
    // The card went through the columns kanbot mirrors; no trigger label was ever needed.
    expect(agentLabels(e2e, issue)).toEqual(["agent:review"]);
    expect(e2e.issue(issue).labels).not.toContain("agent:ready");
    expect(e2e.sim.violations).toEqual([]);
  });
});
