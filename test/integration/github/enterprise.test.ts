/**
 * GitHub Enterprise Server: with Probot's base URL at `https://<host>/api/v3`, the port's REST
 * calls go to `/api/v3/…` and its GraphQL calls to `/api/graphql`, with the installation token
 * Probot mints from the same host. The mock checks REST calls against the newest GHES
 * description, so an endpoint GHES lacks fails here.
 */
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { gitHubPortForInstallation, listInstallations } from "../../../src/github/installations.js";
import { GHE_API_URL, setupGitHubMock } from "../../helpers/github-mock.js";
import { fakeBoard, issueNodeId, portMocks } from "../../helpers/github-port-mocks.js";
import { createTestProbot, TEST_INSTALLATION_ID } from "../../helpers/probot.js";
import { repo } from "./port-setup.js";

const log = pino({ level: "silent" });

describe("GitHub port on GitHub Enterprise Server", () => {
  const gh = setupGitHubMock({ baseUrl: GHE_API_URL });
  const ghp = portMocks(gh);

  it("sends REST to /api/v3 and GraphQL to /api/graphql, authenticated as the installation", async () => {
    const issue1 = { ...repo, number: 1 };
    const board = fakeBoard({ owner: "octo-org", number: 3 });
    ghp
      .installationToken(TEST_INSTALLATION_ID)
      .permission(repo, "alice", "write")
      .issue(issue1, { title: "On GHES" })
      .blockedBy(issue1, [{ ref: { ...repo, number: 2 }, state: "open" }])
      .project(board)
      .projectItem(board, issueNodeId(issue1), { id: "PVTI_1", values: { Status: "Ready" } });
    const { probot } = await createTestProbot({ baseUrl: gh.baseUrl });

    const port = await gitHubPortForInstallation(probot, TEST_INSTALLATION_ID, { log });
    const permission = await port.permissionOf(repo, "alice");
    const facts = await port.getIssue(issue1);
    const blockers = await port.listBlockedBy(issue1);
    const found = await port.findProject("octo-org", 3);
    const item = found && (await port.findProjectItem(found, issueNodeId(issue1)));

    expect(permission).toBe("write");
    expect(facts?.htmlUrl).toBe("https://ghe.example.com/octo-org/widgets/issues/1");
    expect(blockers).toEqual([{ ref: { ...repo, number: 2 }, state: "open" }]);
    expect(item).toEqual({ id: "PVTI_1", values: { Status: "Ready" } });
    expect(gh.requests.map((request) => request.url.replace(/\?.*$/, ""))).toEqual([
      "https://ghe.example.com/api/v3/app/installations/1/access_tokens",
      "https://ghe.example.com/api/v3/repos/octo-org/widgets/collaborators/alice/permission",
      "https://ghe.example.com/api/v3/repos/octo-org/widgets/issues/1",
      "https://ghe.example.com/api/v3/repos/octo-org/widgets/issues/1/dependencies/blocked_by",
      "https://ghe.example.com/api/graphql",
      "https://ghe.example.com/api/graphql",
    ]);
  });

  it("lists the app's installations on the GHES host", async () => {
    ghp.installations([
      { id: 1, account: "octo-org" },
      { id: 2, account: "other-org" },
    ]);
    const { probot } = await createTestProbot({ baseUrl: gh.baseUrl });

    const installations = await listInstallations(await probot.auth());

    expect(installations).toEqual([
      { id: 1, account: "octo-org", suspended: false },
      { id: 2, account: "other-org", suspended: false },
    ]);
    expect(gh.requests[0]?.url).toBe(
      "https://ghe.example.com/api/v3/app/installations?per_page=100",
    );
  });

  it("reports a GraphQL failure with the GHES GraphQL URL", async () => {
    ghp.installationToken(TEST_INSTALLATION_ID);
    gh.graphql({ operationName: "ResolveProjectItem" }).reply(200, {
      data: { node: null },
      errors: [{ type: "FORBIDDEN", message: "Resource not accessible by integration" }],
    });
    const { probot } = await createTestProbot({ baseUrl: gh.baseUrl });
    const port = await gitHubPortForInstallation(probot, TEST_INSTALLATION_ID, { log });

    const error = await port.resolveProjectItem("PVTI_x").catch((caught: unknown) => caught);

    expect(error).toMatchObject({
      kind: "graphql",
      url: "https://ghe.example.com/api/graphql",
      permission: "organization_projects: read",
    });
  });
});
