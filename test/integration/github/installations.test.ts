/**
 * App-level calls: the installations, the repositories of one installation, the app's own bot
 * login, and the port for an installation minted through Probot.
 */
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { GitHubError } from "../../../src/github/errors.js";
import {
  appBotLogin,
  gitHubPortForInstallation,
  listInstallationRepositories,
  listInstallations,
} from "../../../src/github/installations.js";
import { setupGitHubMock } from "../../helpers/github-mock.js";
import { portMocks } from "../../helpers/github-port-mocks.js";
import { createTestProbot, TEST_INSTALLATION_ID } from "../../helpers/probot.js";
import { repo } from "./port-setup.js";

const log = pino({ level: "silent" });

describe("GitHub app-level calls", () => {
  const gh = setupGitHubMock();
  const ghp = portMocks(gh);

  it("lists every installation over several pages", async () => {
    const installations = Array.from({ length: 101 }, (_, i) => ({
      id: i + 1,
      account: `org-${i}`,
    }));
    ghp.installations(installations);
    const { probot } = await createTestProbot({ baseUrl: gh.baseUrl });

    const listed = await listInstallations(await probot.auth());

    expect(listed).toHaveLength(101);
    expect(listed[100]).toEqual({ id: 101, account: "org-100", suspended: false });
  });

  it("reads the app's bot login from GET /app", async () => {
    ghp.app("kanbot-test");
    const { probot } = await createTestProbot({ baseUrl: gh.baseUrl });

    const login = await appBotLogin(await probot.auth());

    expect(login).toBe("kanbot-test[bot]");
  });

  it("lists an installation's repositories over several pages, without archived ones", async () => {
    const repos = Array.from({ length: 101 }, (_, i) => ({
      owner: "octo-org",
      repo: `repo-${i}`,
      archived: i === 3,
    }));
    ghp.installationToken(TEST_INSTALLATION_ID).repositories(repos);
    const { probot } = await createTestProbot({ baseUrl: gh.baseUrl });

    const listed = await listInstallationRepositories(await probot.auth(TEST_INSTALLATION_ID));

    expect(listed).toHaveLength(100);
    expect(listed[0]).toEqual({ owner: "octo-org", repo: "repo-0" });
    expect(listed.map((entry) => entry.repo)).not.toContain("repo-3");
  });

  it("gives the port of an installation, whose first call mints the token", async () => {
    ghp.installationToken(TEST_INSTALLATION_ID).defaultBranch(repo, "main");
    const { probot } = await createTestProbot({ baseUrl: gh.baseUrl });

    const port = await gitHubPortForInstallation(probot, TEST_INSTALLATION_ID, { log });
    const branch = await port.defaultBranch(repo);

    expect(branch).toBe("main");
    expect(gh.requests.map((request) => request.method)).toEqual(["POST", "GET"]);
  });

  it("an uninstalled app's token request fails as a GitHubError", async () => {
    gh.rest("POST", "/app/installations/{installation_id}/access_tokens", {
      installation_id: 99,
    }).replyError(404);
    const { probot } = await createTestProbot({ baseUrl: gh.baseUrl });

    const port = await gitHubPortForInstallation(probot, 99, { log });
    const error = await port.defaultBranch(repo).catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(GitHubError);
    expect(error).toMatchObject({ status: 404, method: "POST" });
  });
});
