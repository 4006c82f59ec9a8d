/**
 * What happens around the end of a task's pull request (issue 5 items 3 and 5): done or canceled
 * when it closes, whether to delete its branch, whether to auto-merge it (off by default), and
 * whom to ask for a review once its checks pass.
 *
 * Choices where the issue is silent:
 * - The branch is deleted only after a merge, only when it is kanbot's (its prefix, in the PR's
 *   own repository, not the base) and no other open PR uses it. A PR closed without merge keeps
 *   its branch: the work may be picked up again with `/kanbot retry`.
 * - Auto-merge counts only approvals on the current head SHA (when the review says which commit
 *   it saw): code pushed after an approval was not approved. A gate that passed only because no
 *   checks appeared is not green enough to merge without a person.
 * - Each reviewer's latest review counts (`COMMENTED` does not change it, `DISMISSED` clears it).
 * - Reviewers: `org/team` entries are team reviewers; logins compare case-insensitively.
 */

import type { GateVerdict } from "./gate.js";

// ---------------------------------------------------------------------------------------------
// Closed pull request
// ---------------------------------------------------------------------------------------------

export interface ClosedPullRequest {
  merged: boolean;
  /** `merge.deleteBranch` from the config. */
  deleteBranch: boolean;
  /** The PR's head branch. */
  headBranch: string;
  /** The PR's base branch. */
  baseBranch: string;
  /** The repository's default branch. */
  defaultBranch: string;
  /** kanbot's branch prefix (`kanbot/`). */
  branchPrefix: string;
  /** Whether the head branch lives in the PR's own repository (not a fork). */
  sameRepository: boolean;
  /** Other open PRs whose head is this branch. */
  otherOpenPullRequests: number;
}

export interface ClosedDecision {
  /** The task event to feed the state machine. */
  event: "pr-merged" | "pr-closed-unmerged";
  outcome: "done" | "canceled";
  deleteBranch: boolean;
  /** Why the branch is (not) deleted. */
  reason: string;
}

/** Done vs canceled for a closed PR, and whether its branch goes. */
export function decideClosedPullRequest(pr: ClosedPullRequest): ClosedDecision {
  const base: Pick<ClosedDecision, "event" | "outcome"> = pr.merged
    ? { event: "pr-merged", outcome: "done" }
    : { event: "pr-closed-unmerged", outcome: "canceled" };
  const keep = (reason: string): ClosedDecision => ({ ...base, deleteBranch: false, reason });
  if (!pr.merged) return keep("closed without merge: the branch is kept for a retry");
  if (!pr.deleteBranch) return keep("merge.deleteBranch is off");
  if (!pr.sameRepository) return keep("the branch is in another repository");
  if (pr.headBranch === pr.baseBranch || pr.headBranch === pr.defaultBranch) {
    return keep(`the branch ${pr.headBranch} is a base branch`);
  }
  if (pr.branchPrefix === "" || !pr.headBranch.startsWith(pr.branchPrefix)) {
    return keep(`the branch ${pr.headBranch} is not kanbot's (prefix ${pr.branchPrefix})`);
  }
  if (pr.otherOpenPullRequests > 0) {
    return keep(`${pr.otherOpenPullRequests} other open pull request(s) use the branch`);
  }
  return { ...base, deleteBranch: true, reason: "merged: the task branch is deleted" };
}

// ---------------------------------------------------------------------------------------------
// Auto-merge
// ---------------------------------------------------------------------------------------------

/** A review state as GitHub reports it (webhook lower case or GraphQL upper case). */
export type ReviewState = "approved" | "changes_requested" | "commented" | "dismissed" | "pending";

export interface ReviewFact {
  author: string;
  /** A {@link ReviewState} in either case (`approved`, `APPROVED`). */
  state: string;
  submittedAt: Date;
  /** The commit the reviewer saw; null when unknown. */
  commitId?: string | null | undefined;
  id?: number | undefined;
}

export type MergeMethod = "squash" | "merge" | "rebase";

export interface AutoMergeInput {
  /** `merge.auto` from the config (default off). */
  enabled: boolean;
  method: MergeMethod;
  gate: { verdict: GateVerdict; noChecks: boolean; headSha: string };
  headSha: string;
  draft: boolean;
  /** GitHub's mergeable flag: null while it computes, false on conflicts. */
  mergeable: boolean | null;
  /** Who started the task. */
  starter: string | null;
  prAuthor: string;
  botLogin: string;
  reviews: readonly ReviewFact[];
}

export type AutoMergeRefusal =
  | "disabled"
  | "not-green"
  | "no-checks"
  | "draft"
  | "not-mergeable"
  | "changes-requested"
  | "no-approval";

export type AutoMergeDecision =
  | { merge: true; method: MergeMethod; approvedBy: string[]; reason: string }
  | { merge: false; code: AutoMergeRefusal; reason: string };

