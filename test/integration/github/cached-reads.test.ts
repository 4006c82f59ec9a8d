/**
 * Cached reads (issue 15, part 4) on the GitHub simulator: the port of `app.auth(installationId)`
 * with the process's read caches, as the runtime builds it. The simulator answers a matching
 * `If-None-Match` with `304` and counts it apart (`conditional-304`, not against the primary
 * limit), so the counts below say what went to GitHub and what was served from the cache.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { pino } from "pino";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";

import { DEFAULT_REPO_CONFIG, type RepoConfig } from "../../../src/config/repo-config.js";
import { gitHubPortForInstallation } from "../../../src/github/installations.js";
import { createGitHubReadCaches, type GitHubReadCaches } from "../../../src/github/octokit-port.js";
import type { GitHubPort } from "../../../src/github/port.js";
import { buildTaskContext } from "../../../src/inbox/task-context.js";
import { openStore, type JobStore } from "../../../src/store/index.js";
import { BoardLookup, moveCard } from "../../../src/tasks/effects/board.js";
import { loadRepoConfig } from "../../../src/tasks/repo-config.js";
import { FULL, MAINTAINER, ORG, REPO, startFixture, type Fixture } from "../simulator/fixture.js";

const repo = { owner: ORG, repo: REPO };
const CONFIG_V1 = "agents:\n  default: claude\n";
const CONFIG_V2 = "agents:\n  default: codex\n";
const silent = pino({ level: "silent" });

describe("cached reads against the simulator", () => {
  let fx: Fixture;
  let project: ReturnType<Fixture["sim"]["addProject"]>;
  let store: JobStore;
  let dir: string;
  let caches: GitHubReadCaches;

  beforeAll(async () => {
    // GitHub's limits on: only then does the simulator count a 304 apart (`conditional-304`).
    fx = await startFixture({ limits: true });
    await fx.sim.actAs(MAINTAINER).push(FULL, "main", { ".github/kanbot.yml": CONFIG_V1 });
    project = fx.sim.addProject(ORG, {
      number: 1,
      fields: { Status: ["Todo", "Ready", "In progress", "Done"] },
    });
    dir = mkdtempSync(path.join(tmpdir(), "kanbot-cached-reads-"));
    store = await openStore({ url: path.join(dir, "kanbot.sqlite") });
  });

  afterAll(async () => {
    await store?.close();
    await fx?.stop();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  beforeEach(() => {
    // A fresh process: empty caches, zero counts.
    caches = createGitHubReadCaches();
    fx.sim.limits.resetCounts();
  });

  /** The port as the runtime makes it: a new Octokit from `app.auth(id)`, the shared caches. */
  function portOf(installationId = fx.installationId): Promise<GitHubPort> {
    return gitHubPortForInstallation(fx.probot, installationId, { log: silent, caches });
  }

  function counts(installationId = fx.installationId) {
    return fx.sim.limits.of(`installation:${installationId}`);
  }

  describe("conditional REST reads", () => {
    it("serves an unchanged .github/kanbot.yml from the cache on a 304, and reads a changed one again", async () => {
      const first = await (await portOf()).readFile(repo, ".github/kanbot.yml");
      const second = await (await portOf()).readFile(repo, ".github/kanbot.yml");
      const afterUnchanged = counts();
      await fx.sim.actAs(MAINTAINER).push(FULL, "main", { ".github/kanbot.yml": CONFIG_V2 });
      fx.sim.limits.resetCounts();
      const changed = await (await portOf()).readFile(repo, ".github/kanbot.yml");
      const again = await (await portOf()).readFile(repo, ".github/kanbot.yml");
      const afterChange = counts();
      await fx.sim.actAs(MAINTAINER).push(FULL, "main", { ".github/kanbot.yml": CONFIG_V1 });

      expect(first).toBe(CONFIG_V1);
      expect(second).toBe(CONFIG_V1);
      expect(afterUnchanged["rest-read"]).toBe(1);
      expect(afterUnchanged["conditional-304"]).toBe(1);
      expect(changed).toBe(CONFIG_V2);
      expect(again).toBe(CONFIG_V2);
      expect(afterChange["rest-read"]).toBe(1);
      expect(afterChange["conditional-304"]).toBe(1);
      expect(caches.etags.stats()).toMatchObject({ hits: 2, misses: 2 });
    });

    it("answers the repository, a permission and the label list from the cache when unchanged", async () => {
      const port = await portOf();
      const branch = [await port.defaultBranch(repo), await port.defaultBranch(repo)];
      const permission = [
        await port.permissionOf(repo, MAINTAINER),
        await port.permissionOf(repo, MAINTAINER),
      ];
      const label = { name: "agent:ready", color: "0e8a16", description: "ready" };
      await port.ensureLabels(repo, [label]);
      fx.sim.limits.resetCounts();
      await port.ensureLabels(repo, [label]);
      await port.ensureLabels(repo, [label]);

      expect(branch).toEqual(["main", "main"]);
      expect(permission).toEqual(["maintain", "maintain"]);
      // The label list changed when the label was created; since then it is unchanged.
      expect(counts()["rest-read"]).toBe(1);
      expect(counts()["conditional-304"]).toBe(1);
      expect(counts()["rest-write"]).toBe(0);
    });

    it("keeps each installation's entries apart: another installation's first read goes to GitHub", async () => {
      // A second organisation with the same repository name and the same file.
      fx.sim.addOrg("octo-two");
      await fx.sim.addRepo({
        owner: "octo-two",
        name: REPO,
        files: { ".github/kanbot.yml": CONFIG_V1 },
      });
      const other = fx.sim.install("octo-two");
      const theirRepo = { owner: "octo-two", repo: REPO };

      const mine = await (await portOf()).readFile(repo, ".github/kanbot.yml");
      const theirs = await (await portOf(other)).readFile(theirRepo, ".github/kanbot.yml");
      const theirsAgain = await (await portOf(other)).readFile(theirRepo, ".github/kanbot.yml");

      expect([mine, theirs, theirsAgain]).toEqual([CONFIG_V1, CONFIG_V1, CONFIG_V1]);
      expect(counts()).toMatchObject({ "rest-read": 1, "conditional-304": 0 });
      expect(counts(other)).toMatchObject({ "rest-read": 1, "conditional-304": 1 });
      expect(caches.etags.stats().entries).toBe(2);
    });

    it("does not keep a missing file: each read asks GitHub", async () => {
      const port = await portOf();

      const reads = [
        await port.readFile(repo, "no/such/file.yml"),
        await port.readFile(repo, "no/such/file.yml"),
      ];

      expect(reads).toEqual([undefined, undefined]);
      expect(counts()).toMatchObject({ "rest-read": 2, "conditional-304": 0 });
    });
  });

  describe("the config, once per event", () => {
    it("reads .github/kanbot.yml once however many steps of one event load it; the next event's read is a 304", async () => {
      const sources = {
        store,
        now: () => new Date(),
        dryRun: false,
        host: "github.com",
        portFor: (id: number) => portOf(id),
      };
      const facts = {
        installationId: fx.installationId,
        log: silent,
        botLogin: "kanbot[bot]",
        ensuredLabels: new Set<string>(),
      };
      const event = await buildTaskContext(sources, facts);
      const issue = { ...repo, number: 1 };

      // The handler, the start and the effects of one event each load the config.
      const loaded = await Promise.all([
        loadRepoConfig(event, repo),
        loadRepoConfig(event, issue),
        loadRepoConfig(event, repo),
      ]);
      await loadRepoConfig(event, issue);
      const afterFirstEvent = counts();
      await loadRepoConfig(await buildTaskContext(sources, facts), repo);

      expect(loaded.map((result) => result.ok && result.config.agents.default)).toEqual([
        "claude",
        "claude",
        "claude",
      ]);
      expect(afterFirstEvent).toMatchObject({ "rest-read": 1, "conditional-304": 0 });
      expect(counts()).toMatchObject({ "rest-read": 1, "conditional-304": 1 });
    });
  });

  describe("boards, per installation and project", () => {
    const config: RepoConfig = {
      ...DEFAULT_REPO_CONFIG,
      board: { ...DEFAULT_REPO_CONFIG.board, project: 1 },
    };

    async function freshIssue(port: GitHubPort, title: string) {
      const number = await fx.sim.actAs(MAINTAINER).createIssue(FULL, { title });
      const issue = await port.getIssue({ ...repo, number });
      if (issue === undefined) throw new Error("issue not found");
      return issue;
    }

    async function context() {
      return buildTaskContext(
        { store, now: () => new Date(), dryRun: false, host: "github.com", portFor: portOf },
        {
          installationId: fx.installationId,
          log: silent,
          botLogin: "kanbot[bot]",
          ensuredLabels: new Set<string>(),
        },
      );
    }

    it("reuses a found board across events and installations' ports, never across installations", async () => {
      const other = fx.sim.install(ORG);

      const first = await (await portOf()).findProject(ORG, 1);
      const second = await (await portOf()).findProject(ORG, 1);
      const theirs = await (await portOf(other)).findProject(ORG, 1);

      expect(first?.cached).toBeUndefined();
      expect(second).toEqual({ ...first, cached: true });
      expect(theirs?.cached).toBeUndefined();
      expect(counts()["graphql-query"]).toBe(1);
      expect(counts(other)["graphql-query"]).toBe(1);
    });

    it("drops the board when a mutation on it fails, and reads it again next time", async () => {
      const port = await portOf();
      const issue = await freshIssue(port, "Card of a deleted column");
      const board = await port.findProject(ORG, 1);
      if (board === undefined) throw new Error("no board");
      const item = await port.addProjectItem(board, issue.nodeId);
      const status = board.fields.find((field) => field.name === "Status");
      const todo = status?.options.find((option) => option.name === "Todo");
      if (status === undefined || todo === undefined) throw new Error("no Todo column");
      // Someone deletes the Todo column on GitHub; the cached board still has it.
      const simStatus = project.fields.find((field) => field.name === "Status");
      const removed = simStatus?.options.splice(
        simStatus.options.findIndex((option) => option.name === "Todo"),
        1,
      );
      const cached = await port.findProject(ORG, 1);
      const queriesBefore = counts()["graphql-query"];

      const failed = port.setSingleSelect(board, item.id, status.id, todo.id);

      await expect(failed).rejects.toThrow(/does not belong to the field/);
      const reread = await port.findProject(ORG, 1);
      expect(cached?.cached).toBe(true);
      expect(reread?.cached).toBeUndefined();
      expect(counts()["graphql-query"]).toBe(queriesBefore + 1);
      expect(reread?.fields.find((field) => field.name === "Status")?.options).not.toContainEqual(
        todo,
      );
      simStatus?.options.unshift(...(removed ?? []));
    });

    it("asks GitHub again, once, when the cached board lacks the column to move to", async () => {
      const ctx = await context();
      const issue = await freshIssue(ctx.github, "Card for a new column");
      await ctx.github.findProject(ORG, 1);
      // A column added on GitHub after the board was cached.
      const simStatus = project.fields.find((field) => field.name === "Status");
      simStatus?.options.push({ id: "OPT_QA", name: "QA" });
      const queriesBefore = counts()["graphql-query"];

      const moved = await moveCard(ctx, new BoardLookup(), config, issue, {
        column: "QA",
        state: "review",
      });

      expect(moved).toBe(true);
      expect(fx.sim.cardColumn(FULL, issue.ref.number)).toBe("QA");
      // The cached board (no query), then the fresh one; then the item lookup.
      expect(counts()["graphql-query"]).toBe(queriesBefore + 2);
      simStatus?.options.pop();
    });
  });
});
