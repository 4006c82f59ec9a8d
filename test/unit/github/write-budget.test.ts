/**
 * GitHub's write budget per installation (src/github/write-budget.ts, issue 15 part 2), on a fake
 * clock: the windows, the priorities, GitHub's pause, and which requests count as writes.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

import {
  InstallationWriteBudget,
  graphqlLimitPauseOf,
  limitPauseOf,
  topLevelFields,
  useWriteBudget,
  WriteBudgets,
  WritesPausedError,
  writePriorityOf,
  type WriteBudgetLimits,
} from "../../../src/github/write-budget.js";

const SMALL: WriteBudgetLimits = {
  perMinute: 10,
  perHour: 30,
  urgentShare: 0.2,
  maxWaitMs: 3_600_000,
};

beforeEach(() => {
  vi.useFakeTimers({ now: Date.parse("2026-12-08T00:00:00Z") });
});
afterEach(() => {
  vi.useRealTimers();
});

/** Starts `count` acquisitions and returns the order in which they were let through. */
function acquireAll(budget: InstallationWriteBudget, priorities: ("urgent" | "view")[]) {
  const order: string[] = [];
  priorities.forEach((priority, index) => {
    void budget.acquire(priority).then(() => order.push(`${priority}${index}`));
  });
  return order;
}

describe("the windows", () => {
  it("lets a minute's writes through at once, then the next as the oldest leaves the minute", async () => {
    const budget = new InstallationWriteBudget(1, SMALL);
    const order = acquireAll(budget, Array(12).fill("urgent"));
    await vi.advanceTimersByTimeAsync(0);
    expect(order).toHaveLength(10);
    await vi.advanceTimersByTimeAsync(59_999);
    expect(order).toHaveLength(10);
    await vi.advanceTimersByTimeAsync(1);
    expect(order).toHaveLength(12);
  });

  it("holds the hour's limit across minutes", async () => {
    const budget = new InstallationWriteBudget(1, SMALL);
    const order = acquireAll(budget, Array(31).fill("urgent"));
    await vi.advanceTimersByTimeAsync(3 * 60_000);
    expect(order).toHaveLength(30);
    expect(budget.state()).toMatchObject({ usedLastHour: 30, remaining: 0, waiting: 1 });
    await vi.advanceTimersByTimeAsync(60 * 60_000);
    expect(order).toHaveLength(31);
  });
});

describe("priorities", () => {
  it("lets urgent writes go first and keeps the last share of a window for them", async () => {
    const budget = new InstallationWriteBudget(1, SMALL);
    // 8 view writes fill the view share of the minute (80 % of 10).
    const order = acquireAll(budget, [...Array(9).fill("view"), "urgent", "urgent"]);
    await vi.advanceTimersByTimeAsync(0);
    expect(order.filter((name) => name.startsWith("view"))).toHaveLength(8);
    expect(order).toContain("urgent9");
    expect(order).toContain("urgent10");
    expect(order).not.toContain("view8");
  });

  it("puts an urgent write ahead of view writes already waiting", async () => {
    const budget = new InstallationWriteBudget(1, { ...SMALL, perMinute: 2, urgentShare: 0 });
    const order = acquireAll(budget, ["view", "view", "view", "view"]);
    await vi.advanceTimersByTimeAsync(0);
    void budget.acquire("urgent").then(() => order.push("urgent"));
    await vi.advanceTimersByTimeAsync(60_000);
    expect(order).toEqual(["view0", "view1", "urgent", "view2"]);
  });
});

describe("GitHub's pause", () => {
  it("holds every write until the pause ends", async () => {
    const budget = new InstallationWriteBudget(1, SMALL);
    budget.pause(30_000);
    const order = acquireAll(budget, ["urgent", "view"]);
    await vi.advanceTimersByTimeAsync(29_999);
    expect(order).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(order).toEqual(["urgent0", "view1"]);
  });

  it("fails at once when the wait is longer than a request may wait", async () => {
    const budget = new InstallationWriteBudget(7, { ...SMALL, maxWaitMs: 60_000 });
    budget.pause(10 * 60_000);
    await expect(budget.acquire("urgent")).rejects.toBeInstanceOf(WritesPausedError);
  });

  it("keeps installations apart", async () => {
    const budgets = new WriteBudgets(SMALL);
    budgets.of(1).pause(60_000);
    let other = false;
    void budgets
      .of(2)
      .acquire("view")
      .then(() => (other = true));
    await vi.advanceTimersByTimeAsync(0);
    expect(other).toBe(true);
    expect(budgets.of(1).pausedForMs()).toBe(60_000);
  });
});

