/**
 * An invalid `.github/kanbot.yml` end to end: the maintainer labels an issue in a repository whose
 * config has a bad field; kanbot answers on the issue with the file, line, column, field and what
 * it expected, and queues nothing: no state label, no job for the runner, no branch, no PR.
 */
import { describe, expect, it } from "vitest";

import { REPO, SAMPLE_FILES, SAMPLE_KANBOT_YML } from "./harness.js";
import { agentLabels, progressComment, useE2E, waitForIssue, waitForState } from "./steps.js";

// Line 6, column 13: `many` is not a number of attempts.
const INVALID_KANBOT_YML = `${SAMPLE_KANBOT_YML}budget:\n  attempts: many\n`;

describe("end to end: an invalid .github/kanbot.yml", () => {
  const harness = useE2E({
    files: { ...SAMPLE_FILES, ".github/kanbot.yml": INVALID_KANBOT_YML },
  });
  let issue = 0;

  it("reports the field and line on the issue and runs nothing", async () => {
    const e2e = harness();
    expect(INVALID_KANBOT_YML.split("\n")[5]).toBe("  attempts: many");
    e2e.script("Add min", [{ files: { "src/min.js": "export const min = Math.min;\n" } }]);
    issue = await e2e.fileIssue("Add min", "Add `min(a, b)`.");
    await e2e.maintainer.labelIssue(REPO, issue, "agent:ready");

    const reported = (): string | undefined =>
      e2e.botComments(issue).find((body) => body.startsWith("### kanbot cannot use"));
    await waitForIssue(
      e2e,
      issue,
      "kanbot to report the invalid config on the issue",
      () => reported() !== undefined,
    );
    const report = reported() ?? "";
    expect(report).toContain("### kanbot cannot use `.github/kanbot.yml`");
    expect(report).toMatch(/^\.github\/kanbot\.yml:6:13: budget\.attempts: .+$/m);
    expect(report).toContain("Fix the file on the default branch");

    // Nothing ran: no task (no state label, no progress comment), no job claimed, no branch, no PR.
    expect(agentLabels(e2e, issue).filter((label) => label !== "agent:ready")).toEqual([]);
    expect(progressComment(e2e, issue)).toBe("");
    expect(e2e.botComments(issue)).toHaveLength(1);
    expect(e2e.pullFor(issue)).toBeUndefined();
    expect(e2e.sim.ciRuns).toEqual([]);
    expect(e2e.logs(400)).not.toMatch(/job claimed/);
    expect(e2e.sim.violations).toEqual([]);
  });

  it("reports it again on /kanbot run, and starts the task once the file is fixed", async () => {
    const e2e = harness();
    if (issue === 0) throw new Error("the first scenario did not file the issue");
    await e2e.maintainer.comment(REPO, issue, "/kanbot run");
    await waitForIssue(e2e, issue, "a second report", () => e2e.botComments(issue).length === 2);
    expect(e2e.botComments(issue)[1]).toMatch(/kanbot\.yml:6:13: budget\.attempts: /);
    expect(e2e.pullFor(issue)).toBeUndefined();

    await e2e.maintainer.push(
      REPO,
      "main",
      { ".github/kanbot.yml": SAMPLE_KANBOT_YML },
      "Fix kanbot.yml",
    );
    await e2e.maintainer.comment(REPO, issue, "/kanbot run");
    await waitForState(e2e, issue, "agent:review", "In review");
    expect(e2e.botComments(issue)).toHaveLength(3);
    expect(e2e.pullFor(issue)?.draft).toBe(false);
    expect(e2e.sim.violations).toEqual([]);
  });
});
