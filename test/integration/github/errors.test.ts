/**
 * Error translation at the edge: what Octokit throws for GitHub's failures leaves the port as a
 * GitHubError that keeps status, method, URL, request id and cause, and says what to do.
 */
import { describe, expect, it } from "vitest";
import { GitHubError } from "../../../src/github/errors.js";
import { fakeError } from "../../helpers/github-fixtures.js";
import { setupGitHubMock } from "../../helpers/github-mock.js";
import { portMocks } from "../../helpers/github-port-mocks.js";
import { portFor, repo } from "./port-setup.js";

const issue1 = { ...repo, number: 1 };

async function caught(promise: Promise<unknown>): Promise<GitHubError> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  if (!(error instanceof GitHubError)) {
    throw new Error(`expected a GitHubError, got ${String(error)}`, { cause: error });
  }
  return error;
}

describe("GitHub port: errors", () => {
  const gh = setupGitHubMock();
  const ghp = portMocks(gh);

  it("a 403 'Resource not accessible by integration' names the permission app.yml must grant", async () => {
    gh.rest("POST", "/repos/{owner}/{repo}/issues/{issue_number}/labels", {
      ...repo,
      issue_number: 1,
    }).reply(403, fakeError("Resource not accessible by integration", 403), {
      "x-github-request-id": "CAFE:BEEF:1234",
    });

    const error = await caught(portFor(gh.baseUrl).addLabels(issue1, ["agent:queued"]));

    expect(error).toMatchObject({
      name: "GitHubError",
      kind: "forbidden",
      status: 403,
      method: "POST",
      url: "https://api.github.com/repos/octo-org/widgets/issues/1/labels",
      requestId: "CAFE:BEEF:1234",
      permission: "issues: write",
      githubMessage: "Resource not accessible by integration",
      retryable: false,
    });
    expect(error.message).toBe(
      "Could not label octo-org/widgets#1: GitHub answered 403 to POST " +
        "https://api.github.com/repos/octo-org/widgets/issues/1/labels: Resource not accessible " +
        'by integration. The app needs the "issues: write" permission: grant it in app.yml ' +
        "(default_permissions) and in the app's settings, then have the owner accept the new " +
        "permissions on the installation. (GitHub request id CAFE:BEEF:1234)",
    );
    expect(error.cause).toMatchObject({ name: "HttpError", status: 403 });
  });

  it("never carries the token, in the message or the fields", async () => {
    gh.rest("GET", "/repos/{owner}/{repo}/contents/{path}", { ...repo, path: "x.md" }).replyError(
      403,
    );

    const error = await caught(portFor(gh.baseUrl).readFile(repo, "x.md"));

    expect(JSON.stringify({ ...error, message: error.message })).not.toContain("ghs_test_token");
    expect(error.permission).toBe("contents: read");
  });

  it("a spent rate limit is retryable and says when it resets", async () => {
    gh.rest("GET", "/repos/{owner}/{repo}/issues/{issue_number}", {
      ...repo,
      issue_number: 1,
    }).reply(403, fakeError("API rate limit exceeded for installation ID 1.", 403), {
      "x-ratelimit-remaining": "0",
      "x-ratelimit-reset": "1767225600",
    });

    const error = await caught(portFor(gh.baseUrl).getIssue(issue1));

    expect(error).toMatchObject({ kind: "rate-limited", retryable: true });
    expect(error.rateLimitResetAt).toBe(1767225600);
    expect(error.message).toContain("until 2026-01-01T00:00:00.000Z");
  });

  it.each([
    [401, "unauthorized", false, /check APP_ID and PRIVATE_KEY/],
    [500, "server", true, /kanbot retries later/],
    [502, "server", true, /kanbot retries later/],
  ] as const)("a %i is %s (retryable: %s)", async (status, kind, retryable, advice) => {
    gh.rest("GET", "/repos/{owner}/{repo}", repo).replyError(status);

    const error = await caught(portFor(gh.baseUrl).defaultBranch(repo));

    expect(error).toMatchObject({ status, kind, retryable });
    expect(error.message).toMatch(advice);
  });

  it("a 404 where none is expected is an error that says the app may not be installed there", async () => {
    gh.rest("GET", "/repos/{owner}/{repo}", repo).replyError(404);

    const error = await caught(portFor(gh.baseUrl).defaultBranch(repo));

    expect(error).toMatchObject({ status: 404, kind: "not-found" });
    expect(error.message).toMatch(/installed on the repository/);
  });

  it("a network failure has no status, is retryable and keeps its cause", async () => {
    gh.rest(
      "GET",
      "/repos/{owner}/{repo}/issues/{issue_number}/comments",
      {
        ...repo,
        issue_number: 1,
      },
      { query: true },
    ).replyWithError({ code: "ECONNRESET", message: "socket hang up" });

    const error = await caught(portFor(gh.baseUrl).listComments(issue1));

    expect(error).toMatchObject({ kind: "network", status: undefined, retryable: true });
    expect(error.message).toMatch(
      /^Could not list the comments of octo-org\/widgets#1: could not reach GitHub/,
    );
    expect(error.cause).toBeInstanceOf(Error);
  });

  it("a 422 from a write says what GitHub rejected", async () => {
    gh.rest("POST", "/repos/{owner}/{repo}/issues/{issue_number}/comments", {
      ...repo,
      issue_number: 1,
    }).reply(422, {
      message: "Validation Failed",
      errors: [
        {
          resource: "IssueComment",
          code: "custom",
          field: "body",
          message: "body is too long (maximum is 65536 characters)",
        },
      ],
      documentation_url: "https://docs.github.com/rest",
      status: "422",
    });

    const error = await caught(portFor(gh.baseUrl).createComment(issue1, "x"));

    expect(error.githubMessage).toBe(
      "Validation Failed (body is too long (maximum is 65536 characters))",
    );
  });

  it("expected outcomes stay return values even next to failures", async () => {
    ghp.permission(repo, "stranger", null).removeLabel(issue1, "agent:ready", { absent: true });
    const port = portFor(gh.baseUrl);

    await expect(port.permissionOf(repo, "stranger")).resolves.toBe("none");
    await expect(port.removeLabel(issue1, "agent:ready")).resolves.toBeUndefined();
  });
});
