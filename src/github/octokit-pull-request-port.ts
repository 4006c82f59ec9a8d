/**
 * The pull-request port (./pull-request-port.ts) on Octokit: REST for pull requests, check runs,
 * commit statuses, required checks, Actions jobs and review comments; GraphQL
 * (./pull-request-graphql.ts) for what REST cannot do (ready for review, back to draft,
 * auto-merge). It takes the installation Octokit Probot gives, so GitHub Enterprise Server works
 * through Probot's base URL, REST and GraphQL alike; no host is named here.
 *
 * Expected outcomes are handled where they happen (a PR that exists already, a reviewer GitHub
 * refuses, a PR that cannot be merged, a branch already deleted, a log that expired, a base
 * branch that does not exist); everything else is thrown as a `GitHubError`.
 */
import { guardRepoNames } from "./repo-name-guard.js";
import type { Logger } from "pino";
import type { RepoRef } from "../domain/dependencies.js";
import { GitHubError, isGitHubStatus, toGitHubError } from "./errors.js";
import type { InstallationOctokit } from "./octokit-port.js";
import {
  CONVERT_PULL_REQUEST_TO_DRAFT,
  ENABLE_PULL_REQUEST_AUTO_MERGE,
  MARK_PULL_REQUEST_READY,
} from "./pull-request-graphql.js";
import type {
  ActionsJobFacts,
  ActionsJobRef,
  AnnotationLevel,
  AutoMergeOutcome,
  BranchDeletion,
  CheckAnnotation,
  CheckConclusion,
  CheckRunFacts,
  CheckRunInput,
  CheckRunOutput,
  CheckRunUpdate,
  CheckStatus,
  CheckSuiteFacts,
  CommitStatusFacts,
  CommitStatusState,
  CreatedPullRequest,
  JobLogOutcome,
  MergeableState,
  MergeMethod,
  MergeOptions,
  MergeOutcome,
  NewPullRequest,
  PullRequestChanges,
  PullRequestFacts,
  PullRequestPort,
  PullRequestRef,
  PullRequestReview,
  PullRequestSummary,
  RequiredCheck,
  RequiredChecks,
  RequiredChecksSource,
  RerunOutcome,
  ReviewComment,
  ReviewRequestOutcome,
} from "./pull-request-port.js";

export interface PullRequestPortOptions {
  /** `context.log` in a handler, the worker's logger in the inbox. */
  log: Logger;
}

/** Page size for every paginated REST list (GitHub's maximum). */
const PER_PAGE = 100;
/** The name of kanbot's own check run. */
export const KANBOT_CHECK_NAME = "kanbot";
/** GitHub refuses a check run output's `summary` or `text` longer than this (characters). */
export const CHECK_OUTPUT_LIMIT = 65_535;
/** What a job log tail keeps by default. */
export const DEFAULT_LOG_TAIL_BYTES = 64 * 1024;
/** How many annotations of one check run are read by default. */
export const DEFAULT_ANNOTATION_LIMIT = 50;

/** The pull-request port for one installation, on its authenticated Octokit. */
export function createPullRequestPort(
  octokit: InstallationOctokit,
  options: PullRequestPortOptions,
): PullRequestPort {
  return guardRepoNames<PullRequestPort>(
    new OctokitPullRequestPort(octokit, options.log),
    "PullRequestPort",
  );
}

// ---------------------------------------------------------------------------------------------
// GitHub's answers, as far as the port reads them.

interface RestUser {
  login: string;
  type?: string;
}

interface RestPullRequest {
  number: number;
  node_id: string;
  title: string;
  body: string | null;
  state: string;
  merged_at: string | null;
  draft?: boolean;
  head: { ref: string; sha: string; repo: { full_name: string } | null };
  base: { ref: string; sha: string };
  user: RestUser | null;
  requested_reviewers?: (RestUser | null)[] | null;
  requested_teams?: ({ slug: string } | null)[] | null;
  html_url: string;
}

interface RestPullRequestFull extends RestPullRequest {
  merged: boolean;
  mergeable: boolean | null;
  mergeable_state: string;
  merge_commit_sha: string | null;
}

interface RestApp {
  id?: number;
  slug?: string;
}

interface RestCheckRun {
  id: number;
  name: string;
  head_sha: string;
  status: string;
  conclusion: string | null;
  started_at: string | null;
  completed_at: string | null;
  details_url: string | null;
  external_id: string | null;
  html_url: string | null;
  app: RestApp | null;
  check_suite: { id: number } | null;
  output: {
    title: string | null;
    summary: string | null;
    text: string | null;
    annotations_count: number;
  };
}

interface RestCheckSuite {
  id: number;
  head_sha: string;
  head_branch: string | null;
  status: string | null;
  conclusion: string | null;
  app: RestApp | null;
  latest_check_runs_count?: number;
}

