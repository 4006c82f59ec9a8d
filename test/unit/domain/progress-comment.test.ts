import { describe, expect, it } from "vitest";

import {
  code,
  escapeMarkdown,
  fencedBlock,
  findProgressComment,
  formatUtc,
  nested,
  note,
  ownText,
  parseProgressMarker,
  progressMarker,
  renderProgressComment,
  trimError,
  type CommentLike,
  type ProgressView,
  type TimelineEntry,
} from "../../../src/domain/progress-comment.js";
import type { TaskState } from "../../../src/domain/types.js";

const issue = { owner: "acme", repo: "app", number: 42 };

function at(minute: number): Date {
  return new Date(Date.UTC(2025, 0, 2, 3, minute, 5, 678));
}

function view(partial: Partial<ProgressView> = {}): ProgressView {
  return {
    issue,
    state: "queued",
    budget: {
      used: { attempts: 1, minutes: 12.25, usd: 0.5, lostLeases: 0 },
      limit: { attempts: 3, minutes: 60, usd: 5 },
    },
    timeline: [],
    ...partial,
  };
}

describe("progress marker", () => {
  it("is an HTML comment naming the issue", () => {
    expect(progressMarker(issue)).toBe("<!-- kanbot:progress acme/app#42 -->");
  });

  it.each([
    ["<!-- kanbot:progress acme/app#42 -->", issue],
    ["  <!-- kanbot:progress o/r.js#1 -->  ", { owner: "o", repo: "r.js", number: 1 }],
    ["<!-- kanbot:progress acme/app -->", undefined],
    ["<!-- kanbot:status acme/app#42 -->", undefined],
    ["x <!-- kanbot:progress acme/app#42 -->", undefined],
  ])("parses %j", (line, expected) => {
    expect(parseProgressMarker(line)).toEqual(expected);
  });
});

describe("findProgressComment", () => {
  const bot = "kanbot[bot]";
  const marker = progressMarker(issue);

  it.each<[string, CommentLike[], number | undefined]>([
    [
      "the bot's comment with the marker",
      [
        { id: 1, body: "hello", user: { login: "octocat" } },
        { id: 2, body: `${marker}\nstate`, user: { login: bot } },
      ],
      2,
    ],
    [
      "not someone else's copy of the marker",
      [
        { id: 1, body: `${marker}\nfake`, user: { login: "mallory" } },
        { id: 2, body: `${marker}\nreal`, user: { login: "Kanbot[bot]" } },
      ],
      2,
    ],
    [
      "not a bot comment quoting the marker further down",
      [{ id: 1, body: `hi\n${marker}`, user: { login: bot } }],
      undefined,
    ],
    [
      "the oldest of duplicates",
      [
        { id: 5, body: marker, user: { login: bot } },
        { id: 9, body: marker, user: { login: bot } },
      ],
      5,
    ],
    [
      "an exact marker before one for another name",
      [
        {
          id: 1,
          body: progressMarker({ owner: "old", repo: "name", number: 42 }),
          user: { login: bot },
        },
        { id: 2, body: marker, user: { login: bot } },
      ],
      2,
    ],
    [
      "a marker from before a rename",
      [
        {
          id: 1,
          body: progressMarker({ owner: "old", repo: "name", number: 42 }),
          user: { login: bot },
        },
      ],
      1,
    ],
    ["no user, no body", [{ id: 1, body: null, user: null }], undefined],
    ["nothing", [], undefined],
  ])("finds %s", (_name, comments, expectedId) => {
    const found = findProgressComment(comments, { issue, botLogin: bot });

    expect(found?.id).toBe(expectedId);
  });
});

