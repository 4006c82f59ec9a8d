import { describe, expect, it } from "vitest";

import {
  closingReference,
  escapeBlock,
  escapeInline,
  formatDuration,
  GITHUB_TEXT_LIMIT,
  parsePullRequestMarker,
  pullRequestMarker,
  pullRequestTitle,
  renderCheckRunOutput,
  renderPullRequestBody,
  TITLE_LIMIT,
  utf8Length,
  type CheckRunView,
  type PullRequestView,
  type TitleInput,
} from "../../../src/domain/pull-request-body.js";

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const issue = { owner: "acme", repo: "app", number: 12 };
const sameRepo = { owner: "acme", repo: "app" };
const otherRepo = { owner: "acme", repo: "web" };

describe("marker", () => {
  it.each<[string | number, string]>([
    ["t-1", "<!-- kanbot:pr acme/app#12 task=t-1 -->"],
    [42, "<!-- kanbot:pr acme/app#12 task=42 -->"],
    ["a b<c>", "<!-- kanbot:pr acme/app#12 task=abc -->"],
    ["", "<!-- kanbot:pr acme/app#12 task=unknown -->"],
  ])("pullRequestMarker(%j)", (taskId, expected) => {
    expect(pullRequestMarker(issue, taskId)).toBe(expected);
  });

  it.each<[string, string | null, { issue: typeof issue; taskId: string } | undefined]>([
    [
      "on the first line",
      "<!-- kanbot:pr acme/app#12 task=t-1 -->\n\nbody",
      { issue, taskId: "t-1" },
    ],
    [
      "below text a person added",
      "Note\r\n<!-- kanbot:pr acme/app#12 task=7 -->",
      { issue, taskId: "7" },
    ],
    ["inside a line", "x <!-- kanbot:pr acme/app#12 task=7 -->", undefined],
    ["escaped by the renderer", "\\<!-- kanbot:pr acme/app#12 task=7 -->", undefined],
    ["a progress marker", "<!-- kanbot:progress acme/app#12 -->", undefined],
    ["no body", null, undefined],
  ])("parsePullRequestMarker %s", (_name, body, expected) => {
    expect(parsePullRequestMarker(body)).toEqual(expected);
  });

  it("round-trips", () => {
    expect(parsePullRequestMarker(pullRequestMarker(issue, "task_9"))).toEqual({
      issue,
      taskId: "task_9",
    });
  });
});

describe("closingReference", () => {
  it.each([
    ["same repository", sameRepo, "Closes #12"],
    ["same repository, other case", { owner: "ACME", repo: "App" }, "Closes #12"],
    ["another repository", otherRepo, "Closes acme/app#12"],
  ])("%s", (_name, repo, expected) => {
    expect(closingReference(issue, repo)).toBe(expected);
  });
});

describe("pullRequestTitle", () => {
  const base: TitleInput = { issue, title: "Fix the login redirect", pullRequestRepo: sameRepo };

  it.each<[string, Partial<TitleInput>, string]>([
    ["suffix", {}, "Fix the login redirect (#12)"],
    [
      "cross-repository suffix",
      { pullRequestRepo: otherRepo },
      "Fix the login redirect (acme/app#12)",
    ],
    ["whitespace collapsed", { title: "  Fix\n the   bug " }, "Fix the bug (#12)"],
    ["agent prefix kept by default", { title: "[codex] Fix it" }, "[codex] Fix it (#12)"],
    ["agent prefix stripped", { title: "[codex] Fix it", stripAgentPrefix: true }, "Fix it (#12)"],
    ["empty title", { title: "  " }, "Task (#12)"],
  ])("%s", (_name, overrides, expected) => {
    expect(pullRequestTitle({ ...base, ...overrides })).toBe(expected);
  });

  it("cuts a long title to GitHub's limit and keeps the reference", () => {
    const title = pullRequestTitle({ ...base, title: "x".repeat(400) });

    expect(title.length).toBe(TITLE_LIMIT);
    expect(title.endsWith("… (#12)")).toBe(true);
  });
});

