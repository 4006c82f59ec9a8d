/**
 * The pull request itself on Octokit (`PullsPort`): read it, open it as a draft (or find the one
 * that exists), edit it, mark it ready (GraphQL: REST cannot clear `draft`), merge it, delete its
 * branch. Expected outcomes are handled here: a PR that exists already, a repository without
 * drafts, a PR that cannot be merged or whose head moved, a branch already deleted.
 */
import type { RepoRef } from "../../domain/dependencies.js";
import { isGitHubStatus } from "../errors.js";
import { MARK_PULL_REQUEST_READY } from "../pull-request-graphql.js";
import type {
  BranchDeletion,
  CreatedPullRequest,
  MergeableState,
  MergeOptions,
  MergeOutcome,
  NewPullRequest,
  PullRequestChanges,
  PullRequestFacts,
  PullRequestRef,
  PullRequestSummary,
  PullsPort,
} from "../pull-request-port.js";
import {
  PER_PAGE,
  formatPr,
  formatRepo,
  oneOf,
  says,
  type OctokitCall,
  type RestUser,
} from "./octokit-call.js";

/** A pull request as GitHub's REST answers describe it, as far as the port reads it. */
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

export function octokitPulls(gh: OctokitCall): PullsPort {
  const { octokit, log } = gh;

  /** The open PRs whose head is `branch` of `repo`, newest first. */
  async function openPullRequestsForHead(
    repo: RepoRef,
    branch: string,
  ): Promise<PullRequestSummary[]> {
    const pulls = await gh.call(
      `list the pull requests of branch ${branch} in ${formatRepo(repo)}`,
      () =>
        octokit.paginate(octokit.rest.pulls.list, {
          owner: repo.owner,
          repo: repo.repo,
          head: `${repo.owner}:${branch}`,
          state: "open",
          per_page: PER_PAGE,
        }),
    );
    return pulls.map((pr) => toSummary(repo, pr));
  }

  return {
    async getPullRequest(pr: PullRequestRef): Promise<PullRequestFacts | undefined> {
      try {
        const { data } = await gh.call(`read pull request ${formatPr(pr)}`, () =>
          octokit.rest.pulls.get({ owner: pr.owner, repo: pr.repo, pull_number: pr.number }),
        );
        return toFacts(pr, data);
      } catch (error) {
        if (!isGitHubStatus(error, 404)) throw error;
        log.debug({ pullRequest: formatPr(pr) }, "pull request not found");
        return undefined;
      }
    },

    async createDraftPullRequest(repo: RepoRef, pr: NewPullRequest): Promise<CreatedPullRequest> {
      const action = `open a draft pull request from ${pr.head} into ${pr.base} in ${formatRepo(repo)}`;
      const create = (draft: boolean) =>
        gh.call(action, () =>
          octokit.rest.pulls.create({
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
        log.info({ ...repo, number: data.number, head: pr.head }, "draft pull request opened");
        return { pullRequest: toSummary(repo, data), created: true };
      } catch (error) {
        if (!isGitHubStatus(error, 422)) throw error;
        if (says(error, /draft pull requests are not supported/i)) {
          // Private repositories on some plans have no drafts: open it ready, and say so.
          log.warn({ ...repo, head: pr.head }, "drafts not supported; pull request opened ready");
          const { data } = await create(false);
          return { pullRequest: toSummary(repo, data), created: true };
        }
        if (!says(error, /a pull request already exists/i)) throw error;
        const [existing] = await openPullRequestsForHead(repo, pr.head);
        if (existing === undefined) throw error;
        log.info(
          { ...repo, number: existing.ref.number, head: pr.head },
          "pull request exists already for branch",
        );
        return { pullRequest: existing, created: false };
      }
    },

    async updatePullRequest(
      pr: PullRequestRef,
      changes: PullRequestChanges,
    ): Promise<PullRequestSummary> {
      const { data } = await gh.call(`edit pull request ${formatPr(pr)}`, () =>
        octokit.rest.pulls.update({
          owner: pr.owner,
          repo: pr.repo,
          pull_number: pr.number,
          ...(changes.title === undefined ? {} : { title: changes.title }),
          ...(changes.body === undefined ? {} : { body: changes.body }),
        }),
      );
      return toSummary(pr, data);
    },

    async markReadyForReview(nodeId: string): Promise<void> {
      await gh.call(`mark pull request ${nodeId} ready for review`, () =>
        octokit.graphql(MARK_PULL_REQUEST_READY, { pullRequestId: nodeId }),
      );
    },

    async merge(pr: PullRequestRef, options: MergeOptions): Promise<MergeOutcome> {
      try {
        const { data } = await gh.call(`merge pull request ${formatPr(pr)}`, () =>
          octokit.rest.pulls.merge({
            owner: pr.owner,
            repo: pr.repo,
            pull_number: pr.number,
            merge_method: options.method,
            ...(options.expectedHeadSha === undefined ? {} : { sha: options.expectedHeadSha }),
          }),
        );
        log.info({ pullRequest: formatPr(pr), sha: data.sha }, "pull request merged");
        return { kind: "merged", sha: data.sha };
      } catch (error) {
        if (isGitHubStatus(error, 405)) {
          log.info(
            { pullRequest: formatPr(pr), githubMessage: error.githubMessage },
            "pull request not mergeable",
          );
          return { kind: "not-mergeable", message: error.githubMessage };
        }
        if (isGitHubStatus(error, 409)) {
          log.info(
            { pullRequest: formatPr(pr), githubMessage: error.githubMessage },
            "pull request head moved before merge",
          );
          return { kind: "head-moved", message: error.githubMessage };
        }
        throw error;
      }
    },

    async deleteBranch(repo: RepoRef, branch: string): Promise<BranchDeletion> {
      try {
        await gh.call(`delete branch ${branch} of ${formatRepo(repo)}`, () =>
          octokit.rest.git.deleteRef({
            owner: repo.owner,
            repo: repo.repo,
            ref: `heads/${branch}`,
          }),
        );
        log.info({ ...repo, branch }, "branch deleted");
        return "deleted";
      } catch (error) {
        const gone =
          isGitHubStatus(error, 404) ||
          (isGitHubStatus(error, 422) && says(error, /reference does not exist/i));
        if (!gone) throw error;
        log.debug({ ...repo, branch }, "branch already gone");
        return "already-gone";
      }
    },
  };
}
