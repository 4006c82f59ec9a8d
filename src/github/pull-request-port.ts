/**
 * The pull-request side of the GitHub port (DESIGN sections 1, 2 and 5; issue 5): the task's
 * draft PR, the checks gate's facts (check runs, commit statuses, the branch's required checks),
 * the fix bundle's facts (annotations, a failed Actions job's log tail), review comments, merge
 * and cleanup. In domain words, like ./port.ts. `PullRequestPort` is the sum of one interface
 * per GitHub resource (pulls, reviews, checks, required checks, Actions); each is implemented on
 * Octokit in ./pull-requests/octokit-<resource>.ts and composed in ./octokit-pull-request-port.ts.
 *
 * One instance serves one installation. Expected outcomes are return values (`undefined` for
 * "not there", or an outcome union where GitHub can refuse for a reason a person must see);
 * anything else is thrown as a `GitHubError` (./errors.ts).
 */
import type { IssueRef, RepoRef } from "../domain/dependencies.js";
import type { CheckRunConclusion, CheckRunStatus } from "../domain/gate.js";

/** A pull request: its repository and number (pull requests share issue numbers). */
export type PullRequestRef = IssueRef;

export type PullRequestState = "open" | "closed";

/** How GitHub merges: one merge commit, one squashed commit, or the commits rebased. */
export type MergeMethod = "merge" | "squash" | "rebase";

/** A pull request as every answer describes it (lists and single reads). */
export interface PullRequestSummary {
  ref: PullRequestRef;
  /** GraphQL node id (for ready-for-review, draft and auto-merge). */
  nodeId: string;
  title: string;
  body: string;
  state: PullRequestState;
  /** True once merged (a merged PR is also `closed`). */
  merged: boolean;
  mergedAt: string | null;
  draft: boolean;
  head: {
    /** The branch name, without `refs/heads/`. */
    ref: string;
    sha: string;
    /** `owner/repo` of the head's repository; undefined when the fork was deleted. */
    repoFullName: string | undefined;
  };
  base: { ref: string; sha: string };
  author: string;
  /** Logins whose review is requested and not given yet. */
  requestedReviewers: string[];
  /** Team slugs whose review is requested. */
  requestedTeams: string[];
  htmlUrl: string;
}

/**
 * GitHub's `mergeable_state`: `clean`, `dirty` (conflicts), `blocked`, `behind`, `unstable`
 * (non-required checks failing), `has_hooks`, `draft` or `unknown` (still computing).
 */
export type MergeableState =
  "clean" | "dirty" | "blocked" | "behind" | "unstable" | "has_hooks" | "draft" | "unknown";

/** A single read of a pull request: the summary plus what GitHub computes for one PR. */
export interface PullRequestFacts extends PullRequestSummary {
  /** Null while GitHub is still computing it (ask again later). */
  mergeable: boolean | null;
  mergeableState: MergeableState;
  mergeCommitSha: string | null;
}

export interface NewPullRequest {
  /** The task branch. */
  head: string;
  base: string;
  title: string;
  body: string;
}

/** What `createDraftPullRequest` did. */
export interface CreatedPullRequest {
  pullRequest: PullRequestSummary;
  /** False when a PR for the head existed already (GitHub's 422) and is returned instead. */
  created: boolean;
}

export interface PullRequestChanges {
  title?: string;
  body?: string;
}

/** What became of a merge. */
export type MergeOutcome =
  | { kind: "merged"; sha: string }
  /** 405: not mergeable now (conflicts, required checks or reviews, method not allowed, base modified). */
  | { kind: "not-mergeable"; message: string }
  /** 409: the head is no longer `expectedHeadSha` (someone pushed). */
  | { kind: "head-moved"; message: string };

export interface MergeOptions {
  method: MergeMethod;
  /** Merge only if the head is still this commit (else `head-moved`). */
  expectedHeadSha?: string;
}

/** What became of a branch deletion; a branch that is already gone is fine. */
export type BranchDeletion = "deleted" | "already-gone";

// --- checks ------------------------------------------------------------------------------------

/** A check's (run's or suite's) status and, once completed, its conclusion: the domain's types. */
export type CheckStatus = CheckRunStatus;
export type CheckConclusion = CheckRunConclusion;

export interface CheckRunOutput {
  title: string;
  /** Markdown; longer than GitHub's 65 535 characters is cut, saying so. */
  summary: string;
  /** Markdown details (the log tail); cut the same way. */
  text?: string;
}

