import { describe, expect, it } from "vitest";

import {
  decideAutoMerge,
  decideClosedPullRequest,
  decideReviewers,
  type AutoMergeInput,
  type ClosedPullRequest,
  type ReviewFact,
  type ReviewerInput,
} from "../../../src/domain/merge-policy.js";

const HEAD = "a".repeat(40);
const OLD = "c".repeat(40);
const BOT = "kanbot[bot]";

function at(minute: number): Date {
  return new Date(Date.UTC(2025, 2, 1, 12, minute));
}

describe("decideClosedPullRequest", () => {
  const merged: ClosedPullRequest = {
    merged: true,
    deleteBranch: true,
    headBranch: "kanbot/12-fix-login",
    baseBranch: "main",
    defaultBranch: "main",
    branchPrefix: "kanbot/",
    sameRepository: true,
    otherOpenPullRequests: 0,
  };

  it.each<[string, Partial<ClosedPullRequest>, string, string, boolean]>([
    ["merged: done, branch deleted", {}, "pr-merged", "done", true],
    ["merged with deleteBranch off", { deleteBranch: false }, "pr-merged", "done", false],
    [
      "closed unmerged: canceled, branch kept",
      { merged: false },
      "pr-closed-unmerged",
      "canceled",
      false,
    ],
    ["a fork's branch is never deleted", { sameRepository: false }, "pr-merged", "done", false],
    ["a branch without kanbot's prefix", { headBranch: "feature/x" }, "pr-merged", "done", false],
    [
      "the base branch",
      { headBranch: "kanbot/base", baseBranch: "kanbot/base" },
      "pr-merged",
      "done",
      false,
    ],
    [
      "the default branch",
      { headBranch: "kanbot/main", defaultBranch: "kanbot/main" },
      "pr-merged",
      "done",
      false,
    ],
    ["another open PR uses it", { otherOpenPullRequests: 1 }, "pr-merged", "done", false],
    ["an empty prefix matches nothing", { branchPrefix: "" }, "pr-merged", "done", false],
  ])("%s", (_name, overrides, event, outcome, deleteBranch) => {
    const decision = decideClosedPullRequest({ ...merged, ...overrides });

    expect(decision.event).toBe(event);
    expect(decision.outcome).toBe(outcome);
    expect(decision.deleteBranch).toBe(deleteBranch);
  });
});

describe("decideAutoMerge", () => {
  function approval(author: string, overrides: Partial<ReviewFact> = {}): ReviewFact {
    return { author, state: "approved", submittedAt: at(1), commitId: HEAD, ...overrides };
  }

  const ready: AutoMergeInput = {
    enabled: true,
    method: "squash",
    gate: { verdict: "passed", noChecks: false, headSha: HEAD },
    headSha: HEAD,
    draft: false,
    mergeable: true,
    starter: "alice",
    prAuthor: BOT,
    botLogin: BOT,
    reviews: [approval("bob")],
  };

  it.each<[string, Partial<AutoMergeInput>, string]>([
    ["green and approved by someone else", {}, "merge"],
    ["off by default in the config", { enabled: false }, "disabled"],
    [
      "checks pending",
      { gate: { verdict: "pending", noChecks: false, headSha: HEAD } },
      "not-green",
    ],
    ["checks failed", { gate: { verdict: "failed", noChecks: false, headSha: HEAD } }, "not-green"],
    [
      "green on an older head",
      { gate: { verdict: "passed", noChecks: false, headSha: OLD } },
      "not-green",
    ],
    [
      "passed without checks",
      { gate: { verdict: "passed", noChecks: true, headSha: HEAD } },
      "no-checks",
    ],
    ["a draft", { draft: true }, "draft"],
    ["conflicts", { mergeable: false }, "not-mergeable"],
    ["mergeability unknown", { mergeable: null }, "not-mergeable"],
    ["approved only by the starter", { reviews: [approval("Alice")] }, "no-approval"],
    ["approved only by the bot", { reviews: [approval(BOT)] }, "no-approval"],
    ["no reviews", { reviews: [] }, "no-approval"],
    [
      "approval on an older commit",
      { reviews: [approval("bob", { commitId: OLD })] },
      "no-approval",
    ],
    [
      "approval without a known commit counts",
      { reviews: [approval("bob", { commitId: null })] },
      "merge",
    ],
    [
      "changes requested by someone else outstanding",
      { reviews: [approval("bob"), approval("carol", { state: "changes_requested" })] },
      "changes-requested",
    ],
    [
      "changes requested then approved by the same person",
      {
        reviews: [
          approval("bob", { state: "CHANGES_REQUESTED", submittedAt: at(1) }),
          approval("bob", { state: "APPROVED", submittedAt: at(2) }),
        ],
      },
      "merge",
    ],
    [
      "approved then changes requested",
      {
        reviews: [
          approval("bob", { submittedAt: at(1) }),
          approval("bob", { state: "changes_requested", submittedAt: at(2) }),
        ],
      },
      "changes-requested",
    ],
    [
      "a later comment does not undo an approval",
      { reviews: [approval("bob"), approval("bob", { state: "commented", submittedAt: at(5) })] },
      "merge",
    ],
    [
      "a dismissed approval does not count",
      { reviews: [approval("bob"), approval("bob", { state: "dismissed", submittedAt: at(5) })] },
      "no-approval",
    ],
    [
      "a dismissed change request no longer blocks",
      {
        reviews: [
          approval("carol", { state: "changes_requested" }),
          approval("carol", { state: "dismissed", submittedAt: at(5) }),
          approval("bob"),
        ],
      },
      "merge",
    ],
  ])("%s", (_name, overrides, expected) => {
    const decision = decideAutoMerge({ ...ready, ...overrides });

    expect(decision.merge ? "merge" : decision.code).toBe(expected);
  });

  it("names the approvers and the method", () => {
    const decision = decideAutoMerge({
      ...ready,
      method: "rebase",
      reviews: [approval("dave"), approval("bob")],
    });

    expect(decision).toEqual({
      merge: true,
      method: "rebase",
      approvedBy: ["bob", "dave"],
      reason: "green and approved by @bob, @dave",
    });
  });
});

describe("decideReviewers", () => {
  const base: ReviewerInput = {
    starter: "alice",
    requestFromStarter: true,
    botLogin: BOT,
    prAuthor: BOT,
  };

  it.each<[string, Partial<ReviewerInput>, string[], string[], string[]]>([
    ["the starter by default", {}, ["alice"], [], []],
    ["not the starter when turned off", { requestFromStarter: false }, [], [], []],
    ["no starter known", { starter: null }, [], [], []],
    [
      "a configured list with teams",
      { reviewers: ["@bob", "acme/reviewers", "carol"] },
      ["alice", "bob", "carol"],
      ["reviewers"],
      [],
    ],
    ["never the bot", { starter: BOT, reviewers: ["KANBOT[bot]"] }, [], [], ["bot", "duplicate"]],
    ["never another bot", { reviewers: ["dependabot[bot]"] }, ["alice"], [], ["bot"]],
    ["never the PR author", { prAuthor: "alice" }, [], [], ["pr-author"]],
    [
      "duplicates once",
      { reviewers: ["Alice", "bob", "BOB"] },
      ["alice", "bob"],
      [],
      ["duplicate", "duplicate"],
    ],
  ])("%s", (_name, overrides, users, teams, skipped) => {
    const decision = decideReviewers({ ...base, ...overrides });

    expect(decision.users).toEqual(users);
    expect(decision.teams).toEqual(teams);
    expect(decision.skipped.map((entry) => entry.reason)).toEqual(skipped);
  });
});
