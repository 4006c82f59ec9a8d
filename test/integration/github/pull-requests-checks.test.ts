/**
 * The pull-request port's checks side against the strict GitHub mock, through a real Probot
 * Octokit: the `kanbot` check run, check runs (re-runs included) and commit statuses over
 * several pages, required checks from classic branch protection ("Get a branch") and rulesets
 * (none, missing branch, unreadable), annotations with a limit, an Actions job's log tail through
 * GitHub's redirect, re-runs, a review's comments, and the same calls on a GitHub Enterprise
 * Server base URL.
 */
import { pino, type Logger } from "pino";
import { describe, expect, it } from "vitest";
import { createPullRequestPort } from "../../../src/github/octokit-pull-request-port.js";
import type { PullRequestPort } from "../../../src/github/pull-request-port.js";
import { PULL_REQUEST_GRAPHQL_DOCUMENTS } from "../../../src/github/pull-request-graphql.js";
import {
  formatGraphQLErrors,
  graphQLOperationName,
  validateGraphQL,
} from "../../helpers/github-graphql.js";
import { GHE_API_URL, setupGitHubMock } from "../../helpers/github-mock.js";
import {
  GITHUB_ACTIONS_APP_ID,
  fakeSha,
  pullRequestMocks,
  pullRequestNodeId,
  type AnnotationSpec,
  type CheckRunSpec,
  type StatusSpec,
} from "../../helpers/github-pr-mocks.js";
import { TestOctokit } from "../../helpers/probot.js";
import { capturingLogger, repo } from "./port-setup.js";

function prPortFor(baseUrl: string, log: Logger = pino({ level: "silent" })): PullRequestPort {
  const octokit = new TestOctokit({ auth: { token: "ghs_test_token" }, baseUrl });
  return createPullRequestPort(octokit, { log });
}

const head = fakeSha("head");

describe("pull-request port: GraphQL documents", () => {
  it.each(Object.entries(PULL_REQUEST_GRAPHQL_DOCUMENTS))(
    "%s is valid against GitHub's schema",
    (name, document) => {
      expect(formatGraphQLErrors(validateGraphQL(document))).toBe("");
      expect(graphQLOperationName(document)).toBe(name);
    },
  );
});

