import { describe, expect, it } from "vitest";
import { kanbotMain } from "../../../src/commands.js";
import type { Job, Runner, Task } from "../../../src/store/index.js";
import {
  availableAgents,
  formatPlan,
  planDispatch,
  RUNNER_ONLINE_MS,
  type PlanInput,
} from "../../../src/tasks/plan.js";

const REPO = "octo-org/app";
const NOW = new Date("2025-06-01T12:00:00Z");
const EARLIER = new Date("2025-06-01T11:00:00Z");

function task(issueNumber: number, fields: Partial<Task> = {}): Task {
  return {
    id: issueNumber,
    repo: REPO,
    installationId: 1,
    issueNumber,
    title: `Issue ${issueNumber}`,
    body: "",
    state: "queued",
    agent: "claude",
    requiredLabels: [],
    priority: 2,
    budget: { attempts: 5, minutes: 60, usd: 10 },
    used: { attempts: 1, minutes: 0, usd: 0, lostLeases: 0 },
    startedBy: "alice",
    branch: undefined,
    prNumber: undefined,
    headSha: undefined,
    enteredAt: EARLIER,
    spent: { attempts: 1, minutes: 0, usd: 0, lostLeases: 0 },
    prDraft: true,
    pullRequest: undefined,
    checkRun: undefined,
    gate: undefined,
    progressCommentId: undefined,
    routing: undefined,
    dependencies: undefined,
    blocker: undefined,
    shownColumn: undefined,
    shownComment: undefined,
    createdAt: EARLIER,
    updatedAt: EARLIER,
    version: 1,
    ...fields,
  };
}

function job(id: number, taskId: number, fields: Partial<Job> = {}): Job {
  return {
    id,
    taskId,
    kind: "implement",
    attempt: 1,
    status: "queued",
    agent: "claude",
    requiredLabels: [],
    repo: REPO,
    priority: 2,
    input: undefined,
    enqueuedAt: EARLIER,
    notBefore: EARLIER,
    runnerId: undefined,
    leaseExpiresAt: undefined,
    phase: undefined,
    cancelRequested: false,
    result: undefined,
    error: undefined,
    startedAt: undefined,
    finishedAt: undefined,
    ...fields,
  };
}

function runner(name: string, fields: Partial<Runner> = {}): Runner {
  return {
    id: `r-${name}`,
    name,
    agents: ["claude"],
    labels: [],
    repos: [],
    registeredAt: EARLIER,
    lastSeenAt: EARLIER,
    revokedAt: undefined,
    ...fields,
  };
}

function input(fields: Partial<PlanInput>): PlanInput {
  return {
    repo: REPO,
    tasks: [],
    queue: [],
    runners: [runner("studio")],
    now: NOW,
    ...fields,
  };
}

describe("planDispatch: the next job", () => {
  it("is the first eligible job of the queue, naming the runners that can take it", () => {
    const plan = planDispatch(
      input({
        tasks: [task(1), task(2)],
        queue: [job(2, 2, { priority: 0 }), job(1, 1)],
        runners: [runner("studio"), runner("laptop"), runner("codex-box", { agents: ["codex"] })],
      }),
    );

    expect(plan.next).toEqual({
      issueNumber: 2,
      state: "queued",
      reason: "implement job #2 (attempt 1, agent claude, P0) -> studio, laptop",
    });
    expect(plan.others).toEqual([
      {
        issueNumber: 1,
        state: "queued",
        reason:
          "implement job #1 (attempt 1, agent claude, P2) is queued behind #2 (priority first, then age)",
      },
    ]);
  });

  it("skips a job no runner can take and dispatches the next one", () => {
    const plan = planDispatch(
      input({
        tasks: [task(1, { agent: "codex" }), task(2)],
        queue: [job(1, 1, { agent: "codex", priority: 0 }), job(2, 2)],
      }),
    );

    expect(plan.next?.issueNumber).toBe(2);
    expect(plan.others[0]?.reason).toMatch(/cannot be dispatched: no runner offers agent codex$/);
  });

  it("is nothing when no runner is registered (revoked runners do not count)", () => {
    const plan = planDispatch(
      input({
        tasks: [task(1)],
        queue: [job(1, 1)],
        runners: [runner("old", { revokedAt: EARLIER })],
      }),
    );

    expect(plan.next).toBeUndefined();
    expect(plan.others[0]?.reason).toMatch(
      /no runner is registered \(register one with kanbot-runner\)$/,
    );
  });
});