interface RestStatus {
  id: number;
  context: string;
  state: string;
  description: string | null;
  target_url: string | null;
  created_at: string;
  updated_at: string;
  creator: RestUser | null;
}

interface RestAnnotation {
  path: string;
  start_line: number;
  end_line: number;
  annotation_level: string | null;
  title: string | null;
  message: string | null;
  raw_details: string | null;
}

interface RestReviewComment {
  id: number;
  pull_request_review_id: number | null;
  path: string;
  line?: number | null;
  start_line?: number | null;
  side?: string;
  body: string;
  user: RestUser | null;
  in_reply_to_id?: number;
  commit_id: string;
  created_at: string;
  html_url: string;
}

interface RestReview {
  id: number;
  user: RestUser | null;
  body: string;
  state: string;
  submitted_at?: string;
  commit_id: string | null;
  html_url: string;
}

interface RestRule {
  type: string;
  parameters?: unknown;
}

// ---------------------------------------------------------------------------------------------

const MERGEABLE_STATES: readonly MergeableState[] = [
  "clean",
  "dirty",
  "blocked",
  "behind",
  "unstable",
  "has_hooks",
  "draft",
  "unknown",
];

const CHECK_STATUSES: readonly CheckStatus[] = [
  "queued",
  "in_progress",
  "completed",
  "waiting",
  "requested",
  "pending",
];

const CHECK_CONCLUSIONS: readonly CheckConclusion[] = [
  "success",
  "failure",
  "neutral",
  "cancelled",
  "skipped",
  "timed_out",
  "action_required",
  "stale",
  "startup_failure",
];

const STATUS_STATES: readonly CommitStatusState[] = ["error", "failure", "pending", "success"];

function oneOf<T extends string>(
  values: readonly T[],
  value: string | null | undefined,
): T | undefined {
  return values.find((candidate) => candidate === value);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null;
}

function formatPr(pr: PullRequestRef): string {
  return `${pr.owner}/${pr.repo}#${pr.number}`;
}

function formatRepo(repo: RepoRef): string {
  return `${repo.owner}/${repo.repo}`;
}

function toSummary(repo: RepoRef, pr: RestPullRequest): PullRequestSummary {
  return {
    ref: { owner: repo.owner, repo: repo.repo, number: pr.number },
    nodeId: pr.node_id,
    title: pr.title,
    body: pr.body ?? "",
    state: pr.state === "closed" ? "closed" : "open",
    merged: pr.merged_at !== null,
    mergedAt: pr.merged_at,
    draft: pr.draft === true,
    head: { ref: pr.head.ref, sha: pr.head.sha, repoFullName: pr.head.repo?.full_name },
    base: { ref: pr.base.ref, sha: pr.base.sha },
    author: pr.user?.login ?? "ghost",
    requestedReviewers: (pr.requested_reviewers ?? []).flatMap((user) =>
      user === null ? [] : [user.login],
    ),
    requestedTeams: (pr.requested_teams ?? []).flatMap((team) =>
      team === null ? [] : [team.slug],
    ),
    htmlUrl: pr.html_url,
  };
}

function toFacts(repo: RepoRef, pr: RestPullRequestFull): PullRequestFacts {
  return {
    ...toSummary(repo, pr),
    merged: pr.merged || pr.merged_at !== null,
    mergeable: pr.mergeable,
    mergeableState: oneOf(MERGEABLE_STATES, pr.mergeable_state) ?? "unknown",
    mergeCommitSha: pr.merge_commit_sha,
  };
}

/**
 * The Actions run and job of a check run made by GitHub Actions: its details URL reads
 * `…/actions/runs/{run_id}/job/{job_id}` (Actions' check run id is the job id).
 */
function actionsJobOf(run: RestCheckRun): ActionsJobRef | undefined {
  if (run.app?.slug !== "github-actions" || run.details_url === null) return undefined;
  const match = /\/actions\/runs\/(\d+)\/jobs?\/(\d+)/.exec(run.details_url);
  if (match === null) return undefined;
  return { runId: Number(match[1]), jobId: Number(match[2]) };
}

function toCheckRun(run: RestCheckRun): CheckRunFacts {
  return {
    id: run.id,
    name: run.name,
    headSha: run.head_sha,
    status: oneOf(CHECK_STATUSES, run.status) ?? "queued",
    conclusion: oneOf(CHECK_CONCLUSIONS, run.conclusion) ?? null,
    startedAt: run.started_at,
    completedAt: run.completed_at,
    detailsUrl: run.details_url,
    externalId: run.external_id,
    htmlUrl: run.html_url,
    appSlug: run.app?.slug,
    appId: run.app?.id,
    checkSuiteId: run.check_suite?.id,
    output: {
      title: run.output.title,
      summary: run.output.summary,
      text: run.output.text,
      annotationsCount: run.output.annotations_count,
    },
    actionsJob: actionsJobOf(run),
  };
}