describe("pull-request port: checks", () => {
  const gh = setupGitHubMock();
  const ghpr = pullRequestMocks(gh);

  describe("the kanbot check run", () => {
    it("creates it on the head with output, details URL and external id", async () => {
      ghpr.createCheckRun(
        repo,
        {
          name: "kanbot",
          head_sha: head,
          status: "completed",
          conclusion: "success",
          details_url: "https://kanbot.example.com/jobs/j1",
          external_id: "j1",
          output: { title: "Agent done", summary: "2 files changed", text: "log tail" },
        },
        { id: 5001 },
      );

      const run = await prPortFor(gh.baseUrl).createCheckRun(repo, {
        headSha: head,
        status: "completed",
        conclusion: "success",
        detailsUrl: "https://kanbot.example.com/jobs/j1",
        externalId: "j1",
        output: { title: "Agent done", summary: "2 files changed", text: "log tail" },
      });

      expect(run).toMatchObject({
        id: 5001,
        name: "kanbot",
        headSha: head,
        status: "completed",
        conclusion: "success",
        externalId: "j1",
        appSlug: "kanbot",
        output: { title: "Agent done", summary: "2 files changed", text: "log tail" },
        actionsJob: undefined,
      });
    });

    it("cuts an output longer than GitHub accepts, saying so", async () => {
      ghpr.createCheckRun(repo, {
        head_sha: head,
        output: {
          title: "Agent log",
          summary:
            "x".repeat(65_535 - "\n\n… (cut: GitHub keeps at most 65535 characters)".length) +
            "\n\n… (cut: GitHub keeps at most 65535 characters)",
        },
      });

      await prPortFor(gh.baseUrl).createCheckRun(repo, {
        headSha: head,
        status: "in_progress",
        output: { title: "Agent log", summary: "x".repeat(70_000) },
      });

      expect(gh.requests).toHaveLength(1);
    });
  });

  it("lists every check run on the SHA, re-runs included (filter=all), over pages", async () => {
    const many: Omit<CheckRunSpec, "headSha">[] = Array.from({ length: 101 }, (_, i) => ({
      name: `matrix (${i})`,
      conclusion: "success",
    }));
    ghpr.checkRuns(repo, head, [
      { name: "test", conclusion: "failure", actions: { runId: 900, jobId: 9002 } },
      {
        name: "test",
        conclusion: "success",
        actions: { runId: 900, jobId: 9001 },
        startedAt: "2026-01-15T11:00:00Z",
      },
      { name: "lint", app: "circleci-checks", conclusion: "neutral" },
      ...many,
    ]);

    const runs = await prPortFor(gh.baseUrl).listCheckRuns(repo, head);

    expect(runs).toHaveLength(104);
    expect(gh.requests).toHaveLength(2);
    expect(runs.slice(0, 3)).toMatchObject([
      {
        id: 9002,
        name: "test",
        conclusion: "failure",
        appSlug: "github-actions",
        appId: GITHUB_ACTIONS_APP_ID,
        actionsJob: { runId: 900, jobId: 9002 },
      },
      { id: 9001, name: "test", conclusion: "success", startedAt: "2026-01-15T11:00:00Z" },
      { name: "lint", appSlug: "circleci-checks", conclusion: "neutral", actionsJob: undefined },
    ]);
  });

  it("lists every commit status of the SHA, newest first, over pages", async () => {
    const older: StatusSpec[] = Array.from({ length: 100 }, (_, i) => ({
      context: `deploy/${i}`,
      state: "success",
    }));
    ghpr.commitStatuses(repo, head, [
      {
        context: "ci/jenkins",
        state: "failure",
        description: "2 tests failed",
        targetUrl: "https://ci.example.com/1",
      },
      ...older,
      { context: "ci/jenkins", state: "pending", createdAt: "2026-01-15T11:00:00Z" },
    ]);

    const statuses = await prPortFor(gh.baseUrl).listCommitStatuses(repo, head);

    expect(statuses).toHaveLength(102);
    expect(statuses[0]).toMatchObject({
      context: "ci/jenkins",
      state: "failure",
      description: "2 tests failed",
      targetUrl: "https://ci.example.com/1",
      creator: "ci-bot",
    });
    expect(statuses[101]).toMatchObject({ context: "ci/jenkins", state: "pending" });
  });

  describe("required checks", () => {
    it("reads classic protection's checks with their app from Get a branch", async () => {
      ghpr.branchProtection(repo, "main", [
        { context: "test", appId: GITHUB_ACTIONS_APP_ID },
        { context: "ci/jenkins" },
      ]);

      const checks = await prPortFor(gh.baseUrl).branchProtectionRequiredChecks(repo, "main");

      expect(checks).toEqual([
        { context: "test", appId: GITHUB_ACTIONS_APP_ID },
        { context: "ci/jenkins", appId: undefined },
      ]);
    });

    it("falls back to the legacy contexts list", async () => {
      ghpr.branchProtection(repo, "main", [{ context: "test" }], { contextsOnly: true });

      const checks = await prPortFor(gh.baseUrl).branchProtectionRequiredChecks(repo, "main");

      expect(checks).toEqual([{ context: "test", appId: undefined }]);
    });

    it("answers [] for an unprotected branch and for status checks not enforced", async () => {
      ghpr
        .branchProtection(repo, "main", "unprotected")
        .branchProtection(repo, "dev", [{ context: "test" }], { enforcementLevel: "off" });
      const port = prPortFor(gh.baseUrl);

      expect(await port.branchProtectionRequiredChecks(repo, "main")).toEqual([]);
      expect(await port.branchProtectionRequiredChecks(repo, "dev")).toEqual([]);
    });

    it("answers undefined for a branch that does not exist (404) or is not readable (403)", async () => {
      ghpr.branchProtection(repo, "gone", 404).branchProtection(repo, "dev", 403);
      const { log, lines } = capturingLogger();
      const port = prPortFor(gh.baseUrl, log);

      expect(await port.branchProtectionRequiredChecks(repo, "gone")).toBeUndefined();
      expect(await port.branchProtectionRequiredChecks(repo, "dev")).toBeUndefined();
      expect(lines).toContainEqual(
        expect.objectContaining({
          msg: "branch not readable; classic branch protection unknown",
          status: 404,
        }),
      );
    });

    it("reads the rulesets' required_status_checks rules", async () => {
      ghpr.branchRules(repo, "main", [
        [{ context: "test", appId: GITHUB_ACTIONS_APP_ID }],
        [{ context: "build" }],
      ]);

      const checks = await prPortFor(gh.baseUrl).rulesetRequiredChecks(repo, "main");

      expect(checks).toEqual([
        { context: "test", appId: GITHUB_ACTIONS_APP_ID },
        { context: "build", appId: undefined },
      ]);
    });

    it("combines both sources without duplicates", async () => {
      ghpr
        .branchProtection(repo, "main", [{ context: "test" }, { context: "lint" }])
        .branchRules(repo, "main", [[{ context: "test" }], [{ context: "build", appId: 7 }]]);

      const required = await prPortFor(gh.baseUrl).requiredChecks(repo, "main");

      expect(required).toEqual({
        checks: [
          { context: "test", appId: undefined },
          { context: "lint", appId: undefined },
          { context: "build", appId: 7 },
        ],
        sources: ["branch-protection", "rulesets"],
        unreadable: [],
      });
    });

    it("names the source it could not read", async () => {
      ghpr
        .branchProtection(repo, "main", 403)
        .branchRules(repo, "main", [[{ context: "test" }], [{ context: "test" }]]);

      const required = await prPortFor(gh.baseUrl).requiredChecks(repo, "main");

      expect(required).toEqual({
        checks: [{ context: "test", appId: undefined }],
        sources: ["rulesets"],
        unreadable: ["branch-protection"],
      });
    });

    it("answers undefined when neither source is readable, so the caller falls back", async () => {
      ghpr.branchProtection(repo, "main", 403).branchRules(repo, "main", 403);

      const required = await prPortFor(gh.baseUrl).requiredChecks(repo, "main");

      expect(required).toBeUndefined();
    });
  });

  describe("annotations", () => {
    const annotations: AnnotationSpec[] = Array.from({ length: 130 }, (_, i) => ({
      path: `src/file-${i}.ts`,
      line: i + 1,
      message: `problem ${i}`,
    }));

    it("reads a check run's annotations up to the limit, asking no further page", async () => {
      ghpr.annotations(repo, 9002, annotations, { perPage: 50, askedPages: 1 });

      const read = await prPortFor(gh.baseUrl).listAnnotations(repo, 9002);

      expect(read).toHaveLength(50);
      expect(read[0]).toEqual({
        path: "src/file-0.ts",
        startLine: 1,
        endLine: 1,
        level: "failure",
        title: null,
        message: "problem 0",
        rawDetails: null,
      });
    });

    it("follows pages when the limit asks for more", async () => {
      ghpr.annotations(repo, 9002, annotations);

      const read = await prPortFor(gh.baseUrl).listAnnotations(repo, 9002, { limit: 500 });

      expect(read).toHaveLength(130);
      expect(gh.requests).toHaveLength(2);
    });
  });

  describe("GitHub Actions", () => {
    it("downloads the log through GitHub's redirect, without the token, whole when short", async () => {
      ghpr.jobLog(repo, 9002, "line 1\nline 2\nError: expected 1 to be 2\n");

      const log = await prPortFor(gh.baseUrl).jobLogTail(repo, 9002);

      expect(log).toEqual({
        kind: "log",
        text: "line 1\nline 2\nError: expected 1 to be 2\n",
        truncated: false,
        totalBytes: Buffer.byteLength("line 1\nline 2\nError: expected 1 to be 2\n"),
      });
      expect(ghpr.pendingDownloads()).toEqual([]);
    });

    it("keeps only the tail of a long log, from a line boundary", async () => {
      const lines = Array.from({ length: 20_000 }, (_, i) => `2026-01-15T12:00:00Z line ${i} ✓`);
      const whole = `${lines.join("\n")}\n`;
      ghpr.jobLog(repo, 9002, whole);

      const log = await prPortFor(gh.baseUrl).jobLogTail(repo, 9002, { maxBytes: 1024 });

      expect(log.kind).toBe("log");
      if (log.kind !== "log") return;
      expect(log.truncated).toBe(true);
      expect(log.totalBytes).toBe(Buffer.byteLength(whole));
      expect(Buffer.byteLength(log.text)).toBeLessThanOrEqual(1024);
      expect(log.text).toMatch(/^2026-01-15T12:00:00Z line \d+ ✓\n/);
      expect(log.text.endsWith("line 19999 ✓\n")).toBe(true);
      expect(ghpr.pendingDownloads()).toEqual([]);
    });

    it.each([
      [404, { kind: "gone" }],
      [410, { kind: "gone" }],
      [403, { kind: "forbidden", message: "Resource not accessible by integration" }],
    ] as const)("answers %i as an outcome", async (status, outcome) => {
      ghpr.jobLog(repo, 9002, { status, message: "Resource not accessible by integration" });

      const log = await prPortFor(gh.baseUrl).jobLogTail(repo, 9002);

      expect(log).toEqual(outcome);
    });

    it("re-runs a workflow run's failed jobs", async () => {
      ghpr.rerunFailedJobs(repo, 900);

      const outcome = await prPortFor(gh.baseUrl).rerunFailedJobs(repo, 900);

      expect(outcome).toEqual({ kind: "rerun" });
    });

    it("reports a re-run GitHub refuses (403: no actions: write)", async () => {
      ghpr.rerunFailedJobs(repo, 900, { refused: "Resource not accessible by integration" });

      const outcome = await prPortFor(gh.baseUrl).rerunFailedJobs(repo, 900);

      expect(outcome).toEqual({
        kind: "refused",
        message: "Resource not accessible by integration",
      });
    });
  });

  describe("review comments", () => {
    const pr7 = { ...repo, number: 7 };

    it("lists one review's comments with path, line and text", async () => {
      ghpr.reviewComments(pr7, 321, [
        { id: 1, path: "src/a.ts", line: 10, startLine: 8, body: "Rename this" },
        { id: 2, path: "src/b.ts", line: null, body: "Outdated", inReplyTo: 1, author: "bob" },
      ]);

      const comments = await prPortFor(gh.baseUrl).listReviewComments(pr7, 321);

      expect(comments).toMatchObject([
        {
          id: 1,
          reviewId: 321,
          path: "src/a.ts",
          line: 10,
          startLine: 8,
          side: "RIGHT",
          body: "Rename this",
          author: "alice",
        },
        { id: 2, path: "src/b.ts", line: null, inReplyTo: 1, author: "bob" },
      ]);
    });

    it("answers [] for a review that does not exist (404)", async () => {
      ghpr.reviewComments(pr7, 321, null);

      const comments = await prPortFor(gh.baseUrl).listReviewComments(pr7, 321);

      expect(comments).toEqual([]);
    });
  });
});

