import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";

import { authedGitUrl, FULL, ORG, REPO, startFixture, type Fixture } from "./fixture.js";

describe("simulator: app authentication and installation tokens", () => {
  let fx: Fixture;

  beforeAll(async () => {
    fx = await startFixture();
  });
  afterAll(async () => {
    await fx.stop();
  });
  afterEach(() => {
    expect(fx.sim.violations).toEqual([]);
  });

  it("answers the app's JWT calls and mints installation tokens through Probot", async () => {
    const app = await fx.probot.auth();

    const { data: self } = await app.request("GET /app");
    const installations = await app.paginate(app.rest.apps.listInstallations, { per_page: 100 });
    const installation = await fx.probot.auth(fx.installationId);
    const { data: repo } = await installation.rest.repos.get({ owner: ORG, repo: REPO });

    expect(self?.slug).toBe("kanbot");
    expect(
      installations.map((entry) =>
        entry.account && "login" in entry.account ? entry.account.login : "",
      ),
    ).toEqual([ORG]);
    expect(repo.default_branch).toBe("main");
  });

  it("refuses a JWT signed with another key and a token where a JWT is needed", async () => {
    const token = await fx.mintToken();
    const forged = `${Buffer.from('{"alg":"RS256"}').toString("base64url")}.${Buffer.from(JSON.stringify({ iss: 4242, iat: 1, exp: 9e9 })).toString("base64url")}.AAAA`;

    const withForged = await fetch(`${fx.sim.apiUrl}/app`, {
      headers: { authorization: `Bearer ${forged}` },
    });
    const withToken = await fetch(`${fx.sim.apiUrl}/app`, {
      headers: { authorization: `token ${token}` },
    });

    expect(withForged.status).toBe(401);
    expect(withToken.status).toBe(401);
  });

  it("limits a token to the repositories and permissions asked for", async () => {
    const token = await fx.mintToken({
      repositories: [REPO],
      permissions: { contents: "write", issues: "read" },
    });
    const octokit = fx.octokit(token);

    const own = await octokit.rest.repos.get({ owner: ORG, repo: REPO });
    const other = await octokit.rest.repos
      .get({ owner: ORG, repo: "other" })
      .catch((error: { status: number }) => error);
    const write = await octokit.rest.issues
      .create({ owner: ORG, repo: REPO, title: "not allowed" })
      .catch((error: { status: number }) => error);
    const { data: listed } = await octokit.rest.apps.listReposAccessibleToInstallation();

    expect(own.status).toBe(200);
    expect(other).toMatchObject({ status: 404 });
    expect(write).toMatchObject({ status: 403 });
    expect(listed.repositories.map((repo) => repo.name)).toEqual([REPO]);
  });

  it("refuses a token for a repository the installation does not have (422)", async () => {
    const refused = await fx
      .mintToken({ repositories: ["nope"] })
      .catch((error: { status: number }) => error);

    expect(refused).toMatchObject({ status: 422 });
  });

  it("answers 401 once a token is revoked (REST and git) or expired", async () => {
    const token = await fx.mintToken({ repositories: [REPO], permissions: { contents: "write" } });
    const work = fx.tempDir();
    await fx.git(work, "clone", "--quiet", authedGitUrl(fx.sim, FULL, token), "clone");
    const clone = `${work}/clone`;
    await fx.git(clone, "commit", "--quiet", "--allow-empty", "-m", "after revoke");

    const revoke = await fetch(`${fx.sim.apiUrl}/installation/token`, {
      method: "DELETE",
      headers: { authorization: `token ${token}` },
    });
    const rest = await fetch(`${fx.sim.apiUrl}/repos/${FULL}`, {
      headers: { authorization: `token ${token}` },
    });
    let pushError = "";
    try {
      await fx.git(clone, "push", "--quiet", "origin", "HEAD:refs/heads/after-revoke");
    } catch (error) {
      pushError = String((error as { stderr?: unknown }).stderr);
    }
    const expiring = await fx.mintToken();
    fx.sim.expireToken(expiring);
    const expired = await fetch(`${fx.sim.apiUrl}/repos/${FULL}`, {
      headers: { authorization: `token ${expiring}` },
    });

    expect(revoke.status).toBe(204);
    expect(rest.status).toBe(401);
    expect(pushError).toMatch(/401|Authentication failed|Invalid username/i);
    expect(fx.sim.gitRequests.at(-1)).toMatchObject({ service: "receive-pack", status: 401 });
    expect(expired.status).toBe(401);
  });

  it("answers 404 on git for a repository outside the token's scope", async () => {
    const token = await fx.mintToken({
      repositories: ["other"],
      permissions: { contents: "read" },
    });
    const work = fx.tempDir();

    let cloneError = "";
    try {
      await fx.git(work, "clone", "--quiet", authedGitUrl(fx.sim, FULL, token), "clone");
    } catch (error) {
      cloneError = String((error as { stderr?: unknown }).stderr);
    }

    expect(cloneError).toMatch(/not found/i);
    expect(fx.sim.gitRequests.at(-1)).toMatchObject({ repo: FULL, status: 404 });
  });
});