describe("GitHub's limit answers", () => {
  const error = (status: number, headers: Record<string, string>, message = "") =>
    Object.assign(new Error(message), { status, response: { headers, data: { message } } });

  it("reads retry-after, then the primary limit's reset, then the secondary message", () => {
    const now = Date.now();
    expect(limitPauseOf(error(403, { "retry-after": "42" }), now)).toBe(42_000);
    expect(
      limitPauseOf(
        error(403, { "x-ratelimit-remaining": "0", "x-ratelimit-reset": String(now / 1000 + 90) }),
        now,
      ),
    ).toBe(90_000);
    expect(
      limitPauseOf(error(403, {}, "You have exceeded a secondary rate limit. Please wait"), now),
    ).toBe(60_000);
    expect(limitPauseOf(error(429, {}), now)).toBe(60_000);
  });

  it("does not take a permission error or a 5xx for a limit", () => {
    expect(limitPauseOf(error(403, {}, "Resource not accessible by integration"))).toBeUndefined();
    expect(limitPauseOf(error(502, { "retry-after": "5" }))).toBeUndefined();
  });

  it("reads a GraphQL answer whose errors say RATE_LIMITED or RATE_LIMIT", () => {
    const limited = (type: string) => ({
      status: 200,
      headers: { "retry-after": "7" },
      data: { errors: [{ type, message: "API rate limit exceeded for installation ID 1." }] },
    });
    expect(graphqlLimitPauseOf(limited("RATE_LIMITED"))).toBe(7_000);
    expect(graphqlLimitPauseOf(limited("RATE_LIMIT"))).toBe(7_000);
    expect(graphqlLimitPauseOf({ status: 200, data: { errors: [{ type: "NOT_FOUND" }] } })).toBe(
      undefined,
    );
  });
});

describe("which requests are writes", () => {
  it.each([
    ["GET", "/repos/{owner}/{repo}/contents/{path}", undefined],
    ["POST", "/repos/{owner}/{repo}/pulls", "urgent"],
    ["POST", "/repos/{owner}/{repo}/check-runs", "urgent"],
    ["POST", "/repos/{owner}/{repo}/issues/{issue_number}/comments", "urgent"],
    ["POST", "/repos/{owner}/{repo}/labels", "urgent"],
    ["DELETE", "/installation/token", "urgent"],
    ["POST", "/repos/{owner}/{repo}/issues/{issue_number}/labels", "view"],
    ["DELETE", "/repos/{owner}/{repo}/issues/{issue_number}/labels/{name}", "view"],
    ["PATCH", "/repos/{owner}/{repo}/issues/comments/{comment_id}", "view"],
    ["PATCH", "/repos/acme/widgets/issues/comments/17", "view"],
  ])("%s %s: %s", (method, url, priority) => {
    expect(writePriorityOf({ method, url })).toBe(priority);
  });

  it("tells GraphQL queries from mutations, and view mutations from others", () => {
    const graphql = (query: string) => writePriorityOf({ method: "POST", url: "/graphql", query });
    expect(graphql("query FindProject($o: String!) { organization(login: $o) { id } }")).toBe(
      undefined,
    );
    expect(graphql("{ viewer { login } }")).toBe(undefined);
    expect(
      graphql(`
        mutation SetSingleSelect($p: ID!) {
          updateProjectV2ItemFieldValue(
            input: { projectId: $p, value: { singleSelectOptionId: "x" } }
          ) {
            projectV2Item {
              id
            }
          }
        }
      `),
    ).toBe("view");
    expect(
      graphql(`
        mutation View($i: ID!) {
          add: addLabelsToLabelable(input: { labelableId: $i, labelIds: ["a"] }) {
            clientMutationId
          }
          remove: removeLabelsFromLabelable(input: { labelableId: $i, labelIds: ["b"] }) {
            clientMutationId
          }
          comment: updateIssueComment(input: { id: "c", body: "mutation { createPullRequest }" }) {
            clientMutationId
          }
        }
      `),
    ).toBe("view");
    expect(
      graphql(`
        mutation Ready($id: ID!) {
          markPullRequestReadyForReview(input: { pullRequestId: $id }) {
            pullRequest {
              id
            }
          }
        }
      `),
    ).toBe("urgent");
    expect(
      graphql(`
        mutation Mixed($id: ID!) {
          markPullRequestReadyForReview(input: { pullRequestId: $id }) {
            clientMutationId
          }
          updateProjectV2ItemFieldValue(input: { projectId: $id }) {
            clientMutationId
          }
        }
      `),
    ).toBe("urgent");
  });

  it("finds top-level fields past aliases, arguments, strings and comments", () => {
    expect(
      topLevelFields(`# a comment with { braces }
        mutation M { a: first(input: {x: "}{"}) { nested(arg: 1) { deep } } second { y } }`),
    ).toEqual({ operation: "mutation", fields: ["first", "second"] });
  });
});

