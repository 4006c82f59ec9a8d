/**
 * What one state change of a task's issue view costs in content-generating requests, measured
 * with kanbot's own effect (`showIssueView`) and port against the simulator with GitHub's limits
 * on: by REST (a label out, a label in, the card, the comment: four requests) and coalesced (one
 * `WriteIssueView` GraphQL request). A person's label added between two view writes survives.
 * The state labels exist already (the steady state): a label's first use in a repository costs one
 * more request (its creation, REST), either way.
 */
import { pino } from "pino";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";

import { RepoConfig } from "../../../src/config/repo-config.js";
import { stateLabelDefinition } from "../../../src/domain/labels.js";
import { createGitHubPort } from "../../../src/github/octokit-port.js";
import { openStore } from "../../../src/store/open-store.js";
import type { JobStore, Task } from "../../../src/store/index.js";
import type { TaskContext } from "../../../src/tasks/context.js";
import { labelNamesOf } from "../../../src/tasks/repo-config.js";
import { BoardLookup } from "../../../src/tasks/effects/board.js";
import { showIssueView } from "../../../src/tasks/effects/issue-view.js";
import type { PullRequestPort } from "../../../src/github/pull-request-port.js";
import { FULL, MAINTAINER, ORG, REPO, startFixture, type Fixture } from "./fixture.js";

const repo = { owner: ORG, repo: REPO };
const config = RepoConfig.parse({ board: { project: 5 } });

describe("kanbot's issue view against the simulator: writes per state change", () => {
  let fx: Fixture;
  let store: JobStore;
  let ctx: TaskContext;
  let client: string;

  beforeAll(async () => {
    fx = await startFixture({ limits: true });
    const token = await fx.mintToken();
    const log = pino({ level: "silent" });
    store = await openStore({ url: ":memory:", log });
    ctx = {
      store,
      github: createGitHubPort(fx.octokit(token), { log }),
      // The issue view writes no pull requests.
      pulls: {} as PullRequestPort,
      log,
      now: () => new Date(),
      botLogin: "kanbot[bot]",
      installationId: fx.installationId,
      host: "github.com",
      ensuredLabels: new Set(),
    };
    client = `installation:${fx.installationId}`;
    // The steady state: the state labels exist (creating one costs a REST POST once per repo).
    const names = labelNamesOf(config);
    await ctx.github.ensureLabels(
      repo,
      (["queued", "running", "review", "needs-input"] as const).flatMap(
        (state) => stateLabelDefinition(state, names) ?? [],
      ),
    );
    fx.sim.addProject(ORG, {
      number: 5,
      title: "Board",
      fields: { Status: ["Ready", "In progress", "Needs input", "In review", "Done"] },
    });
  });
  afterAll(async () => {
    await store.close();
    await fx.stop();
  });
  afterEach(() => {
    expect(fx.sim.violations).toEqual([]);
  });

  /** A task in `queued` whose issue shows it (label, card, comment): the steady state. */
  async function queuedTask(title: string, coalesce: boolean, on = config): Promise<Task> {
    const number = await fx.sim.actAs(MAINTAINER).createIssue(FULL, { title });
    const { task } = await store.upsertTask({
      repo: FULL,
      installationId: fx.installationId,
      issueNumber: number,
      title,
      body: "",
      state: "queued",
      budget: { attempts: 3, minutes: 60, usd: 10 },
    });
    await show(task, coalesce, on);
    return task;
  }

  async function show(task: Task, coalesce: boolean, on = config): Promise<void> {
    const issue = await ctx.github.getIssue({ ...repo, number: task.issueNumber });
    await showIssueView(ctx, task, { config: on, issue, board: new BoardLookup(), coalesce });
  }

  async function moveTo(
    task: Task,
    state: Task["state"],
    coalesce: boolean,
    on = config,
  ): Promise<number> {
    const moved = await store.updateTask(task.id, { state });
    fx.sim.limits.reset();
    await show(moved, coalesce, on);
    const counts = fx.sim.limits.of(client);
    return counts["rest-write"] + counts["graphql-mutation"];
  }

  function shown(task: Task, project = 5) {
    const issue = fx.sim.issue(FULL, task.issueNumber);
    const board = fx.sim.state.projects.find((candidate) => candidate.number === project);
    const item = board?.items.find((candidate) => candidate.contentNodeId === issue.nodeId);
    const options = board?.fields.flatMap((field) => field.options) ?? [];
    return {
      labels: issue.labels,
      comments: issue.comments.length,
      status: [...(item?.values.values() ?? [])].map(
        (id) => options.find((option) => option.id === id)?.name,
      ),
    };
  }

  it("costs four content-generating requests by REST and one coalesced, for the same view", async () => {
    const byRest = await queuedTask("By REST", false);
    const coalesced = await queuedTask("Coalesced", true);

    const restWrites = await moveTo(byRest, "running", false);
    const coalescedWrites = await moveTo(coalesced, "running", true);

    expect({ restWrites, coalescedWrites }).toEqual({ restWrites: 4, coalescedWrites: 1 });
    expect(shown(coalesced)).toEqual(shown(byRest));
    expect(shown(coalesced)).toMatchObject({ labels: ["agent:working"], comments: 1 });
    expect(fx.sim.issue(FULL, coalesced.issueNumber).comments[0]?.body).toMatch(/agent:working/);
  });

  it("keeps a person's label added between two coalesced view writes", async () => {
    const task = await queuedTask("Shared issue", true);
    await moveTo(task, "running", true);
    await fx.sim.actAs(MAINTAINER).labelIssue(FULL, task.issueNumber, "priority:high");

    const writes = await moveTo(task, "review", true);

    expect(writes).toBe(1);
    expect(fx.sim.issue(FULL, task.issueNumber).labels).toEqual(["priority:high", "agent:review"]);
    expect(shown(task).status).toContain("In review");
  });

  it("a board without a Needs input column shows a needs-input task In progress, in the same one request", async () => {
    const noNeedsInput = RepoConfig.parse({ board: { project: 6 } });
    fx.sim.addProject(ORG, {
      number: 6,
      title: "Small board",
      fields: { Status: ["Ready", "In progress", "Done"] },
    });
    const task = await queuedTask("Asks a question", true, noNeedsInput);

    const writes = await moveTo(task, "needs-input", true, noNeedsInput);

    expect(writes).toBe(1);
    expect(shown(task, 6)).toMatchObject({
      labels: ["agent:needs-input"],
      status: ["In progress"],
    });
  });
});