describe("renderProgressComment", () => {
  it("renders a full comment", () => {
    const timeline: TimelineEntry[] = Array.from({ length: 13 }, (_, i) => ({
      at: at(i),
      text: `event ${i + 1}`,
    }));

    const markdown = renderProgressComment(
      view({
        state: "blocked",
        stateLabel: "agent:blocked",
        agent: { name: "codex", reason: "label use:codex" },
        runner: "ws-01",
        job: { kind: "fix-checks", attempt: 3 },
        budget: {
          used: { attempts: 3, minutes: 41.26, usd: 2.5, lostLeases: 0 },
          limit: { attempts: 3, minutes: 60, usd: 5 },
        },
        links: {
          pullRequest: "https://github.com/acme/app/pull/43",
          checkRun: "https://github.com/acme/app/runs/7",
          jobLog: "https://kanbot.example.com/jobs/9/log",
        },
        error: "\n\nnpm test failed\n  expected 1 to be 2\n\n",
        notes: ['label use:codx ignored: no agent named "codx"'],
        timeline,
      }),
    );

    expect(markdown).toMatchSnapshot();
  });

  it("puts the marker on the first line", () => {
    const markdown = renderProgressComment(view());

    expect(markdown.split("\n")[0]).toBe("<!-- kanbot:progress acme/app#42 -->");
  });

  it.each<[TaskState, string]>([
    ["waiting", "### kanbot: Waiting for dependencies"],
    ["queued", "### kanbot: Queued, waiting for a runner"],
    ["running", "### kanbot: Working"],
    ["checks", "### kanbot: Checks running on the pull request"],
    ["review", "### kanbot: Ready for review"],
    ["done", "### kanbot: Done"],
    ["blocked", "### kanbot: Blocked, needs a human"],
    ["canceled", "### kanbot: Canceled"],
  ])("headline for %s", (state, headline) => {
    const markdown = renderProgressComment(view({ state }));

    expect(markdown.split("\n")[1]).toBe(headline);
  });

  it("shows the attempt against the attempt budget", () => {
    const markdown = renderProgressComment(view({ job: { kind: "revise", attempt: 2 } }));

    expect(markdown).toContain("- **Attempt:** 2 of 3 (revise)");
  });

  it("shows the budget used against the limits", () => {
    const markdown = renderProgressComment(view());

    expect(markdown).toContain("- **Budget used:** 1/3 attempts · 12.3/60 min · $0.50/$5.00");
  });

  it("shows what a pending gate waits for on the head, escaped, only when given", () => {
    const markdown = renderProgressComment(
      view({
        state: "checks",
        checks: { headSha: "abc1234def5678", waiting: "waiting for build (in progress) @x" },
      }),
    );

    expect(markdown).toContain(
      "- **Checks on `abc1234`:** waiting for build \\(in progress\\) @&#8203;x",
    );
    expect(renderProgressComment(view({ state: "checks" }))).not.toContain("**Checks on");
  });

  it("links only the links it has, and only http(s) ones", () => {
    const markdown = renderProgressComment(
      view({
        links: { pullRequest: "https://github.com/acme/app/pull/1", jobLog: "javascript:alert(1)" },
      }),
    );

    expect(markdown).toContain(
      "- **Links:** [pull request](https://github.com/acme/app/pull/1) · job log: javascript:alert\\(1\\)",
    );
    expect(markdown).not.toContain("check run");
  });

  it("keeps the last ten timeline entries, in time order, in UTC", () => {
    const timeline = Array.from({ length: 12 }, (_, i) => ({ at: at(11 - i), text: `e${11 - i}` }));

    const markdown = renderProgressComment(view({ timeline }));

    expect(markdown).toContain("- _2 earlier events_\n- `2025-01-02T03:02:05Z` e2\n");
    expect(markdown).toContain("- `2025-01-02T03:11:05Z` e11\n");
    expect(markdown).not.toContain(" e1\n");
  });

  it("says 'event' for one earlier event and honours the limit", () => {
    const timeline = [0, 1, 2].map((i) => ({ at: at(i), text: `e${i}` }));

    const markdown = renderProgressComment(view({ timeline }), { timelineLimit: 2 });

    expect(markdown).toContain("- _1 earlier event_\n");
  });

  it("omits the timeline when empty", () => {
    expect(renderProgressComment(view())).not.toContain("Timeline");
  });

  it("names what a waiting task waits for", () => {
    const markdown = renderProgressComment(
      view({
        state: "waiting",
        waitingOn: [
          { ...issue, number: 1 },
          { owner: "o", repo: "r", number: 2 },
        ],
      }),
    );

    expect(markdown).toContain(
      "**Waiting on:** acme/app#1, o/r#2. kanbot queues this task when they are closed.",
    );
  });

  it("names the cycle", () => {
    const markdown = renderProgressComment(
      view({
        state: "waiting",
        cycle: [issue, { ...issue, number: 43 }],
        waitingOn: [{ ...issue, number: 43 }],
      }),
    );

    expect(markdown).toContain("**Dependency cycle:** acme/app#42 -> acme/app#43 -> acme/app#42.");
    expect(markdown).not.toContain("Waiting on");
  });

  it("shows the real error of a blocked task in a fence it cannot close", () => {
    const markdown = renderProgressComment(
      view({ state: "blocked", error: "bad:\n```\n<!-- kanbot:progress acme/app#1 -->\n```" }),
    );

    expect(markdown).toContain(
      "**Blocked:**\n\n````text\nbad:\n```\n<!-- kanbot:progress acme/app#1 -->\n```\n````",
    );
  });

  it("never falls back to a generic error", () => {
    const markdown = renderProgressComment(view({ state: "blocked", error: "  \n " }));

    expect(markdown).toContain("the job recorded no error text");
    expect(markdown).not.toMatch(/an error occurred/i);
  });

  it("shows no error section unless blocked", () => {
    const markdown = renderProgressComment(view({ state: "running", error: "old error" }));

    expect(markdown).not.toContain("old error");
  });

  it("escapes user text so it cannot inject a marker, HTML or mentions", () => {
    const markdown = renderProgressComment(
      view({
        runner: "<!-- kanbot:progress acme/app#42 -->",
        agent: { name: "x](https://evil)", reason: "**bold**\n# heading" },
        timeline: [{ at: at(0), text: "ping @octocat <img src=x> & `code`" }],
      }),
    );

    expect(markdown.match(/<!--/g)).toHaveLength(1);
    expect(markdown).toContain("- **Runner:** \\<\\!-- kanbot:progress acme/app\\#42 --\\>");
    expect(markdown).toContain(
      "- **Agent:** x\\]\\(https://evil\\) (\\*\\*bold\\*\\* \\# heading)",
    );
    expect(markdown).toContain("ping @&#8203;octocat \\<img src=x\\> &amp; \\`code\\`");
  });
});