describe("planDispatch: why a task is not dispatched", () => {
  it.each<{ name: string; given: Partial<PlanInput>; reason: string }>([
    {
      name: "waiting on its open blockers",
      given: {
        tasks: [
          task(1, {
            state: "waiting",
            dependencies: {
              blockers: [
                { owner: "octo-org", repo: "app", number: 7 },
                { owner: "octo-org", repo: "lib", number: 3 },
              ],
              cycle: null,
              unknown: [],
            },
          }),
        ],
      },
      reason: "waiting on #7, octo-org/lib#3",
    },
    {
      name: "on a dependency cycle",
      given: {
        tasks: [
          task(4, {
            state: "blocked",
            dependencies: {
              blockers: [],
              cycle: [
                { owner: "octo-org", repo: "app", number: 4 },
                { owner: "octo-org", repo: "app", number: 5 },
                { owner: "octo-org", repo: "app", number: 4 },
              ],
              unknown: [],
            },
          }),
        ],
      },
      reason: "blocked: on a dependency cycle #4 -> #5 -> #4",
    },
    {
      name: "blocked with its budget spent",
      given: {
        tasks: [
          task(1, {
            state: "blocked",
            blocker: {
              cause: "attempts-spent",
              message: "the budget of 5 attempts is spent",
              error: null,
            },
          }),
        ],
      },
      reason: "blocked: the budget of 5 attempts is spent",
    },
    {
      name: "no runner with the required labels",
      given: {
        tasks: [task(1)],
        queue: [job(1, 1, { requiredLabels: ["gpu"] })],
      },
      reason:
        "implement job #1 (attempt 1, agent claude, P2) cannot be dispatched: no runner with agent claude has the labels gpu",
    },
    {
      name: "no runner serving the repository",
      given: {
        tasks: [task(1)],
        queue: [job(1, 1)],
        runners: [runner("studio", { repos: ["octo-org/other"] })],
      },
      reason:
        "implement job #1 (attempt 1, agent claude, P2) cannot be dispatched: no runner with agent claude serves octo-org/app",
    },
    {
      name: "waiting for its retry backoff",
      given: {
        tasks: [task(1)],
        queue: [
          job(1, 1, {
            kind: "fix-checks",
            attempt: 2,
            notBefore: new Date("2025-06-01T12:05:00Z"),
          }),
        ],
      },
      reason:
        "fix-checks job #1 (attempt 2, agent claude, P2) waits for its retry backoff until 2025-06-01T12:05:00.000Z",
    },
    {
      name: "running on a runner",
      given: {
        tasks: [task(1, { state: "running" })],
        queue: [job(1, 1, { status: "leased", runnerId: "r-studio" })],
      },
      reason: "implement job #1 (attempt 1, agent claude, P2) is running on runner r-studio",
    },
    {
      name: "its PR waits for checks",
      given: { tasks: [task(1, { state: "checks" })] },
      reason: "its PR waits for checks",
    },
  ])("$name", ({ given, reason }) => {
    const plan = planDispatch(input(given));

    expect(plan.next).toBeUndefined();
    expect(plan.others.map((entry) => entry.reason)).toEqual([reason]);
  });
});

describe("formatPlan", () => {
  it("prints the next job, then every other task by issue number", () => {
    const plan = planDispatch(
      input({
        tasks: [
          task(3, {
            state: "waiting",
            dependencies: {
              blockers: [{ owner: "octo-org", repo: "app", number: 1 }],
              cycle: null,
              unknown: [],
            },
          }),
          task(1),
          task(2, { agent: "codex" }),
        ],
        queue: [job(1, 1), job(2, 2, { agent: "codex" })],
      }),
    );

    expect(formatPlan(plan)).toBe(
      [
        "kanbot plan for octo-org/app",
        "",
        "Next: #1 implement job #1 (attempt 1, agent claude, P2) -> studio",
        "",
        "Not dispatched:",
        "  #2 (queued): implement job #2 (attempt 1, agent codex, P2) cannot be dispatched: no runner offers agent codex",
        "  #3 (waiting): waiting on #1",
        "",
      ].join("\n"),
    );
  });

  it("says so when nothing can be dispatched", () => {
    expect(formatPlan(planDispatch(input({})))).toBe(
      "kanbot plan for octo-org/app\n\nNext: nothing can be dispatched now.\n",
    );
  });
});

describe("kanbot plan", () => {
  it.each([[["plan"]], [["plan", "--repo"]], [["plan", "--repo", "not-a-repo"]]])(
    "%j exits 2 and says how to name the repository",
    async (argv) => {
      let stderr = "";

      const code = await kanbotMain(
        argv,
        {},
        {
          stdout: { write: () => true },
          stderr: { write: (text: string) => (stderr += text) },
        },
      );

      expect(code).toBe(2);
      expect(stderr).toBe("kanbot plan: name the repository: kanbot plan --repo owner/name\n");
    },
  );
});

describe("fallback agents (issue 14 part 4)", () => {
  it("a waiting job names its agent and why a fallback agent took over", () => {
    const fallback = task(7, {
      agent: "codex",
      routing: {
        agent: "claude",
        reason: "default",
        priorityReason: "default",
        notes: [],
        fallbackReason: "fallback: claude hit its usage limit",
      },
    });

    const plan = planDispatch(
      input({
        tasks: [fallback],
        queue: [job(70, 7, { agent: "codex" })],
        runners: [runner("laptop", { agents: ["codex"] })],
      }),
    );

    expect(plan.next?.reason).toContain(
      "agent codex [fallback: claude hit its usage limit], P2) -> laptop",
    );
  });

  it.each<[string, Partial<Runner>, string[]]>([
    ["online, serving the repo with the labels", {}, ["claude", "codex"]],
    ["revoked", { revokedAt: EARLIER }, []],
    ["never seen", { lastSeenAt: undefined }, []],
    ["seen too long ago", { lastSeenAt: new Date(NOW.getTime() - RUNNER_ONLINE_MS - 1) }, []],
    ["for other repositories", { repos: ["octo-org/other"] }, []],
    ["without the task's labels", { labels: [] }, []],
  ])("availableAgents: a runner %s", (_, fields, agents) => {
    const online = runner("laptop", {
      agents: ["codex", "claude"],
      labels: ["gpu"],
      lastSeenAt: new Date(NOW.getTime() - 60_000),
      ...fields,
    });

    expect(availableAgents([online], { repo: REPO, requiredLabels: ["gpu"] }, NOW)).toEqual(agents);
  });
});
