import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { ApplicationFunction } from "probot";
import { afterEach, describe, expect, it } from "vitest";
import { fakeIssue, GITHUB_COM_URLS } from "../helpers/github-fixtures.js";
import { formatGraphQLErrors, validateGraphQL } from "../helpers/github-graphql.js";
import {
  createGitHubMock,
  GHE_API_URL,
  GitHubMockError,
  setupGitHubMock,
  type GitHubMock,
  type GitHubMockOptions,
} from "../helpers/github-mock.js";
import {
  checkResponseShape,
  resolveRestOperation,
  UnknownRestEndpointError,
} from "../helpers/github-openapi.js";
import { webhookExample } from "../helpers/github-webhooks.js";
import {
  createTestProbot,
  signWebhook,
  TEST_INSTALLATION_ID,
  TestOctokit,
} from "../helpers/probot.js";

const repo = { owner: "octo-org", repo: "widgets" };

const ISSUE_TITLE_QUERY = `
  query IssueTitle($owner: String!, $name: String!, $number: Int!) {
    repository(owner: $owner, name: $name) {
      issue(number: $number) { title }
    }
  }
`;

function octokit(baseUrl = "https://api.github.com") {
  return new TestOctokit({ auth: { token: "ghs_test" }, baseUrl });
}

/**
 * Runs `body` against a mock driven by hand (the way setupGitHubMock's hooks drive it) and
 * returns what `verify()` threw, if anything.
 */
async function runAgainstMock(
  body: (gh: GitHubMock) => Promise<void>,
  options: GitHubMockOptions = {},
): Promise<GitHubMockError | undefined> {
  const gh = createGitHubMock(options);
  gh.start();
  try {
    await body(gh);
    gh.verify();
    return undefined;
  } catch (error) {
    if (error instanceof GitHubMockError) {
      return error;
    }
    throw error;
  } finally {
    gh.stop();
  }
}

/** Like code under test that logs and carries on: the failure must still reach the test. */
async function swallow(request: Promise<unknown>): Promise<void> {
  await request.catch(() => undefined);
}