describe("pull-request port on GitHub Enterprise Server", () => {
  const gh = setupGitHubMock({ baseUrl: GHE_API_URL });
  const ghpr = pullRequestMocks(gh);
  const pr7 = { ...repo, number: 7 };

  it("sends REST to /api/v3 and GraphQL to /api/graphql of the GHES host", async () => {
    ghpr
      .createDraftPullRequest(repo, {
        number: 7,
        head: "kanbot/1-x",
        title: "X",
        body: "Closes #1",
      })
      .markReady(pullRequestNodeId(pr7))
      .jobLog(repo, 9002, "boom\n", { downloadOrigin: "https://ghe.example.com" });
    const port = prPortFor(gh.baseUrl);

    const created = await port.createDraftPullRequest(repo, {
      head: "kanbot/1-x",
      base: "main",
      title: "X",
      body: "Closes #1",
    });
    await port.markReadyForReview(created.pullRequest.nodeId);
    const log = await port.jobLogTail(repo, 9002);

    expect(created.pullRequest.htmlUrl).toBe("https://ghe.example.com/octo-org/widgets/pull/7");
    expect(log).toMatchObject({ kind: "log", text: "boom\n" });
    expect(gh.requests.map((request) => request.url)).toEqual([
      "https://ghe.example.com/api/v3/repos/octo-org/widgets/pulls",
      "https://ghe.example.com/api/graphql",
      "https://ghe.example.com/api/v3/repos/octo-org/widgets/actions/jobs/9002/logs",
    ]);
  });
});
