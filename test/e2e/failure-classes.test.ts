/**
 * Failure classes end to end (issue 14, part 1), with the real app, a real runner and the GitHub
 * simulator. The agents are Claude Code's adapter on a stand-in CLI that prints Claude Code's
 * real error output (test/fixtures/agent-errors/replay-cli.mjs):
 *
 * - `auth` ("Not logged in · Please run /login", captured from Claude Code 2.1.197): the task is
 *   blocked after one job, with the fix for the agent on its runner and the CLI's message on the
 *   issue; no second job;
 * - `quota` (Claude Code's `rate_limit_event` rejected, "You've hit your limit · resets …"): the
 *   job is queued again for the reset time, the attempt is not spent, and the progress comment
 *   says when it resumes.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";

import { describe, expect, it } from "vitest";

import { PROJECT_NUMBER, REPO, REPO_ROOT, SAMPLE_FILES } from "./harness.js";
import { progressComment, useE2E, waitForState } from "./steps.js";

const REPLAY = `${REPO_ROOT}/test/fixtures/agent-errors/replay-cli.mjs`;

function replayAgent(name: string, env: Record<string, string>): string[] {
  return [
    `  ${name}:`,
    "    adapter: claude",
    `    command: ${JSON.stringify(REPLAY)}`,
    "    env:",
    ...Object.entries(env).map(([key, value]) => `      ${key}: ${JSON.stringify(value)}`),
    "    timeoutMinutes: 2",
  ];
}

const AGENTS_YAML = [
  ...replayAgent("broke", { REPLAY_STDOUT: "../agents/claude/error-not-logged-in.jsonl" }),
  ...replayAgent("limited", {
    REPLAY_STDOUT: "claude/quota-usage-limit.jsonl",
    REPLAY_RESET_IN_SECONDS: "7200",
  }),
  "",
].join("\n");

describe("end to end: agent failure classes", () => {
  const harness = useE2E({
    files: {
      ...SAMPLE_FILES,
      ".github/kanbot.yml": `agents:\n  default: broke\nboard:\n  project: ${PROJECT_NUMBER}\n`,
    },
    agentsYaml: AGENTS_YAML,
  });

  it("auth: blocked after one job, with the fix and the CLI's message on the issue", async () => {
    const e2e = harness();
    const issue = await e2e.fileIssue("Fix the parser", "Return undefined for empty input.");
    await e2e.maintainer.labelIssue(REPO, issue, "use:broke");
    await e2e.maintainer.labelIssue(REPO, issue, "agent:ready");

    await waitForState(e2e, issue, "agent:blocked");

    const comment = progressComment(e2e, issue);
    expect(comment).toContain("agent failure: auth: Not logged in · Please run /login");
    // Markdown-escaped parentheses: the names are outside text.
    expect(comment).toMatch(
      /the agent broke \\\(claude\\\) is not signed in to its model API on runner runner-1/,
    );
    expect(comment).toContain("`claude auth login`");
    expect(comment).toContain("`ANTHROPIC_API_KEY`");
    expect(comment).toMatch(/Budget used:\*\* 1\/\d+ attempts/);
    expect(comment.match(/A runner picked up the implement job/g)).toHaveLength(1);
    expect(e2e.sim.violations).toEqual([]);
  });

  it("quota: queued again for the reset, no attempt spent, the comment says when it resumes", async () => {
    const e2e = harness();
    const issue = await e2e.fileIssue("Add a changelog", "Start CHANGELOG.md.");
    await e2e.maintainer.labelIssue(REPO, issue, "use:limited");
    await e2e.maintainer.labelIssue(REPO, issue, "agent:ready");
    await waitForState(e2e, issue, "agent:working");

    await e2e.waitFor("the quota note", () =>
      progressComment(e2e, issue).includes("agent failure: quota"),
    );

    const comment = progressComment(e2e, issue);
    expect(comment).toContain("agent failure: quota: You've hit your limit");
    expect(comment).toMatch(
      /no attempt spent, it resumes at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ \(the limit resets then\)/,
    );
    const resumes = /resumes at (\S+Z)/.exec(comment)?.[1] ?? "";
    expect(new Date(resumes).getTime() - Date.now()).toBeGreaterThan(3600_000);
    expect(comment).toMatch(/Budget used:\*\* 1\/\d+ attempts/);
    await waitForState(e2e, issue, "agent:queued");
    expect(comment.match(/A runner picked up the implement job/g)).toHaveLength(1);
    // The runner paused the agent until the same reset, in a file a restarted runner reads.
    const pauses = JSON.parse(
      readFileSync(
        join(e2e.runners.get("runner-1")?.dir ?? "", "work", "agent-pauses.json"),
        "utf8",
      ),
    ) as Record<string, number>;
    expect(Object.keys(pauses)).toEqual(["limited"]);
    expect(Math.abs((pauses["limited"] ?? 0) - new Date(resumes).getTime())).toBeLessThan(60_000);
    expect(e2e.sim.violations).toEqual([]);
  });
});
