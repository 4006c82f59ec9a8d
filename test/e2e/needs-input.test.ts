/**
 * Questions to humans end to end (issue 14, part 2), with the real app, a real runner and the
 * GitHub simulator. The scripted fake agent asks by writing `.kanbot/question.md` and stopping,
 * as kanbot's prompt tells every agent to (runner/prompt.ts); the file is kanbot's own protocol,
 * not a CLI's, so no CLI output is imitated here beyond the fake agent's usual success.
 *
 * - the question is posted on the issue (in a fenced block: no mention pings), the task shows
 *   `agent:needs-input` and its card the board's "Needs input" column (In progress on a board
 *   without one), and no attempt is spent;
 * - a reader's reply is ignored; a writer's plain reply queues an `answer` job on the same branch
 *   whose prompt holds the question and the answer, and the task goes on to a PR;
 * - a question nobody answers blocks the task after `questions.answerTimeoutHours`, with a
 *   reminder.
 */
import { describe, expect, it } from "vitest";

import { readFileAt, branchSha } from "../simulator/git.js";
import { BOARD_COLUMNS, PROJECT_NUMBER, REPO, SAMPLE_FILES } from "./harness.js";
import {
  mathWith,
  nodeTest,
  progressComment,
  useE2E,
  waitForIssue,
  waitForState,
} from "./steps.js";

const QUESTION = "Should multiply() round floats to integers? cc @maintainer";
const ANSWER = "No: keep floats exactly as they are.";
const READER_REPLY = "Round them, obviously.";
const READER = "passer-by";
const WRITER = "writer";

const MULTIPLY = {
  "src/math.js": mathWith("return a * b;"),
  "test/multiply.test.js": nodeTest("multiply", "math.js", "assert.equal(multiply(4, 5), 20);"),
};

function kanbotYml(extra = ""): string {
  return `agents:\n  default: fake\nboard:\n  project: ${PROJECT_NUMBER}\n${extra}`;
}

function questionComment(bodies: string[]): string | undefined {
  return bodies.find((body) => body.startsWith("<!-- kanbot:question "));
}

describe("end to end: the agent asks a question", () => {
  const harness = useE2E({
    files: { ...SAMPLE_FILES, ".github/kanbot.yml": kanbotYml() },
    boardColumns: [...BOARD_COLUMNS.slice(0, 3), "Needs input", ...BOARD_COLUMNS.slice(3)],
  });

  it("posts the question, waits in Needs input, ignores a reader and resumes on a writer's answer", async () => {
    const e2e = harness();
    e2e.sim.addCollaborator(REPO, READER, "read");
    e2e.sim.addCollaborator(REPO, WRITER, "write");
    // Keys are tried in order: the answer job's prompt holds the answer (and the issue's title).
    e2e.script(ANSWER, [
      { files: MULTIPLY, prompt: "answer-prompt.txt", say: "Added multiply()." },
    ]);
    e2e.script("Add multiply", [
      {
        files: { ".kanbot/question.md": `${QUESTION}\n`, "scratch.txt": "thinking\n" },
        say: "I need to know how to treat floats.",
      },
    ]);
    const issue = await e2e.fileIssue("Add multiply", "Add `multiply(a, b)` to src/math.js.");
    await e2e.maintainer.labelIssue(REPO, issue, "agent:ready");

    await waitForState(e2e, issue, "agent:needs-input", "Needs input");

    const asked = questionComment(e2e.botComments(issue)) ?? "";
    expect(asked).toContain("the agent has a question");
    // The agent's text is shown only inside a fenced block: its @-mention pings nobody.
    expect(asked).toMatch(
      /```text\nShould multiply\(\) round floats to integers\? cc @maintainer\n```/,
    );
    expect(asked).toContain("`/kanbot answer <your answer>`");
    expect(asked).toContain("at least `write` permission");
    const comment = progressComment(e2e, issue);
    expect(comment).toContain("stopped with a question for a person (no attempt spent)");
    expect(comment).toMatch(/Budget used:\*\* 1\/\d+ attempts/);
    expect(e2e.pullFor(issue)).toBeUndefined();

    // A reader's reply: nothing happens, and kanbot does not answer it.
    await e2e.sim.actAs(READER).comment(REPO, issue, READER_REPLY);
    await e2e.sim.idle();
    // A writer's plain reply answers; what the reader said never reaches the agent.
    await e2e.sim.actAs(WRITER).comment(REPO, issue, ANSWER);

    await waitForIssue(
      e2e,
      issue,
      "a PR from the answer job",
      () => e2e.pullFor(issue) !== undefined,
    );
    await waitForState(e2e, issue, "agent:review", "In review");
    const pull = e2e.pullFor(issue);
    if (pull === undefined) throw new Error("no PR");
    const gitDir = e2e.sim.state.mustRepo(REPO).gitDir;
    const head = await branchSha(gitDir, pull.head);
    const prompt =
      (await readFileAt(gitDir, head as string, "answer-prompt.txt"))?.toString("utf8") ?? "";
    expect(prompt).toContain("You asked a question while working on GitHub issue");
    expect(prompt).toContain(QUESTION);
    expect(prompt).toContain(`answer by @${WRITER}, a maintainer of this repository>>>\n${ANSWER}`);
    expect(prompt).not.toContain(READER_REPLY);
    // The question file and the work before the question never reach the branch.
    expect(await readFileAt(gitDir, head as string, ".kanbot/question.md")).toBeUndefined();
    expect(await readFileAt(gitDir, head as string, "scratch.txt")).toBeUndefined();
    const done = progressComment(e2e, issue);
    expect(done).toContain(`${WRITER} answered the agent's question; queued an answer job`);
    expect(done).toMatch(/Budget used:\*\* 1\/\d+ attempts/);
    expect(e2e.botComments(issue).filter((body) => body.includes(READER))).toEqual([]);
    expect(e2e.sim.violations).toEqual([]);
  });
});

describe("end to end: a question on a board without a Needs input column", () => {
  const harness = useE2E({
    files: {
      ...SAMPLE_FILES,
      ".github/kanbot.yml": kanbotYml("questions:\n  answerTimeoutHours: 0.001\n"),
    },
  });

  it("shows the task In progress, then blocks it with a reminder when nobody answers", async () => {
    const e2e = harness();
    e2e.script("Add divide", [
      { files: { ".kanbot/question.md": "Divide by zero: throw or return Infinity?\n" } },
    ]);
    const issue = await e2e.fileIssue("Add divide", "Add `divide(a, b)` to src/math.js.");
    await e2e.maintainer.labelIssue(REPO, issue, "agent:ready");

    await waitForState(e2e, issue, "agent:needs-input", "In progress");
    // 0.001 hours: 3.6 seconds, then the once-a-minute sweep (or sooner) blocks the task.
    await waitForState(e2e, issue, "agent:blocked", "Blocked", { timeoutMs: 120_000 });

    const comment = progressComment(e2e, issue);
    expect(comment).toContain("answered the agent's question within 0.001 hours");
    expect(comment).toContain("`/kanbot retry`");
    const bodies = e2e.botComments(issue);
    expect(bodies.filter((body) => body.startsWith("<!-- kanbot:question "))).toHaveLength(2);
    expect(bodies.some((body) => body.includes("Reminder"))).toBe(true);
    expect(e2e.sim.violations).toEqual([]);
  });
});
