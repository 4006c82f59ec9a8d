/**
 * The board as the trigger end to end: the maintainer drags an issue's card to Ready on the
 * Projects board named in `.github/kanbot.yml` (no label involved); kanbot accepts the task, the
 * runner does the work and the card moves along the board to In review.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { REPO, startE2E, type E2E } from "./harness.js";
import { agentLabels, killAgents, progressComment, waitForIssue, waitForState } from "./steps.js";

const TITLE = "Add max";

const MAX = {
  "src/max.js": "export function max(a, b) {\n  return a > b ? a : b;\n}\n",
  "test/max.test.js": [
    'import assert from "node:assert/strict";',
    'import { test } from "node:test";',
    'import { max } from "../src/max.js";',
    "",
    'test("max", () => {',
    "  assert.equal(max(2, 7), 7);",
    "});",
    "",
  ].join("\n"),
};

describe("end to end: a card moved to Ready", () => {
  let e2e: E2E | undefined;

  beforeAll(async () => {
    // Debug logs: the app says when it ignores a card move, which GitHub would not show.
    e2e = await startE2E({ logLevel: "debug" });
  });

  afterAll(async () => {
    if (e2e === undefined) return;
    await e2e.stop();
    await killAgents(e2e);
  });

  it("starts the task and moves the card along the board", async () => {
    if (e2e === undefined) throw new Error("the harness did not start");
    e2e.script(TITLE, [{ files: MAX, say: "Added max()." }]);
    const issue = await e2e.fileIssue(TITLE, "Add `max(a, b)` in src/max.js.");
    // On the board but not in the trigger column: nothing happens.
    await e2e.maintainer.moveCard(REPO, issue, "Todo");
    await e2e.waitFor("the app to ignore the card in Todo", () =>
      /card not in the trigger column; ignored/.test(e2e?.logs(400) ?? ""),
    );
    expect(agentLabels(e2e, issue)).toEqual([]);
    expect(progressComment(e2e, issue)).toBe("");

    await e2e.maintainer.moveCard(REPO, issue, "Ready");
    await waitForIssue(e2e, issue, "the task to be accepted", () =>
      progressComment(e2e as E2E, issue).includes("Accepted; queued an implement job"),
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
