/**
 * The pull-request port's `listReviews` (auto-merge reads every review of the PR) against the
 * strict GitHub mock, through a real Probot Octokit: the request, pagination, and how GitHub's
 * answer is read (a pending review has no `submitted_at`; a review may not name its commit).
 */
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { createPullRequestPort } from "../../../src/github/octokit-pull-request-port.js";
import { setupGitHubMock } from "../../helpers/github-mock.js";
import { FIXTURE_TIME } from "../../helpers/github-fixtures.js";
import { fakeSha, pullRequestMocks, type ReviewSpec } from "../../helpers/github-pr-mocks.js";
import { TestOctokit } from "../../helpers/probot.js";

const repo = { owner: "octo-org", repo: "widgets" };
const pr7 = { ...repo, number: 7 };

describe("pull-request port: listReviews", () => {
  const gh = setupGitHubMock();
  const ghpr = pullRequestMocks(gh);
  const port = () =>
    createPullRequestPort(
      new TestOctokit({ auth: { token: "ghs_test_token" }, baseUrl: gh.baseUrl }),
      { log: pino({ level: "silent" }) },
    );

  it("reads each review's author, state, commit and time, pending ones without a time", async () => {
    const head = fakeSha("head");
    ghpr.reviews(pr7, [
      { id: 1, author: "bob", state: "CHANGES_REQUESTED", body: "rename it", commitId: head },
      { id: 2, author: "bob", state: "APPROVED", commitId: head },
      { id: 3, author: "carol", state: "PENDING", commitId: null },
    ]);

    const reviews = await port().listReviews(pr7);

    expect(reviews).toEqual([
      expect.objectContaining({
        id: 1,
        author: "bob",
        authorType: "User",
        state: "CHANGES_REQUESTED",
        body: "rename it",
        submittedAt: FIXTURE_TIME,
        commitId: head,
      }),
      expect.objectContaining({ id: 2, state: "APPROVED", commitId: head }),
      expect.objectContaining({ id: 3, author: "carol", submittedAt: null, commitId: null }),
    ]);
    expect(reviews[1]?.htmlUrl).toMatch(/\/pull\/7#pullrequestreview-2$/);
  });

  it("follows GitHub's pages", async () => {
    const many: ReviewSpec[] = Array.from({ length: 130 }, (_, i) => ({
      id: i + 1,
      author: `reviewer${i}`,
      state: "COMMENTED",
      commitId: null,
    }));
    ghpr.reviews(pr7, many);

    const reviews = await port().listReviews(pr7);

    expect(reviews).toHaveLength(130);
    expect(reviews.at(-1)).toMatchObject({ id: 130, author: "reviewer129" });
  });

  it("a missing pull request is an error, not an empty list", async () => {
    gh.rest(
      "GET",
      "/repos/{owner}/{repo}/pulls/{pull_number}/reviews",
      {
        ...repo,
        pull_number: 8,
      },
      { query: true },
    ).replyError(404);

    await expect(port().listReviews({ ...repo, number: 8 })).rejects.toThrow(
      /reviews of octo-org\/widgets#8/,
    );
  });
});
