/**
 * A runner dying mid-job end to end: runner-1 claims the job and its agent works, then the
 * runner's process group is killed (SIGKILL, as a crash or a power cut would); the app's lease
 * sweep finds the lease expired, queues the job again without using an attempt, and runner-2
 * claims it and finishes the task.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";

import { describe, expect, it } from "vitest";

import { REPO } from "./harness.js";
import {
  agentPids,
  checkRuns,
  nodeTest,
  progressComment,
  useE2E,
  waitForIssue,
  waitForState,
} from "./steps.js";

const TITLE = "Add clamp";

const CLAMP = {
  "src/clamp.js":
    "export function clamp(x, lo, hi) {\n  return Math.min(hi, Math.max(lo, x));\n}\n",
  "test/clamp.test.js": nodeTest("clamp", "clamp.js", "assert.equal(clamp(7, 0, 5), 5);"),
};

describe("end to end: a runner killed mid-job", () => {
  // A short lease (KANBOT_LEASE_SECONDS): the dead runner's job is requeued seconds later.
  const harness = useE2E({ leaseSeconds: 10 });

  it("requeues the job when the lease expires and another runner finishes it", async () => {
    const e2e = harness();
    // First run: the agent works until its runner is gone; second run: the change.
    e2e.script(TITLE, [
      { say: "reading the code…", hang: true },
      { files: CLAMP, say: "Added clamp()." },
    ]);
    const issue = await e2e.fileIssue(TITLE, "Add `clamp(x, lo, hi)` in src/clamp.js.");
    await e2e.maintainer.labelIssue(REPO, issue, "agent:ready");

    await waitForState(e2e, issue, "agent:working", "In progress");
    // Running, and past its first step (it counted its run): the sandbox kills the agent with its
    // runner at once, so a kill before that would leave the first step for runner-2.
    await e2e.waitFor(
      "runner-1's agent to be running its first step",
      async () =>
        (await agentPids(e2e)).length === 1 &&
        readFileSync(join(e2e.dir, "agent-script.json.runs.json"), "utf8").includes(TITLE),
    );
    await e2e.killRunner("runner-1");
    await e2e.startRunner("runner-2");

    await waitForIssue(e2e, issue, "the lost lease on the issue", () =>
      /lost its runner \\?\(lease expired, 1 of \d+\\?\); queued it again/.test(
        progressComment(e2e, issue),
      ),
    );
    await waitForState(e2e, issue, "agent:review", "In review");

    const pull = e2e.pullFor(issue);
    if (pull === undefined) throw new Error("no PR");
    expect(pull.draft).toBe(false);
    expect(checkRuns(e2e, pull.headSha)).toEqual(
      expect.arrayContaining(["test=success", "kanbot=success"]),
    );
    const comment = progressComment(e2e, issue);
    // Claimed twice, one attempt: a lost runner does not use the task's budget.
    expect(comment.match(/A runner picked up the implement job/g)).toHaveLength(2);
    expect(comment).toMatch(/Budget used:\*\* 1\/5 attempts/);
    expect(comment).toContain("- **Attempt:** 1 of 5 (implement)");
    // runner-2 did the work; runner-1's agent did not outlive it.
    expect(e2e.logs(400)).toMatch(
      /--- runner-2 log[\s\S]*job reported \(jobId=\d+ status=succeeded\)/,
    );
    expect(await agentPids(e2e)).toEqual([]);
    expect(e2e.sim.violations).toEqual([]);
  });
});