describe("escaping", () => {
  it.each([
    ["a mention", "thanks @octocat", "thanks @&#8203;octocat"],
    [
      "a fake marker",
      "<!-- kanbot:pr acme/app#1 task=x -->",
      "\\<\\!-- kanbot:pr acme/app\\#1 task=x --\\>",
    ],
    ["a closing keyword", "Fixes #99", "F&#8203;ixes \\#99"],
    [
      "every closing form",
      "closes: o/my_repo#2, Resolved GH-3, fix https://github.com/o/r/issues/4",
      "c&#8203;loses: o/my\\_repo\\#2, R&#8203;esolved GH-3, f&#8203;ix https://github.com/o/r/issues/4",
    ],
    [
      "keywords without a reference",
      "Fixed the loop; closes the file",
      "Fixed the loop; closes the file",
    ],
    ["words that merely contain a keyword", "fixture closet", "fixture closet"],
    ["HTML", "<img src=x onerror=alert(1)>", "\\<img src=x onerror=alert\\(1\\)\\>"],
  ])("escapeInline: %s", (_name, input, expected) => {
    expect(escapeInline(input)).toBe(expected);
  });

  it.each([
    ["paragraphs", "First line.\n\n\n\nSecond paragraph.\n", "First line.\n\nSecond paragraph."],
    ["lists", "- one\n  * nested\n1. first\n2) second", "- one\n  - nested\n1. first\n2. second"],
    ["headings", "# Title\n## Sub", "\\# Title\n\\#\\# Sub"],
    ["setext underline", "Title\n---\n===", "Title\n\\---\n\\==="],
    [
      "a marker line with an @mention",
      "<!-- kanbot:pr acme/app#12 task=1 -->\ncc @team",
      "\\<\\!-- kanbot:pr acme/app\\#12 task=1 --\\>\ncc @&#8203;team",
    ],
  ])("escapeBlock: %s", (_name, input, expected) => {
    expect(escapeBlock(input)).toBe(expected);
  });
});

describe("formatDuration", () => {
  it.each([
    [0, "0 min"],
    [0.5, "30 s"],
    [14.2, "14 min"],
    [59.6, "1 h 00 min"],
    [125, "2 h 05 min"],
    [Number.NaN, "0 min"],
  ])("%d minutes", (minutes, expected) => {
    expect(formatDuration(minutes)).toBe(expected);
  });
});

describe("renderPullRequestBody", () => {
  const view: PullRequestView = {
    issue,
    pullRequestRepo: sameRepo,
    taskId: "t-1",
    agent: "claude",
    summary:
      "Fixed the redirect loop.\n\n- Kept the `next` parameter\n- Added a test\n\nFixes #99, thanks @octocat",
    issueBody:
      "Users loop.\n\n## Acceptance criteria\n\n- [ ] login redirects to `next`\n- no loop\n",
    spent: { attempts: 2, minutes: 14.2, usd: 1.234 },
    budget: { attempts: 5, minutes: 60, usd: 10 },
    progressUrl: "https://github.com/acme/app/issues/12#issuecomment-1",
  };

  it("renders marker, summary, criteria, run facts, closing reference and footer", () => {
    expect(renderPullRequestBody(view)).toMatchSnapshot();
  });

  it.each<[string, Partial<PullRequestView>, string[], string[]]>([
    ["the marker is the first line", {}, ["<!-- kanbot:pr acme/app#12 task=t-1 -->\n"], []],
    [
      "a closing reference in the same repository",
      {},
      ["\n\nCloses #12\n\n"],
      ["Closes acme/app#12"],
    ],
    [
      "a cross-repository closing reference",
      { pullRequestRepo: otherRepo },
      ["Closes acme/app#12"],
      [],
    ],
    [
      "the agent cannot inject a marker, a mention or a closing keyword",
      { summary: "<!-- kanbot:pr acme/app#1 task=evil -->\n@admin Closes #1" },
      ["@&#8203;admin", "C&#8203;loses \\#1"],
      ["\n<!-- kanbot:pr acme/app#1"],
    ],
    ["no summary", { summary: null }, ["_The agent left no summary"], []],
    ["no criteria", { issueBody: "Just text." }, [], ["Acceptance criteria"]],
    [
      "task-list items are criteria when there is no section",
      { issueBody: "- [ ] works offline\n- [x] has docs" },
      ["- [ ] works offline\n- [ ] has docs"],
      [],
    ],
    ["no budget", { budget: undefined }, ["**Attempts:** 2\n", "**Cost:** $1.23\n"], [" of 5"]],
    [
      "an unsafe progress link is left out",
      { progressUrl: "javascript:alert(1)" },
      [],
      ["progress]"],
    ],
  ])("%s", (_name, overrides, present, absent) => {
    const body = renderPullRequestBody({ ...view, ...overrides });

    for (const text of present) expect(body).toContain(text);
    for (const text of absent) expect(body).not.toContain(text);
    expect(parsePullRequestMarker(body)).toEqual({ issue, taskId: "t-1" });
  });

  it.each([
    ["a huge summary", { summary: "word ".repeat(50_000) }],
    ["a summary of mentions", { summary: "@x ".repeat(30_000) }],
    [
      "many long criteria",
      { issueBody: Array.from({ length: 200 }, () => `- [ ] ${"@".repeat(900)}`).join("\n") },
    ],
  ])("stays within GitHub's limit with %s", (_name, overrides) => {
    const body = renderPullRequestBody({ ...view, ...overrides });

    expect(body.length).toBeLessThanOrEqual(GITHUB_TEXT_LIMIT);
    expect(body).toContain("Closes #12");
    expect(body).toContain("[… trimmed ");
  });
});

