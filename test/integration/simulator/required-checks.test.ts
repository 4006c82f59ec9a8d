/**
 * kanbot's pull-request port reading required checks from the GitHub simulator with a plain
 * installation Octokit: classic branch protection through "Get a branch" (`contents: read`),
 * rulesets through rules/branches (`metadata: read`), a branch that does not exist, and a token
 * without `contents: read`. The simulator checks each of its answers against GitHub's OpenAPI
 * description, so this also shows the port reads the shapes GitHub documents.
 */
import { pino } from "pino";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";

import { createPullRequestPort } from "../../../src/github/octokit-pull-request-port.js";
import { FULL, ORG, REPO, startFixture, type Fixture } from "./fixture.js";

const repo = { owner: ORG, repo: REPO };

describe("simulator: required checks as kanbot reads them", () => {
  let fx: Fixture;

  beforeAll(async () => {
    fx = await startFixture();
    fx.sim.protectBranch(FULL, "main", { requiredChecks: ["test"] });
    fx.sim.protectBranch(FULL, "classic", {
      requiredChecks: ["build", "lint"],
      source: "branch-protection",
    });
    await fx.sim.actAs("maintainer").push(FULL, "classic", { "a.txt": "a\n" }, "Add a");
  });
  afterAll(async () => {
    await fx.stop();
  });
  afterEach(() => {
    expect(fx.sim.violations).toEqual([]);
  });

  async function port() {
    const token = await fx.mintToken();
    return createPullRequestPort(fx.octokit(token), { log: pino({ level: "silent" }) });
  }

  it("classic protection from Get a branch, with the app's own permissions (no administration)", async () => {
    const required = await (await port()).requiredChecks(repo, "classic");

    expect(required).toEqual({
      checks: [
        { context: "build", appId: undefined },
        { context: "lint", appId: undefined },
      ],
      sources: ["branch-protection", "rulesets"],
      unreadable: [],
    });
  });

  it("a ruleset from rules/branches; the branch's classic summary requires nothing", async () => {
    const required = await (await port()).requiredChecks(repo, "main");

    expect(required).toEqual({
      checks: [{ context: "test", appId: undefined }],
      sources: ["branch-protection", "rulesets"],
      unreadable: [],
    });
  });

  it("a branch that does not exist: classic protection unknown, no rules", async () => {
    const required = await (await port()).requiredChecks(repo, "nope");

    expect(required).toEqual({
      checks: [],
      sources: ["rulesets"],
      unreadable: ["branch-protection"],
    });
  });

  it("a token without contents: read cannot read the branch (403)", async () => {
    const token = await fx.mintToken({ permissions: { metadata: "read", checks: "read" } });
    const pulls = createPullRequestPort(fx.octokit(token), { log: pino({ level: "silent" }) });
    const refused = await fx
      .octokit(token)
      .rest.repos.getBranch({ ...repo, branch: "classic" })
      .catch((error: { status: number }) => error);

    expect(refused).toMatchObject({ status: 403 });
    expect(await pulls.branchProtectionRequiredChecks(repo, "classic")).toBeUndefined();
    expect(await pulls.rulesetRequiredChecks(repo, "main")).toEqual([
      { context: "test", appId: undefined },
    ]);
  });
});