function toCheckSuite(suite: RestCheckSuite): CheckSuiteFacts {
  return {
    id: suite.id,
    headSha: suite.head_sha,
    headBranch: suite.head_branch,
    status: oneOf(CHECK_STATUSES, suite.status) ?? null,
    conclusion: oneOf(CHECK_CONCLUSIONS, suite.conclusion) ?? null,
    appSlug: suite.app?.slug,
    appId: suite.app?.id,
    latestCheckRunsCount: suite.latest_check_runs_count ?? 0,
  };
}

function toStatus(status: RestStatus): CommitStatusFacts {
  return {
    id: status.id,
    context: status.context,
    state: oneOf(STATUS_STATES, status.state) ?? "pending",
    description: status.description,
    targetUrl: status.target_url,
    createdAt: status.created_at,
    updatedAt: status.updated_at,
    creator: status.creator?.login,
  };
}

function toAnnotation(annotation: RestAnnotation): CheckAnnotation {
  const levels: readonly AnnotationLevel[] = ["notice", "warning", "failure"];
  return {
    path: annotation.path,
    startLine: annotation.start_line,
    endLine: annotation.end_line,
    level: oneOf(levels, annotation.annotation_level),
    title: annotation.title,
    message: annotation.message ?? "",
    rawDetails: annotation.raw_details,
  };
}

function toReviewComment(comment: RestReviewComment): ReviewComment {
  return {
    id: comment.id,
    reviewId: comment.pull_request_review_id,
    path: comment.path,
    line: comment.line ?? null,
    startLine: comment.start_line ?? null,
    side: comment.side === "LEFT" || comment.side === "RIGHT" ? comment.side : undefined,
    body: comment.body,
    author: comment.user?.login ?? "ghost",
    authorType: comment.user?.type ?? "User",
    inReplyTo: comment.in_reply_to_id,
    commitId: comment.commit_id,
    createdAt: comment.created_at,
    htmlUrl: comment.html_url,
  };
}

function toReview(review: RestReview): PullRequestReview {
  return {
    id: review.id,
    author: review.user?.login ?? "ghost",
    authorType: review.user?.type ?? "User",
    state: review.state.toUpperCase(),
    body: review.body,
    submittedAt: review.submitted_at ?? null,
    commitId: review.commit_id,
    htmlUrl: review.html_url,
  };
}

/** Text GitHub accepts in a check run output: cut at {@link CHECK_OUTPUT_LIMIT}, saying so. */
function fitOutput(text: string): string {
  if (text.length <= CHECK_OUTPUT_LIMIT) return text;
  const note = "\n\n… (cut: GitHub keeps at most 65535 characters)";
  return text.slice(0, CHECK_OUTPUT_LIMIT - note.length) + note;
}

function outputOf(output: CheckRunOutput) {
  return {
    title: output.title,
    summary: fitOutput(output.summary),
    ...(output.text === undefined ? {} : { text: fitOutput(output.text) }),
  };
}

/** The request fields of a check run, leaving out what the caller did not set. */
function checkRunFields(run: CheckRunUpdate) {
  return {
    ...(run.status === undefined ? {} : { status: run.status }),
    ...(run.conclusion === undefined ? {} : { conclusion: run.conclusion }),
    ...(run.output === undefined ? {} : { output: outputOf(run.output) }),
    ...(run.detailsUrl === undefined ? {} : { details_url: run.detailsUrl }),
    ...(run.externalId === undefined ? {} : { external_id: run.externalId }),
    ...(run.startedAt === undefined ? {} : { started_at: run.startedAt }),
    ...(run.completedAt === undefined ? {} : { completed_at: run.completedAt }),
  };
}

/** Required checks from a ruleset rule list: every `required_status_checks` rule's checks. */
function requiredFromRules(rules: readonly RestRule[]): RequiredCheck[] {
  return rules.flatMap((rule) => {
    if (rule.type !== "required_status_checks" || !isRecord(rule.parameters)) return [];
    const checks = rule.parameters.required_status_checks;
    if (!Array.isArray(checks)) return [];
    return checks.flatMap((check: unknown) =>
      isRecord(check) && typeof check.context === "string"
        ? [
            {
              context: check.context,
              appId: typeof check.integration_id === "number" ? check.integration_id : undefined,
            },
          ]
        : [],
    );
  });
}

