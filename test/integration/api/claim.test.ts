import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { startHarness, type Harness } from "./harness.js";

describe("runner API: claims", () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness({
      githubWebUrl: "https://ghe.example.com",
      resolveWorkspace: async ({ task }) =>
        task.repo === "acme/broken"
          ? Promise.reject(new Error(".github/kanbot.yml is invalid"))
          : { baseBranch: "main", validationCommands: ["npm test"], setupCommands: ["npm ci"] },
    });
  });
  afterEach(async () => {
    await h.close();
  });

  it("hands out a job with its description, lease token and expiry", async () => {
    const { client, runnerId } = await h.registerRunner({ agents: ["claude"] });
    const jobId = await h.queueJob(
      {
        title: "Add a Widget!",
        body: "Make widgets.\n\n## Acceptance criteria\n\n- widgets exist\n- tests pass\n",
        budget: { attempts: 5, minutes: 90, usd: 4 },
      },
      "implement",
    );

    const claimed = await client.claim();

    expect(claimed?.job).toMatchObject({
      id: jobId,
      kind: "implement",
      attempt: 1,
      agent: "claude",
      repository: {
        fullName: "acme/widgets",
        owner: "acme",
        name: "widgets",
        cloneUrl: "https://ghe.example.com/acme/widgets.git",
      },
      issue: { title: "Add a Widget!", acceptanceCriteria: ["widgets exist", "tests pass"] },
      workspace: {
        baseBranch: "main",
        continueBranch: false,
        setupCommands: ["npm ci"],
        validationCommands: ["npm test"],
        forbiddenPaths: [".github/workflows/**"],
      },
      input: null,
      limits: { maxMinutes: 90, maxUsd: 4 },
    });
    expect(claimed?.job.workspace.branch).toMatch(/^kanbot\/\d+-add-a-widget$/);
    expect(claimed?.lease.token).toMatch(/^kbl_/);
    expect(claimed?.lease.expiresAt).toBe("2026-01-01T00:01:00.000Z");
    expect(await h.store.getJob(jobId)).toMatchObject({ status: "leased", runnerId });
    expect((await h.store.listAudit({ jobId, action: "job.claimed" })).length).toBe(1);
  });

  it("passes kind-specific input through", async () => {
    const { client } = await h.registerRunner();
    await h.queueJob({}, "revise", { instructions: "rename it" });

    const claimed = await client.claim();

    expect(claimed?.job).toMatchObject({
      kind: "revise",
      input: { instructions: "rename it" },
      workspace: { continueBranch: true },
    });
  });

  it.each([
    ["an agent the runner does not offer", { agents: ["codex"] }, { agent: "claude" }],
    ["a label the runner does not offer", { labels: ["linux"] }, { requiredLabels: ["gpu"] }],
    ["a repository outside the runner's allowlist", { repos: ["acme/other"] }, {}],
  ])("does not hand out a job that needs %s", async (_what, runner, task) => {
    const { client } = await h.registerRunner(runner);
    await h.queueJob(task);

    expect(await client.claim({ waitSeconds: 0 })).toBeUndefined();
  });

  it.each([
    ["its agents", { agents: ["codex", "claude"] }, { agent: "codex" }],
    ["its labels", { labels: ["gpu", "os:linux"] }, { requiredLabels: ["gpu"] }],
    ["its repository allowlist", { repos: ["acme/widgets"] }, {}],
  ])("hands out a job that matches %s", async (_what, runner, task) => {
    const { client } = await h.registerRunner(runner);
    const jobId = await h.queueJob(task);

    expect((await client.claim({ waitSeconds: 0 }))?.job.id).toBe(jobId);
  });

  it("lets a claim narrow the registered agents, and refuses to widen them", async () => {
    const { client } = await h.registerRunner({ agents: ["claude", "codex"] });
    await h.queueJob({ agent: "claude" });

    expect(await client.claim({ agents: ["codex"], waitSeconds: 0 })).toBeUndefined();
    await expect(client.claim({ agents: ["gemini"], waitSeconds: 0 })).rejects.toMatchObject({
      status: 400,
      message: /gemini not registered by this runner/,
    });
    expect(await client.claim({ agents: ["claude"], waitSeconds: 0 })).toBeDefined();
  });

  it("answers 204 at once when the runner has no free slot", async () => {
    const { client } = await h.registerRunner();
    await h.queueJob();

    expect(await client.claim({ freeSlots: 0 })).toBeUndefined();
    expect(await client.claim({ freeSlots: 1 })).toBeDefined();
  });

  it("answers 204 when no job comes before the claim timeout", async () => {
    const quick = await startHarness({ limits: { claimTimeoutMs: 50 } });
    try {
      const { client } = await quick.registerRunner();

      expect(await client.claim()).toBeUndefined();
      expect(quick.api.waitingClaims).toBe(0);
    } finally {
      await quick.close();
    }
  });

  it("wakes a waiting claim as soon as a job is queued", async () => {
    const { client } = await h.registerRunner();
    const claim = client.claim();
    await vi.waitFor(() => expect(h.api.waitingClaims).toBe(1));

    const jobId = await h.queueJob();

    expect((await claim)?.job.id).toBe(jobId);
    expect(h.api.waitingClaims).toBe(0);
  });

  it("wakes a waiting claim with the retry the task loop queues for a lost job", async () => {
    const first = await h.registerRunner();
    const second = await h.registerRunner();
    const lostJobId = await h.queueJob();
    await first.client.claim();
    const waiting = second.client.claim();
    await vi.waitFor(() => expect(h.api.waitingClaims).toBe(1));

    h.clock.advance(61_000);
    const sweep = await h.api.sweep();
    expect(sweep.lost.map((job) => job.id)).toEqual([lostJobId]);
    expect(h.api.waitingClaims).toBe(1);
    const lost = sweep.lost[0];
    if (lost === undefined) throw new Error("no lost job");
    const retry = await h.store.enqueueJob({ taskId: lost.taskId, kind: lost.kind });

    expect((await waiting)?.job.id).toBe(retry.id);
  });

  it("releases the waiter when the runner disconnects", async () => {
    const { client } = await h.registerRunner();
    const abort = new AbortController();
    const claim = client.claim({}, { signal: abort.signal });
    await vi.waitFor(() => expect(h.api.waitingClaims).toBe(1));

    abort.abort();

    await expect(claim).rejects.toThrow();
    await vi.waitFor(() => expect(h.api.waitingClaims).toBe(0));
    const jobId = await h.queueJob();
    expect(await h.store.getJob(jobId)).toMatchObject({ status: "queued" });
  });

  it("answers waiting claims with 204 when the API stops", async () => {
    const { client } = await h.registerRunner();
    const claim = client.claim();
    await vi.waitFor(() => expect(h.api.waitingClaims).toBe(1));

    await h.api.stop();

    expect(await claim).toBeUndefined();
  });

  it("fails a job whose workspace settings cannot be read, and hands out the next one", async () => {
    const { client } = await h.registerRunner();
    const broken = await h.queueJob({ repo: "acme/broken" });
    const good = await h.queueJob();

    const claimed = await client.claim({ waitSeconds: 0 });

    expect(claimed?.job.id).toBe(good);
    expect(await h.store.getJob(broken)).toMatchObject({
      status: "failed",
      error: expect.stringMatching(/could not prepare the job: .*kanbot\.yml is invalid/),
    });
  });
});
