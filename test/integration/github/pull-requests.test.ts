/**
 * The pull-request port's pull request calls against the strict GitHub mock, through a real
 * Probot Octokit: what each method asks GitHub, how it reads the answer, and the expected
 * 404/405/409/422 outcomes that are return values rather than errors.
 */
import { pino, type Logger } from "pino";
import { describe, expect, it } from "vitest";
import { GitHubError } from "../../../src/github/errors.js";
import { createPullRequestPort } from "../../../src/github/octokit-pull-request-port.js";
import type { PullRequestPort } from "../../../src/github/pull-request-port.js";
import { setupGitHubMock } from "../../helpers/github-mock.js";
import { fakeSha, pullRequestMocks, pullRequestNodeId } from "../../helpers/github-pr-mocks.js";
import { TestOctokit } from "../../helpers/probot.js";
import { capturingLogger, repo } from "./port-setup.js";

/** The pull-request port on an Octokit for `baseUrl`, authenticated with a fixed token. */
function prPortFor(baseUrl: string, log: Logger = pino({ level: "silent" })): PullRequestPort {
  const octokit = new TestOctokit({ auth: { token: "ghs_test_token" }, baseUrl });
  return createPullRequestPort(octokit, { log });
}

describe("pull-request port: pull requests", () => {
  const gh = setupGitHubMock();
  const ghpr = pullRequestMocks(gh);
  const branch = "kanbot/1-dark-mode";
  const pr7 = { ...repo, number: 7 };

  describe("getPullRequest", () => {
    it("reads state, draft, head, base, mergeability, author and requested reviewers", async () => {
      ghpr.pullRequest(pr7, {
        head: branch,
        headSha: fakeSha("h1"),
        base: "develop",
        draft: false,
        mergeable: false,
        mergeableState: "dirty",
        author: "kanbot[bot]",
        requestedReviewers: ["alice"],
        requestedTeams: ["core"],
      });

      const facts = await prPortFor(gh.baseUrl).getPullRequest(pr7);

      expect(facts).toMatchObject({
        ref: pr7,
        state: "open",
        merged: false,
        draft: false,
        head: { ref: branch, sha: fakeSha("h1") },
        base: { ref: "develop" },
        mergeable: false,
        mergeableState: "dirty",
        mergeCommitSha: null,
        author: "kanbot[bot]",
        requestedReviewers: ["alice"],
        requestedTeams: ["core"],
      });
    });

    it("reads a merged PR and a mergeability GitHub is still computing", async () => {
      ghpr.pullRequest(pr7, {
        head: branch,
        merged: true,
        mergeable: null,
        mergeableState: "unknown",
      });

      const facts = await prPortFor(gh.baseUrl).getPullRequest(pr7);

      expect(facts).toMatchObject({
        state: "closed",
        merged: true,
        mergeable: null,
        mergeableState: "unknown",
        mergeCommitSha: fakeSha("merge:7"),
      });
    });

    it("answers undefined for a PR that does not exist (404)", async () => {
      ghpr.pullRequest(pr7, null);

      const facts = await prPortFor(gh.baseUrl).getPullRequest(pr7);

      expect(facts).toBeUndefined();
    });
  });

  describe("createDraftPullRequest", () => {
    const request = { head: branch, base: "main", title: "Dark mode", body: "Closes #1" };

    it("opens a draft PR", async () => {
      ghpr.createDraftPullRequest(repo, { number: 7, ...request });

      const result = await prPortFor(gh.baseUrl).createDraftPullRequest(repo, request);

      expect(result).toMatchObject({
        created: true,
        pullRequest: { ref: pr7, draft: true, title: "Dark mode", head: { ref: branch } },
      });
    });

    it("returns the PR that exists already for the head (422), asked for in the repository's own namespace, instead of failing", async () => {
      ghpr
        .pullRequestExists(repo, branch)
        .pullRequestsForBranch(
          repo,
          branch,
          [{ number: 7, draft: true, title: "Dark mode", body: "Closes #1" }],
          { state: "open" },
        );
      const { log, lines } = capturingLogger();

      const result = await prPortFor(gh.baseUrl, log).createDraftPullRequest(repo, request);

      expect(result).toEqual({
        created: false,
        pullRequest: {
          ref: pr7,
          nodeId: pullRequestNodeId(pr7),
          title: "Dark mode",
          body: "Closes #1",
          state: "open",
          merged: false,
          mergedAt: null,
          draft: true,
          head: { ref: branch, sha: fakeSha(`head:${branch}`), repoFullName: "octo-org/widgets" },
          base: { ref: "main", sha: fakeSha("base:main") },
          author: "kanbot[bot]",
          requestedReviewers: [],
          requestedTeams: [],
          htmlUrl: "https://github.com/octo-org/widgets/pull/7",
        },
      });
      expect(lines).toContainEqual(
        expect.objectContaining({ msg: "pull request exists already for branch", number: 7 }),
      );
    });

    it("opens it ready for review where the repository has no drafts (422), and says so", async () => {
      ghpr
        .draftsNotSupported(repo, branch)
        .createDraftPullRequest(repo, { number: 7, ...request }, { draft: false });
      const { log, lines } = capturingLogger();

      const result = await prPortFor(gh.baseUrl, log).createDraftPullRequest(repo, request);

      expect(result).toMatchObject({ created: true, pullRequest: { draft: false } });
      expect(lines).toContainEqual(
        expect.objectContaining({ msg: "drafts not supported; pull request opened ready" }),
      );
    });

    it("throws any other refusal, with GitHub's reason", async () => {
      gh.rest("POST", "/repos/{owner}/{repo}/pulls", { ...repo }).reply(422, {
        message: "Validation Failed",
        errors: [
          {
            resource: "PullRequest",
            code: "custom",
            message: `No commits between main and ${branch}`,
          },
        ],
        documentation_url: "https://docs.github.com/rest",
      });

      const error = await prPortFor(gh.baseUrl)
        .createDraftPullRequest(repo, request)
        .catch((caught: unknown) => caught);

      expect(error).toBeInstanceOf(GitHubError);
      expect(error).toMatchObject({ kind: "invalid", permission: "pull_requests: write" });
      expect(String(error)).toMatch(/No commits between main and kanbot\/1-dark-mode/);
    });
  });

  it("updatePullRequest sends only the fields given", async () => {
    ghpr.updatePullRequest(
      pr7,
      { body: "New summary\n\nCloses #1" },
      { head: branch, title: "Dark mode" },
    );

    const updated = await prPortFor(gh.baseUrl).updatePullRequest(pr7, {
      body: "New summary\n\nCloses #1",
    });

    expect(updated).toMatchObject({ ref: pr7, body: "New summary\n\nCloses #1" });
  });

  it("marks a draft ready for review with its node id (GraphQL)", async () => {
    ghpr.markReady(pullRequestNodeId(pr7));

    await prPortFor(gh.baseUrl).markReadyForReview(pullRequestNodeId(pr7));

    expect(gh.requests.map((request) => request.operationName)).toEqual(["MarkPullRequestReady"]);
  });

  describe("requestReviewers", () => {
    it("requests a review", async () => {
      ghpr.requestReviewers(pr7, ["alice"]);

      const outcome = await prPortFor(gh.baseUrl).requestReviewers(pr7, ["alice"]);

      expect(outcome).toEqual({ kind: "requested", reviewers: ["alice"] });
    });

    it.each([
      "Review cannot be requested from pull request author.",
      "Reviews may only be requested from collaborators. One or more of the users or teams you specified is not a collaborator of the octo-org/widgets repository.",
    ])("reports GitHub's refusal (422) rather than throwing: %s", async (message) => {
      ghpr.requestReviewers(pr7, ["alice"], { refused: message });

      const outcome = await prPortFor(gh.baseUrl).requestReviewers(pr7, ["alice"]);

      expect(outcome).toEqual({ kind: "refused", reviewers: ["alice"], message });
    });

    it("asks nothing for nobody", async () => {
      const outcome = await prPortFor(gh.baseUrl).requestReviewers(pr7, []);

      expect(outcome).toEqual({ kind: "requested", reviewers: [] });
    });
  });

  describe("merge", () => {
    it("merges with the method and the expected head", async () => {
      ghpr.merge(pr7, { method: "squash", sha: fakeSha("h1") }, { merged: fakeSha("m1") });

      const outcome = await prPortFor(gh.baseUrl).merge(pr7, {
        method: "squash",
        expectedHeadSha: fakeSha("h1"),
      });

      expect(outcome).toEqual({ kind: "merged", sha: fakeSha("m1") });
    });

    it.each([
      [405, "Pull Request is not mergeable", "not-mergeable"],
      [409, "Head branch was modified. Review and try the merge again.", "head-moved"],
    ] as const)("maps %i to an outcome", async (status, message, kind) => {
      ghpr.merge(pr7, { method: "merge" }, { status, message });

      const outcome = await prPortFor(gh.baseUrl).merge(pr7, { method: "merge" });

      expect(outcome).toEqual({ kind, message });
    });

    it("throws a 403 naming contents: write, which merging into the base needs", async () => {
      ghpr.merge(
        pr7,
        { method: "merge" },
        { status: 403, message: "Resource not accessible by integration" },
      );

      const error = await prPortFor(gh.baseUrl)
        .merge(pr7, { method: "merge" })
        .catch((caught: unknown) => caught);

      expect(error).toMatchObject({ kind: "forbidden", permission: "contents: write" });
    });
  });

  describe("deleteBranch", () => {
    it("deletes the branch ref", async () => {
      ghpr.deleteBranch(repo, branch);

      const outcome = await prPortFor(gh.baseUrl).deleteBranch(repo, branch);

      expect(outcome).toBe("deleted");
    });

    it.each([422, 404] as const)("a branch already gone (%i) is fine", async (gone) => {
      ghpr.deleteBranch(repo, branch, { gone });

      const outcome = await prPortFor(gh.baseUrl).deleteBranch(repo, branch);

      expect(outcome).toBe("already-gone");
    });

    it("throws another 422 (a protected branch)", async () => {
      gh.rest("DELETE", "/repos/{owner}/{repo}/git/refs/{ref}", {
        ...repo,
        ref: `heads/${branch}`,
      }).replyError(422, "Cannot delete this protected branch");

      const error = await prPortFor(gh.baseUrl)
        .deleteBranch(repo, branch)
        .catch((caught: unknown) => caught);

      expect(error).toMatchObject({
        kind: "invalid",
        githubMessage: "Cannot delete this protected branch",
      });
    });
  });
});
