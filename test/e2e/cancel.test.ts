/**
 * `/kanbot cancel` end to end while the agent runs: the app marks the job canceled, the runner
 * learns it from its next heartbeat and kills the agent's process tree, and the issue shows the
 * task canceled (state labels gone, the progress comment saying who stopped it and how).
 */
import { describe, expect, it } from "vitest";

import { REPO } from "./harness.js";
import {
  agentLabels,
  agentPids,
  progressComment,
  useE2E,
  waitForIssue,
  waitForState,
} from "./steps.js";

const TITLE = "Rewrite the parser";

describe("end to end: /kanbot cancel while the agent runs", () => {
  // A short lease: the runner heartbeats every third of it, and a heartbeat carries the cancel.
  const harness = useE2E({ leaseSeconds: 9 });

  it("kills the agent and shows the task canceled on the issue", async () => {
    const e2e = harness();
    e2e.script(TITLE, [{ say: "thinking about the parser…", hang: true }]);
    const issue = await e2e.fileIssue(TITLE, "Rewrite src/parser.js.");
    await e2e.maintainer.labelIssue(REPO, issue, "agent:ready");

    await waitForState(e2e, issue, "agent:working", "In progress");
    await e2e.waitFor(
      "the fake agent to be running",
      async () => (await agentPids(e2e)).length === 1,
    );
    const [agent] = await agentPids(e2e);
    // The progress comment names the runner as it registered.
    expect(progressComment(e2e, issue)).toContain("- **Runner:** runner-1");

    await e2e.maintainer.comment(REPO, issue, "/kanbot cancel, wrong approach");
    await e2e.waitFor(
      "the task to be canceled on the issue (no state label, progress comment)",
      () =>
        agentLabels(e2e, issue).length === 0 &&
        progressComment(e2e, issue).includes("### kanbot: Canceled"),
    );
    await e2e.waitFor(
      `the agent (pid ${agent}) to be killed`,
      async () => (await agentPids(e2e)).length === 0,
    );
    await e2e.waitFor("the runner to report the job canceled", () =>
      /job reported \(jobId=1 status=canceled\)/.test(e2e.logs(200)),
    );

    const comment = progressComment(e2e, issue);
    // kanbot's own code span renders as code: the backticks are not escaped.
    expect(comment).toContain("Canceled by `/kanbot cancel`.");
    expect(comment).toContain("A runner picked up the implement job");
    expect(agentLabels(e2e, issue)).toEqual([]);
    // The card stays where it was; nothing was pushed, so there is no PR.
    expect(e2e.column(issue)).toBe("In progress");
    expect(e2e.pullFor(issue)).toBeUndefined();
    expect(e2e.sim.violations).toEqual([]);
  });

  it("cancels the same way when a person removes the state label", async () => {
    const e2e = harness();
    e2e.script("Port the lexer", [{ say: "porting…", hang: true }]);
    const issue = await e2e.fileIssue("Port the lexer", "Port src/lexer.js.");
    await e2e.maintainer.labelIssue(REPO, issue, "agent:ready");
    await waitForState(e2e, issue, "agent:working", "In progress");
    await e2e.waitFor(
      "the fake agent to be running",
      async () => (await agentPids(e2e)).length === 1,
    );

    await e2e.maintainer.unlabelIssue(REPO, issue, "agent:working");
    await waitForIssue(e2e, issue, "the task to be canceled on the issue", () =>
      progressComment(e2e, issue).includes("### kanbot: Canceled"),
    );
    await e2e.waitFor("the agent to be killed", async () => (await agentPids(e2e)).length === 0);
    expect(progressComment(e2e, issue)).toContain("Canceled: the state label was removed.");
    expect(agentLabels(e2e, issue)).toEqual([]);
    expect(e2e.pullFor(issue)).toBeUndefined();
    expect(e2e.sim.violations).toEqual([]);
  });
});