/** The GitHub Actions job behind a check run (Actions' check run id is its job id). */
export interface ActionsJobRef {
  runId: number;
  jobId: number;
}

export interface CheckRunFacts {
  id: number;
  name: string;
  headSha: string;
  status: CheckStatus;
  conclusion: CheckConclusion | null;
  startedAt: string | null;
  completedAt: string | null;
  detailsUrl: string | null;
  externalId: string | null;
  htmlUrl: string | null;
  /** The app that made it (`github-actions`, `kanbot`…); undefined when GitHub does not say. */
  appSlug: string | undefined;
  appId: number | undefined;
  checkSuiteId: number | undefined;
  output: {
    title: string | null;
    summary: string | null;
    text: string | null;
    annotationsCount: number;
  };
  /** Set for GitHub Actions runs: where the failed job's log is. */
  actionsJob: ActionsJobRef | undefined;
}

/** The conclusions an app may give its own check run (`stale` and `startup_failure` are GitHub's). */
export type CheckRunResult = Exclude<CheckConclusion, "stale" | "startup_failure">;

/** Creating (or updating) the `kanbot` check run. */
export interface CheckRunInput {
  /** Default `kanbot`. */
  name?: string;
  headSha: string;
  status: "queued" | "in_progress" | "completed";
  /** Required with status `completed`; giving it completes the run. */
  conclusion?: CheckRunResult;
  output?: CheckRunOutput;
  detailsUrl?: string;
  /** kanbot's job id, to find the run again. */
  externalId?: string;
  startedAt?: string;
  completedAt?: string;
}

export type CommitStatusState = "error" | "failure" | "pending" | "success";

/** One commit status (the older Statuses API, used by some CI services). */
export interface CommitStatusFacts {
  id: number;
  context: string;
  state: CommitStatusState;
  description: string | null;
  targetUrl: string | null;
  createdAt: string;
  updatedAt: string;
  creator: string | undefined;
}

/** One required check: its name (status context or check run name), and the app if pinned. */
export interface RequiredCheck {
  context: string;
  /** Only a check from this GitHub App counts; undefined: any source. */
  appId: number | undefined;
}

export type RequiredChecksSource = "branch-protection" | "rulesets";

/** The branch's required checks as far as the app could read them. */
export interface RequiredChecks {
  /** Union of every readable source, without duplicates. Empty: nothing is required. */
  checks: RequiredCheck[];
  /** Sources that were read. */
  sources: RequiredChecksSource[];
  /** Sources the app could not read (e.g. the branch does not exist). */
  unreadable: RequiredChecksSource[];
}

export type AnnotationLevel = "notice" | "warning" | "failure";

export interface CheckAnnotation {
  path: string;
  startLine: number;
  endLine: number;
  level: AnnotationLevel | undefined;
  title: string | null;
  message: string;
  rawDetails: string | null;
}

/** A failed job's log tail, or why there is none. */
export type JobLogOutcome =
  | {
      kind: "log";
      /** The last bytes of the log (UTF-8), starting at a line boundary when cut. */
      text: string;
      /** True when the log was longer than the cap and its start was dropped. */
      truncated: boolean;
      /** The whole log's size in bytes. */
      totalBytes: number;
    }
  /** 404/410: the log expired (retention) or the job has none. */
  | { kind: "gone" }
  /** 403: the app lacks `actions: read`. */
  | { kind: "forbidden"; message: string };

export type RerunOutcome =
  | { kind: "rerun" }
  /** 403: the app lacks `actions: write`, or GitHub will not re-run this run (too old, running). */
  | { kind: "refused"; message: string };

// --- reviews -----------------------------------------------------------------------------------

/** What became of a review request. */
export type ReviewRequestOutcome =
  | { kind: "requested"; reviewers: string[] }
  /** GitHub refused (422): the author cannot review their own PR, or not a collaborator. */
  | { kind: "refused"; reviewers: string[]; message: string };

/** A review comment: a line comment on the diff. */
export interface ReviewComment {
  id: number;
  reviewId: number | null;
  path: string;
  /** The line (of the side it is on); null when the comment is on a line that is gone. */
  line: number | null;
  /** The first line of a multi-line comment. */
  startLine: number | null;
  side: "LEFT" | "RIGHT" | undefined;
  body: string;
  author: string;
  /** `User`, `Bot` or `Organization`. */
  authorType: string;
  /** The comment this one answers in a thread. */
  inReplyTo: number | undefined;
  commitId: string;
  createdAt: string;
  htmlUrl: string;
}

