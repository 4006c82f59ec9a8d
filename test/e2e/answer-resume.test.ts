/**
 * An answer continues the agent's own session end to end (issue 14, part 2), with the real app,
 * a real runner (in its bubblewrap sandbox) and the GitHub simulator. The agent is Claude Code's
 * adapter on a stand-in CLI that files its sessions the way Claude Code 2.1.197 does and fails
 * `--resume` the way it does when the session is not in the working directory's project
 * (test/fixtures/agents/claude/session-cli.mjs; the layout is checked against the real CLI in
 * test/integration/runner/claude-resume.test.ts).
 *
 * The asking job and the answer job have different worktrees, so the answer job finds the
 * session only because the runner that asked gets the answer job with `resume` and carries the
 * session file into the new worktree's project: the branch's `session.txt` says the agent
 * resumed the asking job's session, with the turn it had taken before.
 */
import { describe, expect, it } from "vitest";

import { readFileAt, branchSha } from "../simulator/git.js";
import { PROJECT_NUMBER, REPO, REPO_ROOT, SAMPLE_FILES } from "./harness.js";
import {
  mathWith,
  nodeTest,
  progressComment,
  useE2E,
  waitForIssue,
  waitForState,
} from "./steps.js";

const SESSION_CLI = `${REPO_ROOT}/test/fixtures/agents/claude/session-cli.mjs`;
const ANSWER = "No: keep floats exactly as they are.";
const WRITER = "writer";

const FILES = {
  "src/math.js": mathWith("return a * b;"),
  "test/multiply.test.js": nodeTest("multiply", "math.js", "assert.equal(multiply(4, 5), 20);"),
};

const AGENTS_YAML = [
  "  claude:",
  "    adapter: claude",
  `    command: ${JSON.stringify(SESSION_CLI)}`,
  "    env:",
  `      SESSION_FILES: ${JSON.stringify(JSON.stringify(FILES))}`,
  `      SESSION_QUESTION: "Should multiply() round floats?"`,
  `      SESSION_ANSWER_MARK: ${JSON.stringify(ANSWER)}`,
  "    timeoutMinutes: 2",
  "",
].join("\n");

describe("end to end: the answer job resumes the agent's session", () => {
  const harness = useE2E({
    files: {
      ...SAMPLE_FILES,
      ".github/kanbot.yml": `agents:\n  default: claude\nboard:\n  project: ${PROJECT_NUMBER}\n`,
    },
    agentsYaml: AGENTS_YAML,
  });

  it("carries the asking job's Claude Code session into the answer job's worktree", async () => {
    const e2e = harness();
    e2e.sim.addCollaborator(REPO, WRITER, "write");
    const issue = await e2e.fileIssue("Add multiply", "Add `multiply(a, b)` to src/math.js.");
    await e2e.maintainer.labelIssue(REPO, issue, "agent:ready");
    await waitForState(e2e, issue, "agent:needs-input");

    await e2e.sim.actAs(WRITER).comment(REPO, issue, ANSWER);
    await waitForIssue(
      e2e,
      issue,
      "a PR from the answer job",
      () => e2e.pullFor(issue) !== undefined,
    );

    const pull = e2e.pullFor(issue);
    if (pull === undefined) throw new Error("no PR");
    const gitDir = e2e.sim.state.mustRepo(REPO).gitDir;
    const head = (await branchSha(gitDir, pull.head)) as string;
    const note = (await readFileAt(gitDir, head, "session.txt"))?.toString("utf8") ?? "";
    // The session the asking job's CLI reported, found in the new worktree with its first turn.
    expect(note).toMatch(/^resumed [0-9a-f-]{36} after 1 turns\n$/);
    expect(progressComment(e2e, issue)).toContain("queued an answer job on the same branch");
    expect(e2e.sim.violations).toEqual([]);
  });
});