describe("the Octokit hook", () => {
  /** A fake Octokit with @octokit/core's hook.wrap shape and a scripted transport. */
  function fakeOctokit(answers: (() => unknown)[]) {
    let wrapped:
      | ((request: (o: unknown) => Promise<unknown>, options: unknown) => Promise<unknown>)
      | undefined;
    const sent: string[] = [];
    const octokit = {
      hook: {
        wrap(_name: string, wrapper: typeof wrapped) {
          wrapped = wrapper;
        },
      },
    };
    const transport = (options: unknown) => {
      const { method, url } = options as { method: string; url: string };
      sent.push(`${method} ${url}`);
      const answer = answers.shift();
      return Promise.resolve().then(() => (answer === undefined ? { status: 200 } : answer()));
    };
    const request = (options: { method: string; url: string; query?: string }) => {
      if (wrapped === undefined) return transport(options);
      return wrapped(transport, options);
    };
    return { octokit, request, sent };
  }

  it("sends a refused write again after GitHub's retry-after, and loses nothing", async () => {
    const budget = new InstallationWriteBudget(1, SMALL);
    const refused = Object.assign(new Error("You have exceeded a secondary rate limit."), {
      status: 403,
      response: { headers: { "retry-after": "20" }, data: {} },
    });
    const { octokit, request, sent } = fakeOctokit([
      () => {
        throw refused;
      },
      () => ({ status: 201 }),
    ]);
    useWriteBudget(octokit as never, budget);
    let result: unknown;
    void request({ method: "POST", url: "/repos/{owner}/{repo}/pulls" }).then((r) => (result = r));
    await vi.advanceTimersByTimeAsync(19_999);
    expect(sent).toEqual(["POST /repos/{owner}/{repo}/pulls"]);
    expect(budget.pausedForMs()).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(sent).toHaveLength(2);
    expect(result).toEqual({ status: 201 });
  });

  it("lets reads go while writes wait for the budget", async () => {
    const budget = new InstallationWriteBudget(1, { ...SMALL, perMinute: 1, urgentShare: 0 });
    const { octokit, request, sent } = fakeOctokit([]);
    useWriteBudget(octokit as never, budget);
    void request({ method: "POST", url: "/repos/{owner}/{repo}/check-runs" });
    void request({ method: "POST", url: "/repos/{owner}/{repo}/pulls" });
    void request({ method: "GET", url: "/repos/{owner}/{repo}/issues/{issue_number}" });
    void request({ method: "POST", url: "/graphql", query: "query { viewer { login } }" });
    await vi.advanceTimersByTimeAsync(0);
    expect([...sent].sort()).toEqual(
      [
        "POST /repos/{owner}/{repo}/check-runs",
        "GET /repos/{owner}/{repo}/issues/{issue_number}",
        "POST /graphql",
      ].sort(),
    );
    await vi.advanceTimersByTimeAsync(60_000);
    expect(sent).toContain("POST /repos/{owner}/{repo}/pulls");
  });

  it("does not retry a write GitHub refused for another reason", async () => {
    const budget = new InstallationWriteBudget(1, SMALL);
    const denied = Object.assign(new Error("Resource not accessible by integration"), {
      status: 403,
      response: { headers: {}, data: {} },
    });
    const { octokit, request, sent } = fakeOctokit([
      () => {
        throw denied;
      },
    ]);
    useWriteBudget(octokit as never, budget);
    await expect(request({ method: "POST", url: "/repos/{owner}/{repo}/pulls" })).rejects.toBe(
      denied,
    );
    expect(sent).toHaveLength(1);
    expect(budget.pausedForMs()).toBe(0);
  });
});
