/**
 * The config matrix, part 2 (issue 11): `budget.*` and the branch after a merge, end to end with
 * the real app, two real runners and the GitHub simulator. Each limit is set low enough for one
 * job to reach it, and the task is blocked with the limit named on the issue:
 *
 * - `budget.minutes: 1`: a job that runs a minute is stopped by the runner, the task blocked;
 * - `budget.usd: 0.05`: an agent (the claude adapter, replaying Claude Code's real output with its
 *   reported cost) spends more, so its failing validation gets no second round and the task is
 *   blocked;
 * - `budget.lostLeases: 1`: the first job lost to a dead runner blocks the task;
 * - `branchPrefix` with `merge.deleteBranch` (default): the `bots/…` branch is deleted on merge.
 *
 * The minute-long job runs on one runner while the other scenarios use the other.
 * docs/configuration.md ("Which end-to-end scenario proves each field") points here.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

import { describe, expect, it } from "vitest";

import { branchSha, readFileAt } from "../simulator/git.js";
import type { SimPull } from "../simulator/state.js";
import { FAKE_AGENT, MAINTAINER, REPO, REPO_ROOT, SAMPLE_FILES, type E2E } from "./harness.js";
import { agentLabels, nodeTest, progressComment, useE2E, waitForState } from "./steps.js";

const KANBOT_YML = `agents:
  default: fake
branchPrefix: bots/
validation:
  commands: ["test ! -e over-budget.txt"]
budget:
  minutes: 1
  usd: 0.05
  lostLeases: 1
`;

const AGENTS_YAML = [
  "  fake:",
  "    adapter: command",
  `    command: ${JSON.stringify(process.execPath)}`,
  `    args: [${JSON.stringify(FAKE_AGENT)}, "--message-file", "{promptFile}"]`,
  "    env:",
  "      FAKE_AGENT_MODE: scripted",
  "      FAKE_AGENT_SCRIPT: {scriptFile}",
  "    timeoutMinutes: 2",
  // Claude Code's adapter on the fake agent: it prints Claude Code's real success output, whose
  // reported cost ($0.0842) is over this repository's budget.usd, and writes over-budget.txt.
  "  pricey:",
  "    adapter: claude",
  `    command: ${JSON.stringify(join(REPO_ROOT, "test/fixtures/agents/fake-agent-cli.sh"))}`,
  "    env:",
  "      FAKE_AGENT_MODE: claude",
  "      FAKE_AGENT_EDIT: over-budget.txt",
  "    timeoutMinutes: 2",
  "",
].join("\n");

/** kanbot's newest PR whose head is `bots/<issue>-…`. */
function pullOf(e2e: E2E, issue: number): SimPull | undefined {
  return [...e2e.sim.state.mustRepo(REPO).pulls.values()]
    .filter((pull) => pull.head.startsWith(`bots/${issue}-`))
    .at(-1);
}

/** The runner whose log names the task branch of `issue` (it prepared that worktree). */
function runnerOf(e2e: E2E, issue: number): string | undefined {
  return [...e2e.runners.keys()].find((name) => {
    const file = join(e2e.dir, "logs", `${name}.log`);
    return existsSync(file) && readFileSync(file, "utf8").includes(`"branch":"bots/${issue}-`);
  });
}