/** Whether to merge a kanbot PR now. */
export function decideAutoMerge(input: AutoMergeInput): AutoMergeDecision {
  const refuse = (code: AutoMergeRefusal, reason: string): AutoMergeDecision => ({
    merge: false,
    code,
    reason,
  });
  if (!input.enabled) return refuse("disabled", "auto-merge is off (merge.auto)");
  if (input.gate.headSha !== input.headSha || input.gate.verdict !== "passed") {
    return refuse("not-green", "the required checks have not passed on the head");
  }
  if (input.gate.noChecks) {
    return refuse("no-checks", "no checks ran on the head; a person must merge it");
  }
  if (input.draft) return refuse("draft", "the pull request is a draft");
  if (input.mergeable !== true) {
    return refuse(
      "not-mergeable",
      input.mergeable === null
        ? "GitHub has not computed whether it merges cleanly yet"
        : "the pull request has conflicts",
    );
  }
  const latest = latestReviews(input.reviews);
  const blocking = [...latest.values()].filter((r) => state(r.state) === "changes_requested");
  if (blocking.length > 0) {
    return refuse(
      "changes-requested",
      `changes requested by ${blocking.map((r) => `@${r.author}`).join(", ")}`,
    );
  }
  const excluded = [input.starter, input.botLogin, input.prAuthor]
    .filter((login): login is string => login !== null)
    .map((login) => login.toLowerCase());
  const approvers = [...latest.values()]
    .filter((r) => state(r.state) === "approved")
    .filter((r) => !excluded.includes(r.author.toLowerCase()))
    .filter((r) => r.commitId == null || r.commitId === input.headSha)
    .map((r) => r.author)
    .sort();
  if (approvers.length === 0) {
    return refuse(
      "no-approval",
      "no approval on the head by someone other than the person who started the task",
    );
  }
  return {
    merge: true,
    method: input.method,
    approvedBy: approvers,
    reason: `green and approved by ${approvers.map((login) => `@${login}`).join(", ")}`,
  };
}

/** Each author's latest review that counts: comments do not change a state, dismissals clear it. */
function latestReviews(reviews: readonly ReviewFact[]): Map<string, ReviewFact> {
  const sorted = [...reviews].sort(
    (a, b) => a.submittedAt.getTime() - b.submittedAt.getTime() || (a.id ?? 0) - (b.id ?? 0),
  );
  const latest = new Map<string, ReviewFact>();
  for (const review of sorted) {
    const key = review.author.toLowerCase();
    const s = state(review.state);
    if (s === "commented" || s === "pending") continue;
    if (s === "dismissed") latest.delete(key);
    else latest.set(key, review);
  }
  return latest;
}

function state(text: string): ReviewState | undefined {
  const lower = text.toLowerCase();
  return REVIEW_STATES.find((known) => known === lower);
}

const REVIEW_STATES = [
  "approved",
  "changes_requested",
  "commented",
  "dismissed",
  "pending",
] as const satisfies readonly ReviewState[];

// ---------------------------------------------------------------------------------------------
// Review requests
// ---------------------------------------------------------------------------------------------

export interface ReviewerInput {
  /** Who started the task (null when unknown, e.g. re-gated after a restart). */
  starter: string | null;
  /** `review.requestFromStarter` (default on). */
  requestFromStarter: boolean;
  /** Extra reviewers from the config: logins and `org/team` slugs. */
  reviewers?: readonly string[] | undefined;
  botLogin: string;
  prAuthor: string;
}

export interface ReviewerDecision {
  users: string[];
  /** Team slugs (the part after `org/`). */
  teams: string[];
  skipped: { login: string; reason: "bot" | "pr-author" | "duplicate" }[];
}

/** Whom to request a review from when the checks pass. */
export function decideReviewers(input: ReviewerInput): ReviewerDecision {
  const wanted = [
    ...(input.requestFromStarter && input.starter !== null ? [input.starter] : []),
    ...(input.reviewers ?? []),
  ]
    .map((login) => login.trim().replace(/^@/, ""))
    .filter((login) => login !== "");
  const users: string[] = [];
  const teams: string[] = [];
  const skipped: ReviewerDecision["skipped"] = [];
  const seen = new Set<string>();
  for (const login of wanted) {
    const key = login.toLowerCase();
    if (seen.has(key)) {
      skipped.push({ login, reason: "duplicate" });
      continue;
    }
    seen.add(key);
    if (login.includes("/")) {
      teams.push(login.slice(login.indexOf("/") + 1));
    } else if (key === input.botLogin.toLowerCase() || key.endsWith("[bot]")) {
      skipped.push({ login, reason: "bot" });
    } else if (key === input.prAuthor.toLowerCase()) {
      skipped.push({ login, reason: "pr-author" });
    } else {
      users.push(login);
    }
  }
  return { users, teams, skipped };
}
