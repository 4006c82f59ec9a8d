/**
 * Reviews on Octokit (`ReviewsPort`): asking for a review (GitHub's 422 refusal is an outcome a
 * person must see), one review's line comments (404: none), and every review of the PR.
 */
import { isGitHubStatus } from "../errors.js";
import type {
  PullRequestRef,
  PullRequestReview,
  ReviewComment,
  ReviewRequestOutcome,
  ReviewsPort,
} from "../pull-request-port.js";
import { PER_PAGE, formatPr, type OctokitCall, type RestUser } from "./octokit-call.js";

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

export function octokitReviews(gh: OctokitCall): ReviewsPort {
  const { octokit, log } = gh;
  return {
    async requestReviewers(
      pr: PullRequestRef,
      reviewers: readonly string[],
    ): Promise<ReviewRequestOutcome> {
      const wanted = [...reviewers];
      if (wanted.length === 0) return { kind: "requested", reviewers: [] };
      try {
        await gh.call(`request a review of ${formatPr(pr)}`, () =>
          octokit.rest.pulls.requestReviewers({
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
        log.info(
          { pullRequest: formatPr(pr), reviewers: wanted, githubMessage: error.githubMessage },
          "review request refused",
        );
        return { kind: "refused", reviewers: wanted, message: error.githubMessage };
      }
    },

    async listReviewComments(pr: PullRequestRef, reviewId: number): Promise<ReviewComment[]> {
      try {
        const comments = await gh.call(
          `list the comments of review ${reviewId} on ${formatPr(pr)}`,
          () =>
            octokit.paginate(octokit.rest.pulls.listCommentsForReview, {
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
        log.debug({ pullRequest: formatPr(pr), reviewId }, "review not found");
        return [];
      }
    },

    async listReviews(pr: PullRequestRef): Promise<PullRequestReview[]> {
      const reviews = await gh.call(`list the reviews of ${formatPr(pr)}`, () =>
        octokit.paginate(octokit.rest.pulls.listReviews, {
          owner: pr.owner,
          repo: pr.repo,
          pull_number: pr.number,
          per_page: PER_PAGE,
        }),
      );
      return reviews.map((review) => toReview(review));
    },
  };
}