describe("end to end: budget.* and the branch after a merge", () => {
  const harness = useE2E({
    files: { ...SAMPLE_FILES, ".github/kanbot.yml": KANBOT_YML },
    agentsYaml: AGENTS_YAML,
    runners: 2,
    // A dead runner's lease runs out 10 s after its last heartbeat.
    leaseSeconds: 10,
  });
  let slow = 0;

  it("budget.minutes: a job that outlasts the task's one minute starts (its end is checked last)", async () => {
    const e2e = harness();
    e2e.script("Think for a long time", [{ say: "thinking…", hang: true }]);
    slow = await e2e.fileIssue("Think for a long time", "Take your time.");
    await e2e.maintainer.labelIssue(REPO, slow, "agent:ready");

    await waitForState(e2e, slow, "agent:working");

    expect(progressComment(e2e, slow)).toMatch(/Budget used:\*\* 1\/5 attempts · 0\/1 min/);
  });

  it("budget.usd: an agent that spends more than the budget gets no validation round, and the task is blocked", async () => {
    const e2e = harness();
    const issue = await e2e.fileIssue("Spend a lot", "Do something expensive.");
    await e2e.maintainer.labelIssue(REPO, issue, "use:pricey");
    await e2e.maintainer.labelIssue(REPO, issue, "agent:ready");

    await waitForState(e2e, issue, "agent:blocked");

    const comment = progressComment(e2e, issue);
    expect(comment).toMatch(/Agent:\*\* pricey/);
    expect(comment).toContain(
      "budget spent: the agent's cost reached $0.0842 of the $0.05 the task had left, and validation failed; no further agent round",
    );
    expect(comment).toMatch(/cost budget spent: \$0\.08 of \$0\.05 used/);
    // One job, one agent round: the work in progress was pushed, no second job started.
    expect(comment).toMatch(/Budget used:\*\* 1\/5 attempts/);
    expect(comment.match(/A runner picked up the implement job/g)).toHaveLength(1);
    const gitDir = e2e.sim.state.mustRepo(REPO).gitDir;
    const wip = await branchSha(gitDir, `bots/${issue}-spend-a-lot`);
    expect(wip).toBeDefined();
    expect(await readFileAt(gitDir, wip as string, "over-budget.txt")).toBeDefined();
    expect(e2e.sim.violations).toEqual([]);
  });

  it("branchPrefix + merge.deleteBranch: the bots/ branch is deleted after the merge", async () => {
    const e2e = harness();
    e2e.script("Add max", [
      {
        files: {
          "src/max.js": "export function max(a, b) {\n  return a > b ? a : b;\n}\n",
          "test/max.test.js": nodeTest("max", "max.js", "assert.equal(max(2, 7), 7);"),
        },
        say: "Added max().",
      },
    ]);
    const issue = await e2e.fileIssue("Add max", "Add `max(a, b)` in src/max.js.");
    await e2e.maintainer.labelIssue(REPO, issue, "agent:ready");

    await waitForState(e2e, issue, "agent:review");
    const pull = pullOf(e2e, issue);
    if (pull === undefined) throw new Error("no PR");
    expect(pull.head).toBe(`bots/${issue}-add-max`);
    expect(pull.base).toBe("main");
    // review.requestFromStarter (default true): the maintainer who labeled it is asked.
    expect(pull.requestedReviewers).toEqual([MAINTAINER]);
    await e2e.maintainer.approve(REPO, pull.number);
    await e2e.maintainer.merge(REPO, pull.number);

    await waitForState(e2e, issue, "agent:done");
    await e2e.waitFor(
      `the branch ${pull.head} to be deleted`,
      async () => !(await e2e.branchExists(pull.head)),
    );
    expect(e2e.sim.violations).toEqual([]);
  });

  it("budget.lostLeases: 1 — the first job lost to a dead runner blocks the task", async () => {
    const e2e = harness();
    e2e.script("Hold the lease", [{ say: "working…", hang: true }]);
    const issue = await e2e.fileIssue("Hold the lease", "Work until the runner dies.");
    await e2e.maintainer.labelIssue(REPO, issue, "agent:ready");
    await waitForState(e2e, issue, "agent:working");
    await e2e.waitFor("the runner that holds it", () => runnerOf(e2e, issue) !== undefined);

    await e2e.killRunner(runnerOf(e2e, issue) as string);

    await waitForState(e2e, issue, "agent:blocked", undefined, { timeoutMs: 90_000 });
    const comment = progressComment(e2e, issue);
    expect(comment).toContain("the implement job lost its runner 1 times");
    expect(comment).toMatch(/Blocked:\*\*/);
    expect(comment.match(/A runner picked up the implement job/g)).toHaveLength(1);
    expect(e2e.sim.violations).toEqual([]);
  });

  it("budget.minutes: the minute-long job was stopped by the runner and the task blocked", async () => {
    const e2e = harness();

    await waitForState(e2e, slow, "agent:blocked", undefined, { timeoutMs: 120_000 });

    const comment = progressComment(e2e, slow);
    expect(comment).toMatch(
      /budget spent: the job ran [\d.]+ of the 1 minutes the task had left; the agent was stopped/,
    );
    expect(comment).toMatch(/time budget spent: .* of 1 minutes used/);
    expect(agentLabels(e2e, slow)).toEqual(["agent:blocked"]);
    expect(pullOf(e2e, slow)).toBeUndefined();
    expect(e2e.sim.violations).toEqual([]);
  });
});
