/**
 * Chaos (issue 13): a runner paused (SIGSTOP) past its lease while its agent works, as a laptop
 * lid closed or a stalled VM would. The app's lease sweep gives the job up, runner-2 takes the
 * retry and finishes the task; then runner-1 wakes (SIGCONT), learns its lease is gone and pushes
 * nothing: the branch keeps runner-2's commit, and there is one PR and one progress comment.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";

import { describe, expect, it } from "vitest";

import { REPO } from "../e2e/harness.js";
import { agentPids, useE2E, waitForState } from "../e2e/steps.js";
import { progressComments, pullsOf } from "./steps.js";

const TITLE = "Add double";

describe("chaos: a runner paused past its lease", () => {
  // A short lease: the paused runner's job is given up seconds later.
  const harness = useE2E({ leaseSeconds: 10 });

  it("wakes to find its lease gone and pushes nothing after runner-2 finished the task", async () => {
    const e2e = harness();
    e2e.script(TITLE, [
      { say: "reading the code…", hang: true },
      { files: { "src/double.js": "export const double = (x) => 2 * x;\n" }, say: "double" },
    ]);
    const issue = await e2e.fileIssue(TITLE, "Add `double(x)` in src/double.js.");
    await e2e.maintainer.labelIssue(REPO, issue, "agent:ready");
    await waitForState(e2e, issue, "agent:working", "In progress");
    await e2e.waitFor(
      "runner-1's agent to be running its first step",
      async () =>
        (await agentPids(e2e)).length === 1 &&
        readFileSync(join(e2e.dir, "agent-script.json.runs.json"), "utf8").includes(TITLE),
    );

    const paused = e2e.runners.get("runner-1")?.child.pid;
    if (paused === undefined) throw new Error("runner-1 is not running");
    process.kill(-paused, "SIGSTOP");
    try {
      await e2e.startRunner("runner-2");
      await waitForState(e2e, issue, "agent:review", "In review");
    } finally {
      process.kill(-paused, "SIGCONT");
    }
    const pull = e2e.pullFor(issue);
    if (pull === undefined) throw new Error("no PR");
    const pushes = (): number =>
      e2e.sim.gitRequests.filter(
        (request) => request.service === "receive-pack" && request.status === 200,
      ).length;
    const pushesBefore = pushes();

    // Awake again: runner-1's next heartbeat is refused, its job ends without a push.
    await e2e.waitFor(
      "runner-1 to give its job up",
      () =>
        /--- runner-1 log[\s\S]*lease lost: the job is not reported and nothing was pushed/.test(
          e2e.logs(400),
        ),
      { timeoutMs: 60_000 },
    );
    await e2e.sim.idle();

    expect(pushes()).toBe(pushesBefore);
    expect(e2e.pullFor(issue)?.headSha).toBe(pull.headSha);
    expect(pullsOf(e2e, issue)).toBe(1);
    expect(progressComments(e2e, issue)).toBe(1);
    expect(e2e.sim.violations).toEqual([]);
  });
});