describe("the strict GitHub mock rejects", () => {
  it("a request without a mock, even when the code swallowed the error", async () => {
    const error = await runAgainstMock(async () => {
      await swallow(octokit().rest.issues.get({ ...repo, issue_number: 7 }));
    });

    expect(error?.missing).toEqual([
      {
        method: "GET",
        url: "https://api.github.com/repos/octo-org/widgets/issues/7",
        operationName: undefined,
      },
    ]);
    expect(error?.message).toContain("Requests without a mock");
  });

  it("a request that matches no mock of a host that has mocks", async () => {
    const error = await runAgainstMock(async (gh) => {
      gh.getIssue(repo, 1);

      await octokit().rest.issues.get({ ...repo, issue_number: 1 });
      await swallow(octokit().rest.issues.get({ ...repo, issue_number: 2 }));
    });

    expect(error?.missing.map((request) => request.url)).toEqual([
      "https://api.github.com/repos/octo-org/widgets/issues/2",
    ]);
    expect(error?.message).toMatch(
      /Requests answered:\n {2}- GET https:\/\/api.github.com\/repos\/octo-org\/widgets\/issues\/1/,
    );
  });

  it("any request off the machine, not only GitHub's", async () => {
    const error = await runAgainstMock(async () => {
      await swallow(fetch("https://example.com/"));
    });

    expect(error?.missing).toEqual([
      { method: "GET", url: "https://example.com/", operationName: undefined },
    ]);
  });

  it("a mock left unused", async () => {
    const error = await runAgainstMock(async (gh) => {
      gh.collaboratorPermission(repo, "mona", "write");
    });

    expect(error?.unused).toEqual([
      "GET https://api.github.com:443/repos/octo-org/widgets/collaborators/mona/permission",
    ]);
    expect(error?.message).toContain("Mocks never requested");
  });

  it("a mock declared without a reply", async () => {
    const error = await runAgainstMock(async (gh) => {
      gh.rest("GET", "/repos/{owner}/{repo}/issues/{issue_number}", { ...repo, issue_number: 1 });
    });

    expect(error?.unanswered).toEqual([
      "GET https://api.github.com/repos/octo-org/widgets/issues/1 (issues/get) [mock #1]",
    ]);
  });

  it("a mock expected twice but requested once", async () => {
    const error = await runAgainstMock(async (gh) => {
      gh.rest("GET", "/repos/octo-org/widgets/issues/1")
        .times(2)
        .reply(200, fakeIssue(repo, { number: 1 }));

      await octokit().rest.issues.get({ ...repo, issue_number: 1 });
    });

    expect(error?.unused).toHaveLength(1);
  });

  it.each([
    [
      "a path GitHub does not have",
      "GET",
      "/repos/octo-org/widgets/isues/1",
      /did you mean \/repos\/\{owner\}\/\{repo\}\/issues\/\{issue_number\}\?/,
    ],
    [
      "a method GitHub does not have for the path",
      "PATCH",
      "/repos/octo-org/widgets/issues/1/labels",
      /only for GET, POST, PUT, DELETE/,
    ],
    ["an unknown top-level path", "GET", "/kanbot", /has no GET \/kanbot/],
  ] as const)("a REST mock for %s, at once", (_case, method, path, hint) => {
    const gh = createGitHubMock();

    const declare = () => gh.rest(method, path);

    expect(declare).toThrow(UnknownRestEndpointError);
    expect(declare).toThrow(hint);
  });

  it("a REST template whose parameters are missing", () => {
    const gh = createGitHubMock();

    // @ts-expect-error -- the template names issue_number, which is missing
    const declare = () => gh.rest("GET", "/repos/{owner}/{repo}/issues/{issue_number}", repo);

    expect(declare).toThrow(/needs the parameter "issue_number"/);
  });

  it("GraphQL as a REST path", () => {
    const gh = createGitHubMock();

    expect(() => gh.rest("POST", "/graphql")).toThrow(
      /use gh.graphql\(\)|declare GraphQL requests with gh.graphql\(\)/,
    );
  });

  it("an invalid GraphQL document, answering it with errors as GitHub does", async () => {
    let answer: unknown;
    const error = await runAgainstMock(async (gh) => {
      gh.graphql().reply(200, { data: {} });

      answer = await octokit()
        .graphql(`query { repository(owner: "o", name: "r") { issue(number: 1) { titel } } }`)
        .catch((caught: unknown) => caught);
    });

    expect(error?.invalidGraphQL.map((invalid) => invalid.errors)).toEqual([
      expect.stringMatching(
        /^1:\d+ Cannot query field "titel" on type "Issue". Did you mean "title"/,
      ),
    ]);
    expect(error?.message).toContain("GraphQL documents GitHub's schema rejects");
    expect(String(answer)).toContain('Cannot query field "titel"');
  });

  it("GraphQL variables of the wrong type, or missing", async () => {
    const error = await runAgainstMock(async (gh) => {
      gh.graphql({ operationName: "IssueTitle" }).times(2).reply(200, { data: {} });

      await swallow(
        octokit().graphql(ISSUE_TITLE_QUERY, { owner: "o", name: "r", number: "seven" }),
      );
      await swallow(octokit().graphql(ISSUE_TITLE_QUERY, { owner: "o", name: "r" }));
    });

    expect(error?.invalidGraphQL.map((invalid) => invalid.errors)).toEqual([
      expect.stringContaining(
        'Variable "$number" got invalid value "seven"; Int cannot represent non-integer value',
      ),
      expect.stringContaining('Variable "$number" of required type "Int!" was not provided.'),
    ]);
  });

  it("an invalid GraphQL document that has no mock either", async () => {
    const error = await runAgainstMock(async (gh) => {
      gh.graphql({ operationName: "Other" }).reply(200, { data: {} });

      await swallow(octokit().graphql(`query Broken { viewer { nope } }`));
      await octokit().graphql(`query Other { viewer { login } }`);
    });

    expect(error?.missing).toEqual([
      { method: "POST", url: "https://api.github.com/graphql", operationName: "Broken" },
    ]);
    expect(error?.invalidGraphQL.map((invalid) => invalid.errors)).toEqual([
      expect.stringContaining('Cannot query field "nope" on type "User"'),
    ]);
  });

  it("a GraphQL mock whose own document is invalid, at once", () => {
    const gh = createGitHubMock();

    expect(() => gh.graphql({ document: "query { viewer { nope } }" })).toThrow(
      /Cannot query field "nope"/,
    );
  });

  it("loopback requests unless allowed", async () => {
    const server = await listen();
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/ping`;
    try {
      const blocked = await runAgainstMock(async () => {
        await swallow(fetch(url));
      });
      let status = 0;
      const allowed = await runAgainstMock(
        async () => {
          status = (await fetch(url)).status;
        },
        { allowLoopback: true },
      );

      expect(blocked?.missing.map((request) => request.url)).toEqual([url]);
      expect(allowed).toBeUndefined();
      expect(status).toBe(204);
    } finally {
      server.close();
    }
  });
});

function listen(): Promise<Server> {
  const server = createServer((_request, response) => {
    response.statusCode = 204;
    response.end();
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}

describe("the strict GitHub mock accepts", () => {
  it("REST mocks by template, by concrete path and with a query, each used once", async () => {
    const error = await runAgainstMock(async (gh) => {
      gh.rest("GET", "/repos/{owner}/{repo}/issues/{issue_number}", {
        ...repo,
        issue_number: 3,
      }).reply(200, fakeIssue(repo, { number: 3, title: "Add a dark mode" }));
      gh.rest(
        "GET",
        "/repos/octo-org/widgets/pulls",
        {},
        { query: { state: "open", per_page: "100" } },
      ).reply(200, []);
      gh.rest("GET", "/repos/octo-org/widgets/branches/feature%2Fdark-mode").replyError(404);

      const issue = await octokit().rest.issues.get({ ...repo, issue_number: 3 });
      const pulls = await octokit().rest.pulls.list({ ...repo, state: "open", per_page: 100 });
      const branch = await octokit()
        .rest.repos.getBranch({ ...repo, branch: "feature/dark-mode" })
        .catch((caught: { status: number }) => caught);

      expect(issue.data.title).toBe("Add a dark mode");
      expect(pulls.data).toEqual([]);
      expect(branch.status).toBe(404);
    });

    expect(error).toBeUndefined();
  });

  it("valid GraphQL documents with their variables, matched by operation name and variables", async () => {
    const error = await runAgainstMock(async (gh) => {
      gh.graphql({
        operationName: "IssueTitle",
        variables: { owner: "o", name: "r", number: 2 },
      }).reply(200, {
        data: { repository: { issue: { title: "second" } } },
      });
      gh.graphql({ document: ISSUE_TITLE_QUERY }).reply(200, {
        data: { repository: { issue: { title: "first" } } },
      });

      const first = await octokit().graphql<{ repository: { issue: { title: string } } }>(
        ISSUE_TITLE_QUERY,
        {
          owner: "o",
          name: "r",
          number: 1,
        },
      );
      const second = await octokit().graphql<{ repository: { issue: { title: string } } }>(
        ISSUE_TITLE_QUERY,
        {
          owner: "o",
          name: "r",
          number: 2,
        },
      );

      expect([first.repository.issue.title, second.repository.issue.title]).toEqual([
        "first",
        "second",
      ]);
    });

    expect(error).toBeUndefined();
  });

  it("named helpers for recurring calls, with bodies shaped like GitHub's", async () => {
    const config = "agents:\n  default: claude\n";
    const error = await runAgainstMock(async (gh) => {
      gh.installationToken(42, { token: "ghs_named" })
        .collaboratorPermission(repo, "mona", "maintain")
        .repoConfig(repo, config)
        .repoConfig({ owner: "octo-org", repo: "empty" }, null)
        .createLabel(repo, { name: "agent:queued", color: "fbca04" })
        .addLabels(repo, 5, ["agent:queued"], { existing: ["bug"] })
        .removeLabel(repo, 5, "agent:ready", { remaining: ["bug", "agent:queued"] })
        .removeLabel(repo, 5, "agent:gone", { absent: true })
        .listComments(repo, 5, [{ id: 9, body: "hello", author: "mona" }])
        .createComment(repo, 5, { body: /^<!-- kanbot -->/, id: 77 })
        .updateComment(repo, 77, { body: "<!-- kanbot --> running", issueNumber: 5 });
      const api = octokit();

      const token = await api.request("POST /app/installations/{installation_id}/access_tokens", {
        installation_id: 42,
      });
      const permission = await api.rest.repos.getCollaboratorPermissionLevel({
        ...repo,
        username: "mona",
      });
      const file = await api.rest.repos.getContent({ ...repo, path: ".github/kanbot.yml" });
      const missing = await api.rest.repos
        .getContent({ owner: "octo-org", repo: "empty", path: ".github/kanbot.yml" })
        .catch((caught: { status: number }) => caught);
      await api.rest.issues.createLabel({ ...repo, name: "agent:queued", color: "fbca04" });
      const added = await api.rest.issues.addLabels({
        ...repo,
        issue_number: 5,
        labels: ["agent:queued"],
      });
      const removed = await api.rest.issues.removeLabel({
        ...repo,
        issue_number: 5,
        name: "agent:ready",
      });
      const absent = await api.rest.issues
        .removeLabel({ ...repo, issue_number: 5, name: "agent:gone" })
        .catch((caught: { status: number }) => caught);
      const comments = await api.paginate(api.rest.issues.listComments, {
        ...repo,
        issue_number: 5,
        per_page: 100,
      });
      const created = await api.rest.issues.createComment({
        ...repo,
        issue_number: 5,
        body: "<!-- kanbot --> queued",
      });
      const updated = await api.rest.issues.updateComment({
        ...repo,
        comment_id: 77,
        body: "<!-- kanbot --> running",
      });

      expect(token.data.token).toBe("ghs_named");
      expect(permission.data).toMatchObject({ permission: "write", role_name: "maintain" });
      expect(
        "content" in file.data && Buffer.from(file.data.content, "base64").toString("utf8"),
      ).toBe(config);
      expect(missing.status).toBe(404);
      expect(added.data.map((label) => label.name)).toEqual(["bug", "agent:queued"]);
      expect(removed.data.map((label) => label.name)).toEqual(["bug", "agent:queued"]);
      expect(absent.status).toBe(404);
      expect(comments.map((comment) => [comment.id, comment.body, comment.user?.login])).toEqual([
        [9, "hello", "mona"],
      ]);
      expect(created.data).toMatchObject({ id: 77, body: "<!-- kanbot --> queued" });
      expect(updated.data).toMatchObject({ id: 77, body: "<!-- kanbot --> running" });
    });

    expect(error).toBeUndefined();
  });

  it("a GitHub Enterprise Server base, REST under /api/v3 and GraphQL at /api/graphql", async () => {
    const error = await runAgainstMock(
      async (gh) => {
        gh.getIssue(repo, 1)
          .graphql({ operationName: "IssueTitle" })
          .reply(200, { data: { repository: null } });

        const issue = await octokit(GHE_API_URL).rest.issues.get({ ...repo, issue_number: 1 });
        await octokit(GHE_API_URL).graphql(ISSUE_TITLE_QUERY, { owner: "o", name: "r", number: 1 });

        expect(gh.openapi).toMatch(/^ghes-\d+\.\d+$/);
        expect(gh.graphqlUrl).toBe("https://ghe.example.com/api/graphql");
        expect(issue.data.html_url).toBe("https://ghe.example.com/octo-org/widgets/issues/1");
      },
      { baseUrl: GHE_API_URL },
    );

    expect(error).toBeUndefined();
  });
});

describe("the oracles behind the mock", () => {
  it("validateGraphQL returns no errors for a valid document and GitHub's errors for an invalid one", () => {
    expect(
      validateGraphQL(ISSUE_TITLE_QUERY, { variables: { owner: "o", name: "r", number: 1 } }),
    ).toEqual([]);
    expect(formatGraphQLErrors(validateGraphQL("query { viewer { login"))).toMatch(/Syntax Error/);
    expect(
      formatGraphQLErrors(
        validateGraphQL(ISSUE_TITLE_QUERY, {
          variables: { owner: "o", name: "r", number: 1, extra: 1 },
        }),
      ),
    ).toMatch(/"\$extra" is sent but the operation does not declare it/);
  });

  it("resolves concrete paths to the most specific template, multi-segment file paths included", () => {
    expect(resolveRestOperation("GET", "/repos/o/r/issues/comments").operationId).toBe(
      "issues/list-comments-for-repo",
    );
    expect(resolveRestOperation("GET", "/repos/o/r/contents/docs/a b.md").params).toMatchObject({
      path: "docs/a b.md",
    });
  });

  it("checks bodies against GitHub's response schemas", () => {
    const operation = resolveRestOperation("GET", "/repos/o/r/issues/1");

    expect(
      checkResponseShape(operation, 200, fakeIssue(repo, { number: 1 }, GITHUB_COM_URLS)),
    ).toEqual([]);
    expect(
      checkResponseShape(operation, 200, {
        ...fakeIssue(repo, { number: 1 }),
        number: "1",
        user: undefined,
      }),
    ).toEqual(expect.arrayContaining(["$.number: expected integer, got string"]));
  });
});

describe("a Probot app through setupGitHubMock", () => {
  const gh = setupGitHubMock();

  const app: ApplicationFunction = (probot) => {
    probot.on("issues.labeled", async (context) => {
      const { data } = await context.octokit.rest.repos.getCollaboratorPermissionLevel(
        context.repo({ username: context.payload.sender.login }),
      );
      if (
        data.role_name !== "write" &&
        data.role_name !== "admin" &&
        data.role_name !== "maintain"
      ) {
        return;
      }
      const { owner, repo: name } = context.repo();
      await context.octokit.graphql(ISSUE_TITLE_QUERY, {
        owner,
        name,
        number: context.payload.issue.number,
      });
      await context.octokit.rest.issues.createComment(
        context.issue({ body: "<!-- kanbot --> queued" }),
      );
    });
  };

  it("authenticates as the installation and makes REST and GraphQL calls", async () => {
    const payload = webhookExample("issues", "labeled");
    const target = { owner: payload.repository.owner.login, repo: payload.repository.name };
    gh.installationToken(TEST_INSTALLATION_ID, { token: "ghs_installation" })
      .collaboratorPermission(target, payload.sender.login, "write")
      .graphql({ operationName: "IssueTitle" })
      .reply(200, { data: { repository: { issue: { title: "t" } } } })
      .createComment(target, payload.issue.number, { body: "<!-- kanbot --> queued" });
    const { receive } = await createTestProbot({ app, baseUrl: gh.baseUrl });

    await receive("issues", payload);

    expect(
      gh.requests.map((request) => `${request.method} ${new URL(request.url).pathname}`),
    ).toEqual([
      "POST /app/installations/1/access_tokens",
      `GET /repos/${target.owner}/${target.repo}/collaborators/${payload.sender.login}/permission`,
      "POST /graphql",
      `POST /repos/${target.owner}/${target.repo}/issues/${payload.issue.number}/comments`,
    ]);
  });

  it("sends the installation token, not the app's JWT, on installation requests", async () => {
    const payload = webhookExample("issues", "labeled");
    const target = { owner: payload.repository.owner.login, repo: payload.repository.name };
    gh.installationToken(TEST_INSTALLATION_ID, { token: "ghs_checked" });
    gh.rest(
      "GET",
      "/repos/{owner}/{repo}/collaborators/{username}/permission",
      { ...target, username: payload.sender.login },
      { headers: { authorization: "token ghs_checked" } },
    ).reply(200, { permission: "read", role_name: "read", user: null });
    const { receive } = await createTestProbot({ app, baseUrl: gh.baseUrl });

    await receive("issues", payload);
  });

  it.each([
    ["the repository's file", "agents:\n  default: codex\n", { agents: { default: "codex" } }],
    ["no file (Probot then looks in the owner's .github repository)", null, null],
  ])(
    "serves .github/kanbot.yml to Probot's context.config(): %s",
    async (_case, yaml, expected) => {
      const payload = webhookExample("issues", "labeled");
      const target = { owner: payload.repository.owner.login, repo: payload.repository.name };
      gh.installationToken().repoConfig(target, yaml);
      if (yaml === null) {
        gh.repoConfig({ owner: target.owner, repo: ".github" }, null);
      }
      let config: unknown;
      const readConfig: ApplicationFunction = (probot) => {
        probot.on("issues.labeled", async (context) => {
          config = await context.config("kanbot.yml");
        });
      };
      const { receive } = await createTestProbot({ app: readConfig, baseUrl: gh.baseUrl });

      await receive("issues", payload);

      expect(config).toEqual(expected);
    },
  );

  it("gives the app an Octokit that neither retries nor throttles", async () => {
    const reset = String(Math.floor(Date.now() / 1000) + 1);
    gh.installationToken()
      .rest("GET", "/repos/octo-org/widgets/issues/1")
      .replyError(500)
      .rest("GET", "/repos/octo-org/widgets/issues/2")
      .reply(
        403,
        { message: "API rate limit exceeded" },
        { "x-ratelimit-remaining": "0", "x-ratelimit-reset": reset },
      );
    const { probot } = await createTestProbot({ baseUrl: gh.baseUrl });
    const api = await probot.auth(TEST_INSTALLATION_ID);

    const failed = await api.rest.issues
      .get({ ...repo, issue_number: 1 })
      .catch((caught: { status: number }) => caught);
    const limited = await api.rest.issues
      .get({ ...repo, issue_number: 2 })
      .catch((caught: { status: number }) => caught);

    expect([failed.status, limited.status]).toEqual([500, 403]);
  });

  it("checks webhook signatures when asked to", async () => {
    const payload = webhookExample("issues", "labeled");
    const { receiveSigned } = await createTestProbot({ app, baseUrl: gh.baseUrl });

    const forged = receiveSigned("issues", payload, {
      signature: signWebhook("{}", "wrong-secret"),
    });

    await expect(forged).rejects.toThrow(/signature does not match/);
  });
});

describe("a Probot app on GitHub Enterprise Server", () => {
  const gh = setupGitHubMock({ baseUrl: GHE_API_URL });

  afterEach(() => {
    expect(
      gh.requests.every((request) => request.url.startsWith("https://ghe.example.com/api/")),
    ).toBe(true);
  });

  it("reaches REST under /api/v3 and GraphQL at /api/graphql", async () => {
    const payload = webhookExample("issues", "labeled");
    const target = { owner: payload.repository.owner.login, repo: payload.repository.name };
    gh.installationToken()
      .graphql({ operationName: "IssueTitle" })
      .reply(200, { data: { repository: { issue: { title: "t" } } } })
      .createComment(target, payload.issue.number);
    const app: ApplicationFunction = (probot) => {
      probot.on("issues.labeled", async (context) => {
        await context.octokit.graphql(ISSUE_TITLE_QUERY, { owner: "o", name: "r", number: 1 });
        await context.octokit.rest.issues.createComment(context.issue({ body: "hello" }));
      });
    };
    const { receive } = await createTestProbot({ app, baseUrl: gh.baseUrl });

    await receive("issues", payload);

    expect(gh.requests).toHaveLength(3);
  });
});