/** A submitted review of a pull request. */
export interface PullRequestReview {
  id: number;
  author: string;
  /** `User`, `Bot` or `Organization`. */
  authorType: string;
  /** GitHub's state, upper case: `APPROVED`, `CHANGES_REQUESTED`, `COMMENTED`, `DISMISSED`, `PENDING`. */
  state: string;
  body: string;
  /** Null for a pending review (not submitted yet). */
  submittedAt: string | null;
  /** The head commit the reviewer saw; null when GitHub does not say. */
  commitId: string | null;
  htmlUrl: string;
}

/** The pull request itself: find, open, edit, ready, merge, and the branch after. */
export interface PullsPort {
  /** Undefined when there is no such pull request. */
  getPullRequest(pr: PullRequestRef): Promise<PullRequestFacts | undefined>;
  /** Opens a draft PR; when one exists for the head already, returns it (`created: false`). */
  createDraftPullRequest(repo: RepoRef, pr: NewPullRequest): Promise<CreatedPullRequest>;
  updatePullRequest(pr: PullRequestRef, changes: PullRequestChanges): Promise<PullRequestSummary>;
  /** Clears `draft` (GraphQL; REST cannot). Check `draft` first: GitHub's answer for a PR that is ready already is not relied on. */
  markReadyForReview(nodeId: string): Promise<void>;
  merge(pr: PullRequestRef, options: MergeOptions): Promise<MergeOutcome>;
  deleteBranch(repo: RepoRef, branch: string): Promise<BranchDeletion>;
}

/** Review requests, reviews and their line comments. */
export interface ReviewsPort {
  requestReviewers(pr: PullRequestRef, reviewers: readonly string[]): Promise<ReviewRequestOutcome>;
  /** The line comments of one review. Empty when the review does not exist. */
  listReviewComments(pr: PullRequestRef, reviewId: number): Promise<ReviewComment[]>;
  /** Every review of the pull request, in the order they were submitted (auto-merge). */
  listReviews(pr: PullRequestRef): Promise<PullRequestReview[]>;
}

/** Check runs (kanbot's own and everyone's), commit statuses and annotations. */
export interface ChecksPort {
  createCheckRun(repo: RepoRef, run: CheckRunInput): Promise<CheckRunFacts>;
  /**
   * Every check run on `sha`, re-runs included (`filter=all`), newest first as GitHub lists
   * them; the gate keeps the latest per name.
   */
  listCheckRuns(repo: RepoRef, sha: string): Promise<CheckRunFacts[]>;
  /** Every commit status on `sha`, newest first; the gate keeps the latest per context. */
  listCommitStatuses(repo: RepoRef, sha: string): Promise<CommitStatusFacts[]>;
  /** A check run's annotations, at most `limit` (default 50). */
  listAnnotations(
    repo: RepoRef,
    checkRunId: number,
    options?: { limit?: number },
  ): Promise<CheckAnnotation[]>;
}

/** The branch's required checks: classic branch protection and rulesets. */
export interface RequiredChecksPort {
  /**
   * Classic branch protection's required status checks, from the protection summary of "Get a
   * branch" (`contents: read`): `[]` when the branch is not protected or requires no checks,
   * undefined when the branch cannot be read (404: no such branch; 403).
   */
  branchProtectionRequiredChecks(
    repo: RepoRef,
    branch: string,
  ): Promise<RequiredCheck[] | undefined>;
  /** The rulesets' `required_status_checks` rules that apply to the branch (`[]`: none). */
  rulesetRequiredChecks(repo: RepoRef, branch: string): Promise<RequiredCheck[] | undefined>;
  /** Both of the above; undefined when neither could be read (the caller falls back). */
  requiredChecks(repo: RepoRef, branch: string): Promise<RequiredChecks | undefined>;
}

/** GitHub Actions, for the fix bundle and the flake guard. */
export interface ActionsPort {
  /** The last `maxBytes` (default 64 KiB) of an Actions job's log. */
  jobLogTail(repo: RepoRef, jobId: number, options?: { maxBytes?: number }): Promise<JobLogOutcome>;
  /** Re-runs the failed jobs of an Actions workflow run (needs `actions: write`). */
  rerunFailedJobs(repo: RepoRef, runId: number): Promise<RerunOutcome>;
}

/** Everything kanbot does to a task's pull request and reads about it. */
export interface PullRequestPort
  extends PullsPort, ReviewsPort, ChecksPort, RequiredChecksPort, ActionsPort {}