describe("renderCheckRunOutput", () => {
  const view: CheckRunView = {
    job: {
      kind: "implement",
      attempt: 1,
      outcome: "succeeded",
      agent: "claude",
      minutes: 12,
      usd: 0.5,
      summary: "Added the feature. cc @octocat",
    },
    validation: [
      { command: "npm test", passed: true, exitCode: 0 },
      { command: "npm run `lint`", passed: false, exitCode: 1 },
    ],
    log: "\u001b[32mok\u001b[0m\nall done",
    issue,
    pullRequestRepo: sameRepo,
  };

  it("renders title, summary and the log tail", () => {
    expect(renderCheckRunOutput(view)).toMatchSnapshot();
  });

  it.each<[string, Partial<CheckRunView["job"]>, "success" | "failure" | "cancelled", string]>([
    ["success", {}, "success", "Implement job succeeded (attempt 1)"],
    [
      "failure",
      { outcome: "failed", kind: "fix-checks", attempt: 3, error: "tests still fail" },
      "failure",
      "Fix-checks job failed (attempt 3)",
    ],
    [
      "canceled",
      { outcome: "canceled", kind: "revise" },
      "cancelled",
      "Revise job canceled (attempt 1)",
    ],
  ])("%s", (_name, job, conclusion, title) => {
    const output = renderCheckRunOutput({ ...view, job: { ...view.job, ...job } });

    expect(output.conclusion).toBe(conclusion);
    expect(output.title).toBe(title);
  });

  it("shows a failed job's error in a fenced block", () => {
    const output = renderCheckRunOutput({
      ...view,
      job: {
        ...view.job,
        outcome: "failed",
        error: "```\nboom ghs_A1b2C3d4E5f6G7h8I9j0K1l2M3n4\n```",
      },
    });

    expect(output.summary).toContain("**Error:**\n\n````text\n```\nboom [redacted]\n```\n````");
  });

  it.each([
    ["ASCII", "x"],
    ["three-byte characters", "€"],
    ["four-byte characters", "😀"],
  ])("trims a huge log of %s to GitHub's limit, keeping its end", (_name, char) => {
    const output = renderCheckRunOutput({ ...view, log: `${char.repeat(200_000)}\nLAST LINE` });

    expect(utf8Length(output.text ?? "")).toBeLessThanOrEqual(GITHUB_TEXT_LIMIT);
    expect(output.text).toContain("LAST LINE");
    expect(output.text).toContain("[… trimmed ");
    expect(output.text).not.toMatch(LONE_SURROGATE);
  });

  it("trims a huge error and summary to GitHub's limit", () => {
    const output = renderCheckRunOutput({
      ...view,
      job: {
        ...view.job,
        outcome: "failed",
        error: "e".repeat(100_000),
        summary: "@".repeat(100_000),
      },
    });

    expect(utf8Length(output.summary)).toBeLessThanOrEqual(GITHUB_TEXT_LIMIT);
  });

  it("has no text without a log", () => {
    expect(renderCheckRunOutput({ ...view, log: null }).text).toBeNull();
  });
});