describe("helpers", () => {
  it.each([
    ["plain", "plain"],
    ["a\nb", "a b"],
    ["[x](y)", "\\[x\\]\\(y\\)"],
    ["a|b", "a\\|b"],
    ["&amp;", "&amp;amp;"],
    ["1.5 - ok!", "1.5 - ok\\!"],
  ])("escapeMarkdown(%j) = %j", (text, expected) => {
    expect(escapeMarkdown(text)).toBe(expected);
  });

  it.each([
    ["x", "```text\nx\n```"],
    ["a ``` b", "````text\na ``` b\n````"],
    ["`````", "``````text\n`````\n``````"],
  ])("fencedBlock(%j)", (text, expected) => {
    expect(fencedBlock(text)).toBe(expected);
  });

  it("formats times in UTC without milliseconds", () => {
    expect(formatUtc(new Date("2025-06-01T12:34:56.789+02:00"))).toBe("2025-06-01T10:34:56Z");
  });

  it.each([
    ["trims blank space around", "\n\n  error\n\n", "  error"],
    ["removes colour codes", "\u001b[31mFAIL\u001b[0m test", "FAIL test"],
    ["CRLF", "a\r\nb", "a\nb"],
  ])("trimError %s", (_name, text, expected) => {
    expect(trimError(text, 100)).toBe(expected);
  });

  it("keeps the end of a long error, from a line start", () => {
    const text = Array.from({ length: 100 }, (_, i) => `line ${i}`).join("\n");

    const trimmed = trimError(text, 40);

    expect(trimmed.split("\n")[0]).toMatch(/^… \(\d+ earlier characters left out\)$/);
    expect(trimmed.endsWith("line 99")).toBe(true);
    expect(trimmed.split("\n")[1]).toMatch(/^line \d+$/);
  });
});

describe("timeline notes (note``)", () => {
  it("renders kanbot's own code spans as code", () => {
    const markdown = renderProgressComment(
      view({ timeline: [{ at: at(0), markdown: note`Canceled by ${code("/kanbot cancel")}.` }] }),
    );

    expect(markdown).toContain("- `2025-01-02T03:00:05Z` Canceled by `/kanbot cancel`.\n");
    expect(markdown).not.toContain("\\`");
  });

  it("escapes every interpolated string: no markup, HTML, marker or mention from outside text", () => {
    const agentError = "Error: ping @octocat <img src=x> **now** [x](https://evil) `rm -rf`";
    const text = note`The implement job failed: ${agentError}`;

    expect(text).toBe(
      "The implement job failed: Error: ping @&#8203;octocat \\<img src=x\\> \\*\\*now\\*\\* " +
        "\\[x\\]\\(https://evil\\) \\`rm -rf\\`",
    );
    const markdown = renderProgressComment(
      view({
        timeline: [
          { at: at(0), markdown: note`Blocked: ${"<!-- kanbot:progress acme/app#42 -->"}` },
        ],
      }),
    );
    expect(markdown.match(/<!--/g)).toHaveLength(1);
  });

  it("keeps outside text on the note's one line", () => {
    const text = note`The job failed: ${"first\n\n- second\n# third"}`;

    expect(text).toBe("The job failed: first - second \\# third");
    const markdown = renderProgressComment(view({ timeline: [{ at: at(0), markdown: text }] }));
    expect(markdown).toContain(
      "- `2025-01-02T03:00:05Z` The job failed: first - second \\# third\n",
    );
  });

  it("puts outside text in a code span it cannot close", () => {
    expect(note`Ran ${code("echo `id` @octocat")}`).toBe("Ran ``echo `id` @octocat``");
  });

  it("ownText makes kanbot's backtick spans code and escapes the rest", () => {
    expect(
      note`Blocked: ${ownText("raise `budget` in .github/kanbot.yml or comment `/kanbot retry`")}.`,
    ).toBe("Blocked: raise `budget` in .github/kanbot.yml or comment `/kanbot retry`.");
    expect(note`${ownText("a *b* `c` d`")}`).toBe("a \\*b\\* `c` d\\`");
  });

  it("nests a note as it is, without escaping it twice", () => {
    const cause = note`Canceled by ${code("/kanbot cancel")}`;

    expect(note`${nested(cause)}; queued a job.`).toBe(
      "Canceled by `/kanbot cancel`; queued a job.",
    );
  });

  it("still escapes plain-text entries (records written before notes were markdown)", () => {
    const markdown = renderProgressComment(
      view({ timeline: [{ at: at(0), text: "Canceled by `/kanbot cancel`." }] }),
    );

    expect(markdown).toContain("Canceled by \\`/kanbot cancel\\`.");
  });
});
