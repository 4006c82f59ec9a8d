import { describe, expect, it } from "vitest";
import {
  GitHubError,
  isGitHubStatus,
  isGraphQLErrorOfType,
  permissionFor,
  redactUrl,
  toGitHubError,
} from "../../../src/github/errors.js";

/** What Octokit's RequestError looks like (name, status, request, response). */
function requestError(status: number, data: unknown, headers: Record<string, string> = {}) {
  return Object.assign(new Error("request failed"), {
    name: "HttpError",
    status,
    request: { method: "GET", url: "https://api.github.com/repos/o/r", headers: {} },
    response: { status, url: "https://api.github.com/repos/o/r", headers, data },
  });
}

describe("GitHubError", () => {
  it.each([
    ["GET", "https://api.github.com/repos/o/r/collaborators/alice/permission", "metadata: read"],
    ["GET", "https://api.github.com/repos/o/r/contents/.github%2Fkanbot.yml", "contents: read"],
    ["POST", "https://api.github.com/repos/o/r/labels", "issues: write"],
    ["DELETE", "https://api.github.com/repos/o/r/issues/1/labels/x", "issues: write"],
    ["GET", "https://api.github.com/repos/o/r/issues/1/sub_issues", "issues: read"],
    ["PATCH", "https://ghe.example.com/api/v3/repos/o/r/issues/comments/5", "issues: write"],
    ["POST", "https://api.github.com/repos/o/r/pulls", "pull_requests: write"],
    ["POST", "https://api.github.com/repos/o/r/check-runs", "checks: write"],
    ["GET", "https://api.github.com/repos/o/r", "metadata: read"],
    ["GET", "https://api.github.com/installation/repositories", "metadata: read"],
    ["PUT", "https://api.github.com/repos/o/r/pulls/7/merge", "contents: write"],
    ["DELETE", "https://api.github.com/repos/o/r/git/refs/heads/kanbot%2F1-x", "contents: write"],
    ["GET", "https://api.github.com/repos/o/r/actions/jobs/9/logs", "actions: read"],
    ["POST", "https://api.github.com/repos/o/r/actions/runs/9/rerun-failed-jobs", "actions: write"],
    ["GET", "https://api.github.com/repos/o/r/commits/abc/statuses", "statuses: read"],
    [
      "GET",
      "https://api.github.com/repos/o/r/branches/main/protection/required_status_checks",
      "administration: read",
    ],
    ["GET", "https://api.github.com/repos/o/r/branches/release%2F1.x", "contents: read"],
    ["GET", "https://api.github.com/repos/o/r/rules/branches/main", "metadata: read"],
    ["GET", "https://api.github.com/app", undefined],
  ])("%s %s needs %s", (method, url, permission) => {
    expect(permissionFor(method, url)).toBe(permission);
  });

  it("reads the projects permission from a GraphQL document", () => {
    const url = "https://api.github.com/graphql";

    expect(
      permissionFor(
        "POST",
        url,
        'query Q { organization(login: "o") { projectV2(number: 1) { id } } }',
      ),
    ).toBe("organization_projects: read");
    expect(
      permissionFor(
        "POST",
        url,
        "mutation M { updateProjectV2ItemFieldValue(input: {}) { clientMutationId } }",
      ),
    ).toBe("organization_projects: write");
    expect(permissionFor("POST", url, "query { viewer { login } }")).toBeUndefined();
  });

  it("redacts credentials from URLs", () => {
    expect(
      redactUrl("https://x:secret@ghe.example.com/api/v3/repos/o/r?access_token=abc&page=2"),
    ).toBe("https://ghe.example.com/api/v3/repos/o/r?access_token=[REDACTED]&page=2");
    expect(redactUrl("https://api.github.com/repos/o/r/issues?labels=agent%3Aready")).toBe(
      "https://api.github.com/repos/o/r/issues?labels=agent%3Aready",
    );
  });

  it("leaves errors that did not come from Octokit as they are", () => {
    const bug = new TypeError("x is undefined");

    expect(toGitHubError(bug, "do something")).toBe(bug);
    expect(toGitHubError("text", "do something")).toBe("text");
  });

  it("keeps GitHub's validation details in its message", () => {
    const error = toGitHubError(
      requestError(422, {
        message: "Validation Failed",
        errors: [{ resource: "Label", code: "already_exists", field: "name" }],
      }),
      "create a label",
    );

    expect(error).toBeInstanceOf(GitHubError);
    expect(error).toMatchObject({
      githubMessage: "Validation Failed (Label name already_exists)",
      kind: "invalid",
    });
    expect(isGitHubStatus(error, 422)).toBe(true);
    expect(isGitHubStatus(error, 404)).toBe(false);
  });

  it("treats a 429 as a rate limit", () => {
    const error = toGitHubError(requestError(429, { message: "Too many requests" }), "read");

    expect(error).toMatchObject({ kind: "rate-limited", retryable: true });
  });

  it("tells a GraphQL NOT_FOUND apart from other GraphQL errors", () => {
    const graphqlError = (types: string[]) =>
      toGitHubError(
        Object.assign(new Error("graphql"), {
          name: "GraphqlResponseError",
          request: { query: "query { viewer { login } }", url: "/graphql" },
          headers: { "x-github-request-id": "ID:1" },
          errors: types.map((type) => ({ type, message: `${type} happened` })),
        }),
        "read a project",
        "https://api.github.com",
      );

    expect(isGraphQLErrorOfType(graphqlError(["NOT_FOUND"]), "NOT_FOUND")).toBe(true);
    expect(isGraphQLErrorOfType(graphqlError(["NOT_FOUND", "FORBIDDEN"]), "NOT_FOUND")).toBe(false);
    expect(graphqlError(["FORBIDDEN"])).toMatchObject({
      url: "https://api.github.com/graphql",
      requestId: "ID:1",
      status: 200,
    });
  });
});
