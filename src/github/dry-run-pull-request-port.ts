/**
 * Dry run for the pull-request port, like ./dry-run-port.ts: reads reach GitHub, every write is
 * logged and answered with a stand-in value (a PR numbered 0, a check run with id 0).
 */
import type { Logger } from "pino";
import type { CheckRunFacts, PullRequestPort, PullRequestSummary } from "./pull-request-port.js";

/** `port` with every GitHub write replaced by a log line. */
export function dryRunPullRequestPort(port: PullRequestPort, log: Logger): PullRequestPort {
  const skipped = (call: string, facts: Record<string, unknown>): void => {
    log.info({ call, ...facts }, "dry run: GitHub write skipped");
  };
  const fakePull = (
    repo: { owner: string; repo: string },
    head: string,
    base: string,
    title: string,
    body: string,
  ): PullRequestSummary => ({
    ref: { ...repo, number: 0 },
    nodeId: "dry-run-pr",
    title,
    body,
    state: "open",
    merged: false,
    mergedAt: null,
    draft: true,
    head: { ref: head, sha: "", repoFullName: `${repo.owner}/${repo.repo}` },
    base: { ref: base, sha: "" },
    author: "kanbot[dry-run]",
    requestedReviewers: [],
    requestedTeams: [],
    htmlUrl: "",
  });
  const fakeRun = (name: string, headSha: string): CheckRunFacts => ({
    id: 0,
    name,
    headSha,
    status: "completed",
    conclusion: null,
    startedAt: null,
    completedAt: null,
    detailsUrl: null,
    externalId: null,
    htmlUrl: null,
    appSlug: undefined,
    appId: undefined,
    checkSuiteId: undefined,
    output: { title: null, summary: null, text: null, annotationsCount: 0 },
    actionsJob: undefined,
  });
  return {
    getPullRequest: (pr) => port.getPullRequest(pr),
    listCheckRuns: (repo, sha) => port.listCheckRuns(repo, sha),
    listCommitStatuses: (repo, sha) => port.listCommitStatuses(repo, sha),
    branchProtectionRequiredChecks: (repo, branch) =>
      port.branchProtectionRequiredChecks(repo, branch),
    rulesetRequiredChecks: (repo, branch) => port.rulesetRequiredChecks(repo, branch),
    requiredChecks: (repo, branch) => port.requiredChecks(repo, branch),
    listAnnotations: (repo, id, options) => port.listAnnotations(repo, id, options),
    jobLogTail: (repo, jobId, options) => port.jobLogTail(repo, jobId, options),
    listReviewComments: (pr, reviewId) => port.listReviewComments(pr, reviewId),
    listReviews: (pr) => port.listReviews(pr),
    createDraftPullRequest(repo, pr) {
      skipped("createDraftPullRequest", { repo, head: pr.head, base: pr.base });
      return Promise.resolve({
        pullRequest: fakePull(repo, pr.head, pr.base, pr.title, pr.body),
        created: true,
      });
    },
    updatePullRequest(pr, changes) {
      skipped("updatePullRequest", { pr });
      return Promise.resolve(fakePull(pr, "", "", changes.title ?? "", changes.body ?? ""));
    },
    markReadyForReview(nodeId) {
      skipped("markReadyForReview", { nodeId });
      return Promise.resolve();
    },
    requestReviewers(pr, reviewers) {
      skipped("requestReviewers", { pr, reviewers });
      return Promise.resolve({ kind: "requested", reviewers: [...reviewers] });
    },
    merge(pr, options) {
      skipped("merge", { pr, method: options.method });
      return Promise.resolve({ kind: "merged", sha: "" });
    },
    deleteBranch(repo, branch) {
      skipped("deleteBranch", { repo, branch });
      return Promise.resolve("deleted");
    },
    createCheckRun(repo, run) {
      skipped("createCheckRun", { repo, headSha: run.headSha });
      return Promise.resolve(fakeRun(run.name ?? "kanbot", run.headSha));
    },
    rerunFailedJobs(repo, runId) {
      skipped("rerunFailedJobs", { repo, runId });
      return Promise.resolve({ kind: "rerun" });
    },
  };
}
