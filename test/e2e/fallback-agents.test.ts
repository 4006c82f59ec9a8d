/**
 * Fallback agents end to end (issue 14, part 4), with the real app, a real runner and the GitHub
 * simulator. The runner offers two agents:
 *
 * - `dud`: Codex's adapter on a stand-in CLI that prints Codex's real failure
 *   (test/fixtures/agent-errors/codex/task-context-window.jsonl: Codex 0.169.0's
 *   "Codex ran out of room in the model's context window…", `CodexErr::ContextWindowExceeded`,
 *   exit code 1), a `task` failure;
 * - `fake`: the scripted fake agent, which works only when its prompt holds the earlier
 *   attempts' summary (its script's key is a line of that summary; without it the fake agent
 *   fails with exit code 4).
 *
 * `.github/kanbot.yml` routes to `dud` with `agents.fallback: [fake]` and `fallbackAfter: 2`:
 * `dud` fails twice (the second after the usual one-minute backoff), the third job goes to
 * `fake` at once on the same branch, and the task ends with a PR.
 */
import { describe, expect, it } from "vitest";

import { FAKE_AGENT, PROJECT_NUMBER, REPO, REPO_ROOT, SAMPLE_FILES } from "./harness.js";
import { readFileAt } from "../simulator/git.js";
import { progressComment, useE2E, waitForIssue, waitForState } from "./steps.js";

const REPLAY = `${REPO_ROOT}/test/fixtures/agent-errors/replay-cli.mjs`;

const AGENTS_YAML = [
  "  dud:",
  "    adapter: codex",
  `    command: ${JSON.stringify(REPLAY)}`,
  "    env:",
  '      REPLAY_STDOUT: "codex/task-context-window.jsonl"',
  "    timeoutMinutes: 2",
  "  fake:",
  "    adapter: command",
  `    command: ${JSON.stringify(process.execPath)}`,
  `    args: [${JSON.stringify(FAKE_AGENT)}, "--message-file", "{promptFile}"]`,
  "    env:",
  "      FAKE_AGENT_MODE: scripted",
  "      FAKE_AGENT_SCRIPT: {scriptFile}",
  "      FAKE_AGENT_ID: fake",
  "    timeoutMinutes: 2",
  "",
].join("\n");

const KANBOT_YML = [
  "agents:",
  "  default: dud",
  "  fallback: [fake]",
  "  fallbackAfter: 2",
  "board:",
  `  project: ${PROJECT_NUMBER}`,
  "",
].join("\n");

/** A line of the earlier attempts' summary the fallback agent's prompt must hold. */
const HISTORY_LINE = "attempt 2: implement job, agent dud: failed (task)";

describe("end to end: fallback agents", () => {
  const harness = useE2E({
    files: { ...SAMPLE_FILES, ".github/kanbot.yml": KANBOT_YML },
    agentsYaml: AGENTS_YAML,
  });

  it("a failing agent hands the task to the next one, which finishes it", async () => {
    const e2e = harness();
    e2e.script(HISTORY_LINE, [
      {
        report: "fallback-report.json",
        files: {
          "src/math.js":
            "export function add(a, b) {\n  return a + b;\n}\n\nexport const zero = 0;\n",
        },
        say: "Added zero, after two failed attempts by dud.",
      },
    ]);
    const issue = await e2e.fileIssue("Export zero", "Add `export const zero = 0` to src/math.js.");
    await e2e.maintainer.labelIssue(REPO, issue, "agent:ready");

    await waitForState(e2e, issue, "agent:checks", undefined, { timeoutMs: 180_000 });

    const comment = progressComment(e2e, issue);
    // dud failed fallbackAfter (2) times, with Codex's own message.
    expect(comment.match(/The implement job failed: the agent failed/g)).toHaveLength(2);
    expect(comment).toContain("Codex ran out of room in the model");
    // The comment says which agent runs and why.
    expect(comment).toContain(
      "Fallback: dud failed 2 jobs in a row (`agents.fallbackAfter`: 2); the next job goes to fake, on the same branch",
    );
    expect(comment).toContain("(attempt 3, agent fake)");
    expect(comment).toMatch(
      /\*\*Agent:\*\* fake \(fallback: dud failed 2 jobs in a row \\\(agents\.fallbackAfter: 2\\\)\)/,
    );
    // The fallback agent's prompt held the summary (its script matched), and it pushed on the
    // task's one branch: the PR's head.
    const pull = e2e.pullFor(issue);
    expect(pull?.head).toMatch(new RegExp(`^kanbot/${issue}-`));
    const gitDir = e2e.sim.state.mustRepo(REPO).gitDir;
    const report = JSON.parse(
      (await readFileAt(gitDir, pull?.headSha ?? "", "fallback-report.json"))?.toString("utf8") ??
        "{}",
    );
    expect(report).toMatchObject({ agent: "fake", run: 1 });
    const branches = e2e
      .logs(400)
      .split("\n")
      .filter((line) => line.includes("worktree added"))
      .map((line) => /branch[":= ]+(kanbot\/[^\s",}]+)/.exec(line)?.[1]);
    expect(branches).toHaveLength(3);
    expect(new Set(branches)).toEqual(new Set([pull?.head]));

    await waitForIssue(e2e, issue, "the checks to pass", () => e2e.hasLabel(issue, "agent:review"));
    expect(e2e.sim.violations).toEqual([]);
  });
});
