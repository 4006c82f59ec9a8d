import { describe, expect, it } from "vitest";
import { continuesTaskBranch, jobHistory, MAX_JOB_HISTORY } from "../../../src/api/describe-job.js";
import { JobAttempt } from "../../../src/protocol/index.js";
import type { Job } from "../../../src/store/index.js";
import { gitHubWebUrl, taskBranchName } from "../../../src/api/index.js";

describe("taskBranchName", () => {
  it.each([
    ["kanbot/", 12, "Add a Widget!", "kanbot/12-add-a-widget"],
    ["kanbot/", 3, "   ", "kanbot/3"],
    ["agents/", 4, "Crème brûlée: fix the oven", "agents/4-creme-brulee-fix-the-oven"],
    ["kanbot/", 5, "a".repeat(60), `kanbot/5-${"a".repeat(40)}`],
    [
      "kanbot/",
      6,
      "ends with a dash at the forty character -x",
      "kanbot/6-ends-with-a-dash-at-the-forty-character",
    ],
  ])("%s + #%i %j -> %s", (prefix, issue, title, expected) => {
    expect(taskBranchName(prefix, issue, title)).toBe(expected);
  });
});

describe("gitHubWebUrl", () => {
  it.each([
    [{ GHE_PROTOCOL: "https" }, "https://github.com"],
    [{ GHE_HOST: "ghe.example.com", GHE_PROTOCOL: "https" }, "https://ghe.example.com"],
    [{ GHE_HOST: "localhost:8080", GHE_PROTOCOL: "http" }, "http://localhost:8080"],
  ])("%j -> %s", (settings, expected) => {
    expect(gitHubWebUrl(settings)).toBe(expected);
  });
});

describe("continuesTaskBranch", () => {
  it.each([
    ["implement", false],
    ["fix-checks", true],
    ["revise", true],
    ["rebase", true],
  ] as const)("%s continues the task branch: %s", (kind, continues) => {
    expect(continuesTaskBranch(kind)).toBe(continues);
  });
});

describe("jobHistory", () => {
  const job = (id: number, fields: Partial<Job>): Job => ({
    id,
    taskId: 1,
    kind: "implement",
    attempt: id,
    status: "failed",
    agent: "codex",
    requiredLabels: [],
    repo: "acme/widgets",
    priority: 2,
    input: undefined,
    enqueuedAt: new Date(0),
    notBefore: new Date(0),
    runnerId: undefined,
    leaseExpiresAt: undefined,
    phase: undefined,
    cancelRequested: false,
    result: undefined,
    error: undefined,
    startedAt: undefined,
    finishedAt: undefined,
    ...fields,
  });

  it("lists the ended jobs before this one, oldest first, with agent, outcome, class and one line", () => {
    const jobs = [
      job(3, { status: "queued", agent: "gemini" }),
      job(2, {
        error: "the agent failed:\n  stream   disconnected",
        result: { validation: [], failureClass: "transient" },
      }),
      job(1, {
        error: "the agent failed: codex reported an error",
        result: { validation: [], failureClass: "task", failureMessage: "Codex ran out of room" },
      }),
    ];

    expect(jobHistory({ id: 3 }, jobs)).toEqual([
      {
        attempt: 1,
        kind: "implement",
        agent: "codex",
        outcome: "failed",
        failureClass: "task",
        message: "Codex ran out of room",
      },
      {
        attempt: 2,
        kind: "implement",
        agent: "codex",
        outcome: "failed",
        failureClass: "transient",
        message: "the agent failed: stream disconnected",
      },
    ]);
  });

  it("a job that asked a question shows it, and the runner's schema accepts the entry", () => {
    const jobs = [
      job(1, {
        status: "needs-input",
        result: { validation: [], question: "Which locale is the default?" },
      }),
    ];

    const history = jobHistory({ id: 2, kind: "answer" } as Job, jobs);

    expect(history).toEqual([
      {
        attempt: 1,
        kind: "implement",
        agent: "codex",
        outcome: "needs-input",
        message: "asked: Which locale is the default?",
      },
    ]);
    expect(JobAttempt.array().parse(history)).toEqual(history);
  });

  it("a success shows the start of its summary; a failure without a class is `task`; at most the newest ten", () => {
    const jobs = Array.from({ length: 12 }, (_, index) => job(index + 1, { error: "boom" }));
    jobs.push(job(13, { status: "succeeded", result: { validation: [], summary: "Did it." } }));

    const history = jobHistory({ id: 14 }, jobs);

    expect(history).toHaveLength(MAX_JOB_HISTORY);
    expect(history[0]).toMatchObject({ attempt: 4, failureClass: "task", message: "boom" });
    expect(history.at(-1)).toEqual({
      attempt: 13,
      kind: "implement",
      agent: "codex",
      outcome: "succeeded",
      message: "Did it.",
    });
  });
});
