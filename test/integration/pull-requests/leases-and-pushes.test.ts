import { afterAll, describe, expect, it } from "vitest";
import { setupGitHubMock } from "../../helpers/github-mock.js";
import { portMocks } from "../../helpers/github-port-mocks.js";
import { pullRequestMocks } from "../../helpers/github-pr-mocks.js";
import {
  cleanupHarnessFolders,
  createHarness,
  type Harness,
} from "../../helpers/handler-harness.js";
import {
  HEAD_1,
  HEAD_2,
  claimStep,
  mirrorMocks,
  queueTask,
  stateLabel,
  succeedStep,
  synchronize,
  taskEventMocks,
  taskOf,
} from "../../helpers/handler-pull-requests.js";

afterAll(cleanupHarnessFolders);

/** Waits until the lease (1 ms) has certainly expired by the store's clock, then sweeps. */
async function expireLeases(h: Harness) {
  await new Promise((resolve) => setTimeout(resolve, 5));
  return h.store.endExpiredLeases();
}

describe("lost leases and pushes by people", () => {
  const gh = setupGitHubMock();
  const ghp = portMocks(gh);
  const ghpr = pullRequestMocks(gh);

  it("a lost lease is decided by the task machine: one retry, queued once by the loop", async () => {
    const h = await createHarness(gh);
    await queueTask(h, gh, ghp);
    await claimStep(h, ghp, { leaseMs: 1 });
    taskEventMocks(ghp, { labels: [stateLabel("running")] });
    mirrorMocks(ghp, "running", "queued", { labelKnown: true, comment: /lost its runner/ });

    const sweep = await expireLeases(h);
    // The sweep only ended the lease: nothing is queued until the machine decides.
    expect((await h.store.listJobs((await taskOf(h)).id)).map((job) => job.status)).toEqual([
      "lost",
    ]);
    await h.runtime.internal.leasesExpired(sweep);
    // The same hook again (a second sweep reporting it, a retried hook) records no second event.
    await h.runtime.internal.leasesExpired(sweep);
    await h.drain();

    const task = await taskOf(h);
    const jobs = await h.store.listJobs(task.id);
    expect(task.state).toBe("queued");
    expect(jobs.map((job) => job.status)).toEqual(["lost", "queued"]);
    expect(task.used).toMatchObject({ attempts: 1, lostLeases: 1 });
    const enqueued = await h.store.listAudit({ taskId: task.id, action: "job.enqueued" });
    expect(enqueued).toHaveLength(2);
    await h.close();
  });

  it("the lost lease that reaches the repository's lostLeases blocks the task; nothing is queued", async () => {
    const config = "budget:\n  lostLeases: 1\n";
    const h = await createHarness(gh);
    await queueTask(h, gh, ghp, { config });
    await claimStep(h, ghp, { leaseMs: 1, config });
    taskEventMocks(ghp, { labels: [stateLabel("running")], config });
    mirrorMocks(ghp, "running", "blocked", { comment: /lost its runner 1 times/ });

    const sweep = await expireLeases(h);
    await h.runtime.internal.leasesExpired(sweep);
    await h.drain();

    const task = await taskOf(h);
    const jobs = await h.store.listJobs(task.id);
    expect(task.state).toBe("blocked");
    expect(jobs.map((job) => job.status)).toEqual(["lost"]);
    expect(task.used.lostLeases).toBe(1);
    await h.close();
  });

  it("a job of a task that is no longer active is never queued again when its lease is lost", async () => {
    const h = await createHarness(gh);
    await queueTask(h, gh, ghp);
    await claimStep(h, ghp, { leaseMs: 1 });
    // The task finished meanwhile (its PR merged by hand, say) while the runner's lease ran.
    const before = await taskOf(h);
    await h.store.updateTask(before.id, { state: "done" });
    // Reading the task's config and issue is all the machine's refusal costs.
    taskEventMocks(ghp, { labels: [] });

    const sweep = await expireLeases(h);
    await h.runtime.internal.leasesExpired(sweep);
    await h.drain();

    const task = await taskOf(h);
    expect(task.state).toBe("done");
    expect((await h.store.listJobs(task.id)).map((job) => job.status)).toEqual(["lost"]);
    await h.close();
  });

  it("a person's push to the PR re-opens the gate on the new head; kanbot's own push is ignored", async () => {
    const h = await createHarness(gh);
    await queueTask(h, gh, ghp);
    const lease = await claimStep(h, ghp);
    await succeedStep(h, ghp, ghpr, lease, { headSha: HEAD_1 });
    await h.receive("pull_request", synchronize(HEAD_2, "kanbot[bot]"));
    await h.drain();
    expect((await taskOf(h)).headSha).toBe(HEAD_1);

    taskEventMocks(ghp, { labels: [stateLabel("checks")] });
    ghp.updateComment({ owner: "Codertocat", repo: "Hello-World" }, 1001, {
      issueNumber: 1,
      body: /A person pushed/,
    });
    await h.receive("pull_request", synchronize(HEAD_2, "octocat"));
    await h.drain();

    expect(await taskOf(h)).toMatchObject({ state: "checks", headSha: HEAD_2 });
    await h.close();
  });
});
