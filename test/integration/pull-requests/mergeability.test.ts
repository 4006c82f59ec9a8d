/**
 * The base branch moved while GitHub was still computing whether a kanbot PR merges cleanly
 * (`mergeable: null`): the question is asked again through the inbox (a `kanbot_gate.mergeability`
 * delivery retried with the inbox's backoff) until GitHub knows, instead of being dropped.
 */
import { afterAll, afterEach, describe, expect, it, vi } from "vitest";
import { setupGitHubMock } from "../../helpers/github-mock.js";
import { portMocks } from "../../helpers/github-port-mocks.js";
import { fakeSha, pullRequestMocks } from "../../helpers/github-pr-mocks.js";
import { REPO, cleanupHarnessFolders, createHarness } from "../../helpers/handler-harness.js";
import {
  HEAD_1,
  PROGRESS_COMMENT_ID,
  PR_REF,
  TASK_BRANCH,
  mirrorMocks,
  pushTo,
  stateLabel,
  taskEventMocks,
  taskOf,
  toChecks,
} from "../../helpers/handler-pull-requests.js";

afterAll(cleanupHarnessFolders);
afterEach(() => {
  vi.useRealTimers();
});

const BASE_2 = fakeSha("base-2");

describe("mergeability still being computed when the base moves", () => {
  const gh = setupGitHubMock();
  const ghp = portMocks(gh);
  const ghpr = pullRequestMocks(gh);

  function pr(mergeable: boolean | null) {
    ghpr.pullRequest(PR_REF, {
      head: TASK_BRANCH,
      headSha: HEAD_1,
      draft: true,
      mergeable,
      mergeableState: mergeable === null ? "unknown" : mergeable ? "clean" : "dirty",
    });
  }

  /** The base moves; GitHub answers `mergeable: null` twice (the push, then the first re-ask). */
  async function pushWhileComputing(h: Awaited<ReturnType<typeof createHarness>>) {
    pr(null);
    ghp.file(REPO, ".github/kanbot.yml", null);
    pr(null);
    await h.receive("push", pushTo("main", BASE_2));
    await h.drain();
    const task = await taskOf(h);
    const id = `kanbot-mergeable-${task.id}-${HEAD_1}-conflict-${BASE_2}`;
    expect(await h.store.getDelivery(id)).toMatchObject({
      event: "kanbot_gate",
      action: "mergeability",
      status: "pending",
      attempts: 1,
      lastError: expect.stringMatching(/still computing whether pull request #7 merges/),
    });
    expect(task.state).toBe("checks");
    // The inbox's backoff passes (the store's clock is the system's).
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(Date.now() + 10 * 60_000);
    return id;
  }

  it("asked again later: it conflicts, so a rebase job is queued", async () => {
    const h = await createHarness(gh);
    await toChecks(h, gh, ghp, ghpr);
    const id = await pushWhileComputing(h);

    ghp.file(REPO, ".github/kanbot.yml", null);
    pr(false);
    taskEventMocks(ghp, { labels: [stateLabel("checks")], configRead: false });
    mirrorMocks(ghp, "checks", "queued", { labelKnown: true, comment: /conflicts/ });
    await h.drain();

    expect(await h.store.getDelivery(id)).toMatchObject({ status: "done", attempts: 2 });
    const jobs = await h.store.listJobs((await taskOf(h)).id);
    expect(jobs.map((job) => job.kind)).toEqual(["implement", "rebase"]);
    await h.close();
  });

  it("asked again later: it merges cleanly, so nothing happens", async () => {
    const h = await createHarness(gh);
    await toChecks(h, gh, ghp, ghpr);
    const id = await pushWhileComputing(h);

    ghp.file(REPO, ".github/kanbot.yml", null);
    pr(true);
    await h.drain();

    expect(await h.store.getDelivery(id)).toMatchObject({ status: "done" });
    expect(await h.store.listJobs((await taskOf(h)).id)).toHaveLength(1);
    await h.close();
  });

  it("the same base push delivered again records the re-check once", async () => {
    const h = await createHarness(gh);
    await toChecks(h, gh, ghp, ghpr);
    await pushWhileComputing(h);
    vi.useRealTimers();

    // GitHub redelivers the push (a new delivery id): the PR is read, still computing, and the
    // re-check it would record exists already.
    pr(null);
    await h.receive("push", pushTo("main", BASE_2));
    await h.drain();

    const rechecks = (await h.store.listDeliveries()).filter(
      (delivery) => delivery.event === "kanbot_gate",
    );
    expect(rechecks).toHaveLength(1);
    await h.close();
  });

  it("GitHub never computes it: the inbox's last attempt tells the maintainer instead of failing", async () => {
    const h = await createHarness(gh, { deliveryMaxAttempts: 2 });
    await toChecks(h, gh, ghp, ghpr);
    const id = await pushWhileComputing(h);

    // The second attempt is the last: still unknown, so the progress comment says so.
    ghp.file(REPO, ".github/kanbot.yml", null);
    pr(null);
    ghp.updateComment(REPO, PROGRESS_COMMENT_ID, {
      issueNumber: 1,
      body: /GitHub never finished computing whether pull request \\#7 merges cleanly, though kanbot asked 3 times, so kanbot could not tell whether it conflicts with the moved base branch\. If GitHub shows a conflict, resolve it by hand or comment "\/kanbot rebase onto the base branch"/,
    });
    await h.drain();

    expect(await h.store.getDelivery(id)).toMatchObject({ status: "done" });
    expect((await taskOf(h)).state).toBe("checks");
    expect(await h.store.listJobs((await taskOf(h)).id)).toHaveLength(1);
    await h.close();
  });

  it("a task that moved on drops the re-check", async () => {
    const h = await createHarness(gh);
    await toChecks(h, gh, ghp, ghpr);
    const id = await pushWhileComputing(h);

    // Meanwhile the task was canceled (a person closed the PR without merging).
    const task = await taskOf(h);
    await h.store.updateTask(task.id, { state: "canceled" });
    await h.drain();

    expect(await h.store.getDelivery(id)).toMatchObject({ status: "done", attempts: 2 });
    await h.close();
  });
});