function uniqueChecks(checks: readonly RequiredCheck[]): RequiredCheck[] {
  const seen = new Set<string>();
  return checks.filter((check) => {
    const key = `${check.context}\u0000${check.appId ?? ""}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** Whether a 422 names this message among GitHub's validation errors. */
function says(error: GitHubError, pattern: RegExp): boolean {
  return pattern.test(error.githubMessage);
}

/**
 * The last `maxBytes` of a response body, read as it streams (the whole log is never held), and
 * the body's size. A string or buffer (a body Octokit already read) works too.
 */
async function readTail(
  body: unknown,
  maxBytes: number,
): Promise<{ tail: Uint8Array; total: number }> {
  if (typeof body === "string") return cut(Buffer.from(body, "utf8"), maxBytes);
  if (body instanceof ArrayBuffer) return cut(new Uint8Array(body), maxBytes);
  if (body instanceof Uint8Array) return cut(body, maxBytes);
  if (body === null || body === undefined) return { tail: new Uint8Array(0), total: 0 };
  if (!isAsyncIterable(body)) throw new TypeError("job log answer is not a readable body");
  let kept: Uint8Array[] = [];
  let keptBytes = 0;
  let total = 0;
  for await (const chunk of body) {
    const bytes = typeof chunk === "string" ? Buffer.from(chunk, "utf8") : toBytes(chunk);
    kept.push(bytes);
    keptBytes += bytes.length;
    total += bytes.length;
    if (keptBytes > 2 * maxBytes) {
      const joined = cut(Buffer.concat(kept), maxBytes).tail;
      kept = [joined];
      keptBytes = joined.length;
    }
  }
  return { tail: cut(Buffer.concat(kept), maxBytes).tail, total };
}

function cut(bytes: Uint8Array, maxBytes: number): { tail: Uint8Array; total: number } {
  return { tail: bytes.subarray(Math.max(0, bytes.length - maxBytes)), total: bytes.length };
}

function toBytes(chunk: unknown): Uint8Array {
  if (chunk instanceof Uint8Array) return chunk;
  if (chunk instanceof ArrayBuffer) return new Uint8Array(chunk);
  throw new TypeError("job log chunk is not bytes");
}

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return isRecord(value) && Symbol.asyncIterator in value;
}

/** UTF-8 text of a log tail; when cut, from the first whole line on. */
function tailText(tail: Uint8Array, truncated: boolean): string {
  const text = new TextDecoder("utf-8").decode(tail);
  if (!truncated) return text;
  const newline = text.indexOf("\n");
  return newline === -1 || newline === text.length - 1 ? text : text.slice(newline + 1);
}

class OctokitPullRequestPort implements PullRequestPort {
  readonly #octokit: InstallationOctokit;
  readonly #log: Logger;

  constructor(octokit: InstallationOctokit, log: Logger) {
    this.#octokit = octokit;
    this.#log = log;
  }

  /** Runs one GitHub call; anything Octokit throws leaves as a GitHubError. */
  async #call<T>(action: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      throw toGitHubError(error, action, this.#octokit.request.endpoint.DEFAULTS.baseUrl);
    }
  }

  // --- pull requests -------------------------------------------------------------------------

  /** Every PR (any state) whose head is `branch` of `repo`, newest first. */
  async #pullRequestsForHead(
    repo: RepoRef,
    branch: string,
    state: "open" | "all",
  ): Promise<PullRequestSummary[]> {
    const pulls = await this.#call(
      `list the pull requests of branch ${branch} in ${formatRepo(repo)}`,
      () =>
        this.#octokit.paginate(this.#octokit.rest.pulls.list, {
          owner: repo.owner,
          repo: repo.repo,
          head: `${repo.owner}:${branch}`,
          state,
          per_page: PER_PAGE,
        }),
    );
    return pulls.map((pr) => toSummary(repo, pr));
  }

  async findPullRequestForBranch(
    repo: RepoRef,
    branch: string,
  ): Promise<PullRequestSummary | undefined> {
    const pulls = await this.#pullRequestsForHead(repo, branch, "all");
    const found = pulls.find((pr) => pr.state === "open") ?? pulls[0];
    if (found === undefined) this.#log.debug({ ...repo, branch }, "no pull request for branch");
    return found;
  }

  async getPullRequest(pr: PullRequestRef): Promise<PullRequestFacts | undefined> {
    try {
      const { data } = await this.#call(`read pull request ${formatPr(pr)}`, () =>
        this.#octokit.rest.pulls.get({ owner: pr.owner, repo: pr.repo, pull_number: pr.number }),
      );
      return toFacts(pr, data);
    } catch (error) {
      if (!isGitHubStatus(error, 404)) throw error;
      this.#log.debug({ pullRequest: formatPr(pr) }, "pull request not found");
      return undefined;
    }
  }

  async createDraftPullRequest(repo: RepoRef, pr: NewPullRequest): Promise<CreatedPullRequest> {
    const action = `open a draft pull request from ${pr.head} into ${pr.base} in ${formatRepo(repo)}`;
    const create = (draft: boolean) =>
      this.#call(action, () =>
        this.#octokit.rest.pulls.create({
          owner: repo.owner,
          repo: repo.repo,
          head: pr.head,
          base: pr.base,
          title: pr.title,
          body: pr.body,
          draft,
        }),
      );
    try {
      const { data } = await create(true);
      this.#log.info({ ...repo, number: data.number, head: pr.head }, "draft pull request opened");
      return { pullRequest: toSummary(repo, data), created: true };
    } catch (error) {
      if (!isGitHubStatus(error, 422)) throw error;
      if (says(error, /draft pull requests are not supported/i)) {
        // Private repositories on some plans have no drafts: open it ready, and say so.
        this.#log.warn(
          { ...repo, head: pr.head },
          "drafts not supported; pull request opened ready",
        );
        const { data } = await create(false);
        return { pullRequest: toSummary(repo, data), created: true };
      }
      if (!says(error, /a pull request already exists/i)) throw error;
      const [existing] = await this.#pullRequestsForHead(repo, pr.head, "open");
      if (existing === undefined) throw error;
      this.#log.info(
        { ...repo, number: existing.ref.number, head: pr.head },
        "pull request exists already for branch",
      );
      return { pullRequest: existing, created: false };
    }
  }

  async updatePullRequest(
    pr: PullRequestRef,
    changes: PullRequestChanges,
  ): Promise<PullRequestSummary> {
    const { data } = await this.#call(`edit pull request ${formatPr(pr)}`, () =>
      this.#octokit.rest.pulls.update({
        owner: pr.owner,
        repo: pr.repo,
        pull_number: pr.number,
        ...(changes.title === undefined ? {} : { title: changes.title }),
        ...(changes.body === undefined ? {} : { body: changes.body }),
      }),
    );
    return toSummary(pr, data);
  }

  async markReadyForReview(nodeId: string): Promise<void> {
    await this.#call(`mark pull request ${nodeId} ready for review`, () =>
      this.#octokit.graphql(MARK_PULL_REQUEST_READY, { pullRequestId: nodeId }),
    );
  }

  async convertToDraft(nodeId: string): Promise<void> {
    await this.#call(`turn pull request ${nodeId} back into a draft`, () =>
      this.#octokit.graphql(CONVERT_PULL_REQUEST_TO_DRAFT, { pullRequestId: nodeId }),
    );
  }

  async requestReviewers(
    pr: PullRequestRef,
    reviewers: readonly string[],
  ): Promise<ReviewRequestOutcome> {
    const wanted = [...reviewers];
    if (wanted.length === 0) return { kind: "requested", reviewers: [] };
    try {
      await this.#call(`request a review of ${formatPr(pr)}`, () =>
        this.#octokit.rest.pulls.requestReviewers({
          owner: pr.owner,
          repo: pr.repo,
          pull_number: pr.number,
          reviewers: wanted,
        }),
      );
      return { kind: "requested", reviewers: wanted };
    } catch (error) {
      if (!isGitHubStatus(error, 422)) throw error;
      // The author of the PR, or someone who is not a collaborator: a person must see why.
      this.#log.info(
        { pullRequest: formatPr(pr), reviewers: wanted, githubMessage: error.githubMessage },
        "review request refused",
      );
      return { kind: "refused", reviewers: wanted, message: error.githubMessage };
    }
  }

  async merge(pr: PullRequestRef, options: MergeOptions): Promise<MergeOutcome> {
    try {
      const { data } = await this.#call(`merge pull request ${formatPr(pr)}`, () =>
        this.#octokit.rest.pulls.merge({
          owner: pr.owner,
          repo: pr.repo,
          pull_number: pr.number,
          merge_method: options.method,
          ...(options.expectedHeadSha === undefined ? {} : { sha: options.expectedHeadSha }),
        }),
      );
      this.#log.info({ pullRequest: formatPr(pr), sha: data.sha }, "pull request merged");
      return { kind: "merged", sha: data.sha };
    } catch (error) {
      if (isGitHubStatus(error, 405)) {
        this.#log.info(
          { pullRequest: formatPr(pr), githubMessage: error.githubMessage },
          "pull request not mergeable",
        );
        return { kind: "not-mergeable", message: error.githubMessage };
      }
      if (isGitHubStatus(error, 409)) {
        this.#log.info(
          { pullRequest: formatPr(pr), githubMessage: error.githubMessage },
          "pull request head moved before merge",
        );
        return { kind: "head-moved", message: error.githubMessage };
      }
      throw error;
    }
  }

  async enableAutoMerge(
    nodeId: string,
    method: MergeMethod,
    expectedHeadSha?: string,
  ): Promise<AutoMergeOutcome> {
    try {
      await this.#call(`enable auto-merge on pull request ${nodeId}`, () =>
        this.#octokit.graphql(ENABLE_PULL_REQUEST_AUTO_MERGE, {
          pullRequestId: nodeId,
          mergeMethod: method.toUpperCase(),
          expectedHeadOid: expectedHeadSha ?? null,
        }),
      );
      return { kind: "enabled" };
    } catch (error) {
      // GitHub answers a refusal (not allowed on the repository, already clean…) as a GraphQL
      // error; a missing permission is a FORBIDDEN error and stays an error.
      if (
        !(error instanceof GitHubError) ||
        error.kind !== "graphql" ||
        error.graphqlErrors.some((fact) => fact.type === "FORBIDDEN")
      ) {
        throw error;
      }
      this.#log.info({ nodeId, githubMessage: error.githubMessage }, "auto-merge refused");
      return { kind: "refused", message: error.githubMessage };
    }
  }

  async deleteBranch(repo: RepoRef, branch: string): Promise<BranchDeletion> {
    try {
      await this.#call(`delete branch ${branch} of ${formatRepo(repo)}`, () =>
        this.#octokit.rest.git.deleteRef({
          owner: repo.owner,
          repo: repo.repo,
          ref: `heads/${branch}`,
        }),
      );
      this.#log.info({ ...repo, branch }, "branch deleted");
      return "deleted";
    } catch (error) {
      const gone =
        isGitHubStatus(error, 404) ||
        (isGitHubStatus(error, 422) && says(error, /reference does not exist/i));
      if (!gone) throw error;
      this.#log.debug({ ...repo, branch }, "branch already gone");
      return "already-gone";
    }
  }

  async listOpenPullRequests(
    repo: RepoRef,
    filter: { base: string; headPrefix: string },
  ): Promise<PullRequestSummary[]> {
    const pulls = await this.#call(
      `list the open pull requests into ${filter.base} in ${formatRepo(repo)}`,
      () =>
        this.#octokit.paginate(this.#octokit.rest.pulls.list, {
          owner: repo.owner,
          repo: repo.repo,
          state: "open",
          base: filter.base,
          per_page: PER_PAGE,
        }),
    );
    const own = `${repo.owner}/${repo.repo}`.toLowerCase();
    return pulls
      .map((pr) => toSummary(repo, pr))
      .filter(
        (pr) =>
          pr.head.ref.startsWith(filter.headPrefix) && pr.head.repoFullName?.toLowerCase() === own,
      );
  }

  async wasBranchMerged(repo: RepoRef, branch: string): Promise<boolean> {
    const pulls = await this.#pullRequestsForHead(repo, branch, "all");
    return pulls.some((pr) => pr.merged);
  }

  // --- checks --------------------------------------------------------------------------------

  async createCheckRun(repo: RepoRef, run: CheckRunInput): Promise<CheckRunFacts> {
    const name = run.name ?? KANBOT_CHECK_NAME;
    const { data } = await this.#call(
      `create the ${name} check run on ${run.headSha} in ${formatRepo(repo)}`,
      () =>
        this.#octokit.rest.checks.create({
          owner: repo.owner,
          repo: repo.repo,
          name,
          head_sha: run.headSha,
          ...checkRunFields(run),
        }),
    );
    return toCheckRun(data);
  }

  async updateCheckRun(
    repo: RepoRef,
    checkRunId: number,
    update: CheckRunUpdate,
  ): Promise<CheckRunFacts> {
    const action = `update check run ${checkRunId} in ${formatRepo(repo)}`;
    const target = { owner: repo.owner, repo: repo.repo, check_run_id: checkRunId };
    const { conclusion, status, ...rest } = checkRunFields(update);
    if (status === "completed" && conclusion === undefined) {
      // GitHub refuses it (422); a caller of ours forgot the conclusion.
      throw new TypeError(`${action}: a completed check run needs a conclusion`);
    }
    // GitHub's description has two shapes: completed (a conclusion is required) or not.
    const { data } = await this.#call(action, () =>
      conclusion !== undefined
        ? this.#octokit.rest.checks.update({ ...target, ...rest, status: "completed", conclusion })
        : this.#octokit.rest.checks.update({
            ...target,
            ...rest,
            ...(status === undefined || status === "completed" ? {} : { status }),
          }),
    );
    return toCheckRun(data);
  }

  async listCheckRuns(repo: RepoRef, sha: string): Promise<CheckRunFacts[]> {
    const runs = await this.#call(`list the check runs of ${sha} in ${formatRepo(repo)}`, () =>
      this.#octokit.paginate(this.#octokit.rest.checks.listForRef, {
        owner: repo.owner,
        repo: repo.repo,
        ref: sha,
        filter: "all",
        per_page: PER_PAGE,
      }),
    );
    return runs.map(toCheckRun);
  }

  async listCheckSuites(repo: RepoRef, sha: string): Promise<CheckSuiteFacts[]> {
    const suites = await this.#call(`list the check suites of ${sha} in ${formatRepo(repo)}`, () =>
      this.#octokit.paginate(this.#octokit.rest.checks.listSuitesForRef, {
        owner: repo.owner,
        repo: repo.repo,
        ref: sha,
        per_page: PER_PAGE,
      }),
    );
    return suites.map(toCheckSuite);
  }

  async listCommitStatuses(repo: RepoRef, sha: string): Promise<CommitStatusFacts[]> {
    const statuses = await this.#call(
      `list the commit statuses of ${sha} in ${formatRepo(repo)}`,
      () =>
        this.#octokit.paginate(this.#octokit.rest.repos.listCommitStatusesForRef, {
          owner: repo.owner,
          repo: repo.repo,
          ref: sha,
          per_page: PER_PAGE,
        }),
    );
    return statuses.map(toStatus);
  }

  async branchProtectionRequiredChecks(
    repo: RepoRef,
    branch: string,
  ): Promise<RequiredCheck[] | undefined> {
    try {
      // "Get a branch" (`contents: read`) carries a summary of classic branch protection; its
      // `required_status_checks` has the same `contexts` and `checks` (with `app_id`) as the
      // protection endpoint, which would need `administration: read`.
      const { data } = await this.#call(`read branch ${branch} in ${formatRepo(repo)}`, () =>
        this.#octokit.rest.repos.getBranch({ owner: repo.owner, repo: repo.repo, branch }),
      );
      // GitHub's own "List branches" example leaves `enabled` out of a protected branch's
      // summary, so only an explicit `false` (or `protected: false`) means "not protected".
      const { protection } = data;
      const required =
        data.protected && protection.enabled !== false
          ? protection.required_status_checks
          : undefined;
      if (required === undefined || required.enforcement_level === "off") {
        this.#log.debug({ ...repo, branch }, "branch protection requires no checks");
        return [];
      }
      // `checks` names the app of each check; `contexts` is the older list of names only.
      const checks: RequiredCheck[] =
        required.checks.length > 0
          ? required.checks.map((check) => ({
              context: check.context,
              appId: check.app_id ?? undefined,
            }))
          : required.contexts.map((context) => ({ context, appId: undefined }));
      return uniqueChecks(checks);
    } catch (error) {
      // 404: no such branch (or a repository the token cannot see); 403: no `contents: read`.
      if (isGitHubStatus(error, 404) || isGitHubStatus(error, 403)) {
        this.#log.info(
          { ...repo, branch, status: error.status },
          "branch not readable; classic branch protection unknown",
        );
        return undefined;
      }
      throw error;
    }
  }

  async rulesetRequiredChecks(repo: RepoRef, branch: string): Promise<RequiredCheck[] | undefined> {
    try {
      const rules = await this.#call(
        `read the rules of branch ${branch} in ${formatRepo(repo)}`,
        () =>
          this.#octokit.paginate(this.#octokit.rest.repos.getBranchRules, {
            owner: repo.owner,
            repo: repo.repo,
            branch,
            per_page: PER_PAGE,
          }),
      );
      return uniqueChecks(requiredFromRules(rules));
    } catch (error) {
      // A GitHub Enterprise Server without rulesets has no such route.
      if (isGitHubStatus(error, 404)) {
        this.#log.debug({ ...repo, branch }, "branch rules not available; none apply");
        return [];
      }
      if (isGitHubStatus(error, 403)) {
        this.#log.info({ ...repo, branch }, "branch rules not readable; required checks unknown");
        return undefined;
      }
      throw error;
    }
  }

  async requiredChecks(repo: RepoRef, branch: string): Promise<RequiredChecks | undefined> {
    const bySource: [RequiredChecksSource, RequiredCheck[] | undefined][] = [
      ["branch-protection", await this.branchProtectionRequiredChecks(repo, branch)],
      ["rulesets", await this.rulesetRequiredChecks(repo, branch)],
    ];
    const sources = bySource.flatMap(([source, checks]) => (checks === undefined ? [] : [source]));
    if (sources.length === 0) return undefined;
    return {
      checks: uniqueChecks(bySource.flatMap(([, checks]) => checks ?? [])),
      sources,
      unreadable: bySource.flatMap(([source, checks]) => (checks === undefined ? [source] : [])),
    };
  }

  async listAnnotations(
    repo: RepoRef,
    checkRunId: number,
    options: { limit?: number } = {},
  ): Promise<CheckAnnotation[]> {
    const limit = options.limit ?? DEFAULT_ANNOTATION_LIMIT;
    if (limit <= 0) return [];
    let seen = 0;
    const annotations = await this.#call(
      `list the annotations of check run ${checkRunId} in ${formatRepo(repo)}`,
      () =>
        this.#octokit.paginate(
          this.#octokit.rest.checks.listAnnotations,
          {
            owner: repo.owner,
            repo: repo.repo,
            check_run_id: checkRunId,
            per_page: Math.min(limit, PER_PAGE),
          },
          (response, done) => {
            // Stop asking once the limit is reached: a failing lint can annotate thousands.
            if (response.data.length > 0 && seen + response.data.length >= limit) done();
            seen += response.data.length;
            return response.data;
          },
        ),
    );
    return annotations.slice(0, limit).map(toAnnotation);
  }

  async getActionsJob(repo: RepoRef, jobId: number): Promise<ActionsJobFacts | undefined> {
    try {
      const { data } = await this.#call(`read Actions job ${jobId} in ${formatRepo(repo)}`, () =>
        this.#octokit.rest.actions.getJobForWorkflowRun({
          owner: repo.owner,
          repo: repo.repo,
          job_id: jobId,
        }),
      );
      return {
        id: data.id,
        runId: data.run_id,
        runAttempt: data.run_attempt,
        name: data.name,
        status: data.status,
        conclusion: data.conclusion,
        failedSteps: (data.steps ?? [])
          .filter((step) => step.conclusion === "failure")
          .map((step) => step.name),
        htmlUrl: data.html_url,
      };
    } catch (error) {
      if (!isGitHubStatus(error, 404)) throw error;
      this.#log.debug({ ...repo, jobId }, "Actions job not found");
      return undefined;
    }
  }

  async jobLogTail(
    repo: RepoRef,
    jobId: number,
    options: { maxBytes?: number } = {},
  ): Promise<JobLogOutcome> {
    const maxBytes = options.maxBytes ?? DEFAULT_LOG_TAIL_BYTES;
    const action = `download the log of Actions job ${jobId} in ${formatRepo(repo)}`;
    try {
      // GitHub answers 302 to a short-lived download URL; fetch follows it. The body is read as
      // a stream and only its tail kept, so a huge log never sits in memory.
      const { tail, total } = await this.#call(action, async () => {
        const response = await this.#octokit.rest.actions.downloadJobLogsForWorkflowRun({
          owner: repo.owner,
          repo: repo.repo,
          job_id: jobId,
          request: { parseSuccessResponseBody: false },
        });
        const body: unknown = response.data;
        return readTail(body, maxBytes);
      });
      const truncated = total > tail.length;
      return { kind: "log", text: tailText(tail, truncated), truncated, totalBytes: total };
    } catch (error) {
      if (isGitHubStatus(error, 404) || isGitHubStatus(error, 410)) {
        this.#log.info({ ...repo, jobId, status: error.status }, "job log not available");
        return { kind: "gone" };
      }
      if (isGitHubStatus(error, 403)) {
        this.#log.warn({ ...repo, jobId }, "job log not readable; the app needs actions: read");
        return { kind: "forbidden", message: error.githubMessage };
      }
      throw error;
    }
  }

  async rerunFailedJobs(repo: RepoRef, runId: number): Promise<RerunOutcome> {
    try {
      await this.#call(
        `re-run the failed jobs of workflow run ${runId} in ${formatRepo(repo)}`,
        () =>
          this.#octokit.rest.actions.reRunWorkflowFailedJobs({
            owner: repo.owner,
            repo: repo.repo,
            run_id: runId,
          }),
      );
      this.#log.info({ ...repo, runId }, "failed jobs re-run");
      return { kind: "rerun" };
    } catch (error) {
      if (!isGitHubStatus(error, 403)) throw error;
      this.#log.warn({ ...repo, runId, githubMessage: error.githubMessage }, "re-run refused");
      return { kind: "refused", message: error.githubMessage };
    }
  }

  // --- reviews -------------------------------------------------------------------------------

  async listReviewComments(pr: PullRequestRef, reviewId: number): Promise<ReviewComment[]> {
    try {
      const comments = await this.#call(
        `list the comments of review ${reviewId} on ${formatPr(pr)}`,
        () =>
          this.#octokit.paginate(this.#octokit.rest.pulls.listCommentsForReview, {
            owner: pr.owner,
            repo: pr.repo,
            pull_number: pr.number,
            review_id: reviewId,
            per_page: PER_PAGE,
          }),
      );
      return comments.map((comment) => toReviewComment(comment));
    } catch (error) {
      if (!isGitHubStatus(error, 404)) throw error;
      this.#log.debug({ pullRequest: formatPr(pr), reviewId }, "review not found");
      return [];
    }
  }

  async listPullRequestReviewComments(pr: PullRequestRef): Promise<ReviewComment[]> {
    const comments = await this.#call(`list the review comments of ${formatPr(pr)}`, () =>
      this.#octokit.paginate(this.#octokit.rest.pulls.listReviewComments, {
        owner: pr.owner,
        repo: pr.repo,
        pull_number: pr.number,
        sort: "created",
        direction: "asc",
        per_page: PER_PAGE,
      }),
    );
    return comments.map((comment) => toReviewComment(comment));
  }

  async listReviews(pr: PullRequestRef): Promise<PullRequestReview[]> {
    const reviews = await this.#call(`list the reviews of ${formatPr(pr)}`, () =>
      this.#octokit.paginate(this.#octokit.rest.pulls.listReviews, {
        owner: pr.owner,
        repo: pr.repo,
        pull_number: pr.number,
        per_page: PER_PAGE,
      }),
    );
    return reviews.map((review) => toReview(review));
  }
}
