/**
 * Durable apply (issue 12): a transition and the GitHub effects it owes are saved together (the
 * task's outbox), so a failure between them never leaves a task moved without them. Here GitHub
 * refuses to open the PR (`POST /pulls` answers 500, and the app does not retry it itself), or the
 * app fails right after an effect, before ticking it off: the delivery fails, and its retry ends
 * with the task where it should be, the PR opened and the issue's view right.
 */
import { afterAll, describe, expect, it, vi } from "vitest";
import { setupGitHubMock } from "../../helpers/github-mock.js";
import { portMocks } from "../../helpers/github-port-mocks.js";
import { fakePullRequest, pullRequestMocks } from "../../helpers/github-pr-mocks.js";
import {
  REPO,
  cleanupHarnessFolders,
  createHarness,
  type Harness,
} from "../../helpers/handler-harness.js";
import type { ClaimedJob } from "../../../src/store/index.js";
import {
  HEAD_1,
  PR_NUMBER,
  TASK_BRANCH,
  claimStep,
  draftPullOpens,
  gateReads,
  kanbotCheckRun,
  mirrorMocks,
  noChecksWaitComment,
  queueTask,
  stateLabel,
  successResult,
  taskEventMocks,
  taskOf,
} from "../../helpers/handler-pull-requests.js";

afterAll(cleanupHarnessFolders);

describe("durable apply: the outbox", () => {
  const gh = setupGitHubMock();
  const ghp = portMocks(gh);
  const ghpr = pullRequestMocks(gh);

  /** The job succeeds (finished through the runner API's hook); GitHub fails to open the PR. */
  async function succeedButPullsFail(h: Harness, lease: ClaimedJob): Promise<void> {
    taskEventMocks(ghp, { labels: [stateLabel("running")] });
    ghp.defaultBranch(REPO, "main");
    gh.rest("POST", `/repos/${REPO.owner}/${REPO.repo}/pulls`).reply(500, {
      message: "Server Error",
    });
    await finish(h, lease);
  }

  async function finish(h: Harness, lease: ClaimedJob): Promise<void> {
    const finished = await h.store.completeJob(lease.job.id, lease.leaseToken, {
      status: "succeeded",
      result: successResult(HEAD_1),
    });
    await h.runtime.internal.jobFinished(finished);
    await h.drain();
  }

  /** The draft PR opened, with the `kanbot` check run (`checkRunId`) on its head. */
  function pullOpens(checkRunId = 5001): void {
    draftPullOpens(ghp, ghpr);
    kanbotCheckRun(ghpr, HEAD_1, checkRunId);
  }

  /** What follows the PR: the issue's view moves to checks, and the gate waits for checks. */
  function viewAndGate(): void {
    mirrorMocks(ghp, "running", "checks", { comment: new RegExp(`pull/${PR_NUMBER}`) });
    gateReads(ghpr, HEAD_1, []);
    noChecksWaitComment(ghp, HEAD_1);
  }

  it("POST /pulls fails: the task keeps its new state and owed effects; the retry opens the PR", async () => {
    // Failed deliveries are retried after 300 ms instead of 5 s.
    const h = await createHarness(gh, { deliveryBackoffBaseMs: 300 });
    await queueTask(h, gh, ghp);
    const lease = await claimStep(h, ghp);

    // 1. The job succeeds; GitHub answers 500 to opening the PR.
    await succeedButPullsFail(h, lease);

    // The transition is saved with what it still owes; nothing after the PR was attempted.
    const moved = await taskOf(h);
    expect(moved.state).toBe("checks");
    expect(moved.prNumber).toBeUndefined();
    expect(moved.pendingEffects).toMatchObject({
      actor: expect.stringMatching(/^runner:/),
      jobId: lease.job.id,
      effects: [
        { type: "open-pr", headSha: HEAD_1 },
        { type: "evaluate-checks", headSha: HEAD_1 },
        { type: "set-label", state: "checks" },
        { type: "update-board", state: "checks" },
        { type: "update-progress-comment" },
      ],
    });
    expect(gh.isDone()).toBe(true);

    // 2. The delivery's retry: the outbox runs first (PR, check run, labels, board, comment,
    // the gate); the repeated job-succeeded then changes nothing.
    taskEventMocks(ghp, { labels: [stateLabel("running")] });
    pullOpens();
    viewAndGate();
    await new Promise((resolve) => setTimeout(resolve, 350));
    await h.drain();

    const settled = await taskOf(h);
    expect(settled.state).toBe("checks");
    expect(settled.prNumber).toBe(PR_NUMBER);
    expect(settled.headSha).toBe(HEAD_1);
    expect(settled.pendingEffects).toBeUndefined();
    expect((await h.store.listJobs(settled.id)).map((job) => job.status)).toEqual(["succeeded"]);
    await h.close();
  });

  it("the app fails right after an effect, before ticking it off: the retry finishes the rest once", async () => {
    const h = await createHarness(gh, { deliveryBackoffBaseMs: 300 });
    await queueTask(h, gh, ghp);
    const lease = await claimStep(h, ghp);

    // 1. The PR opens, but saving that the PR effect is done fails (the app dies there).
    taskEventMocks(ghp, { labels: [stateLabel("running")] });
    pullOpens();
    const update = h.store.updateTask.bind(h.store);
    const tickOff = vi
      .spyOn(h.store, "updateTask")
      .mockImplementation(async (taskId, changes, options) => {
        if ("pendingEffects" in changes && tickOff.mock.calls.length > 0) {
          tickOff.mockRestore();
          throw new Error("the app died before ticking the effect off");
        }
        return update(taskId, changes, options);
      });
    await finish(h, lease);
    const halfway = await taskOf(h);
    expect(halfway.prNumber).toBe(PR_NUMBER);
    expect(halfway.pendingEffects).toMatchObject({
      effects: [{ type: "open-pr" }, {}, {}, {}, {}],
    });
    expect(gh.isDone()).toBe(true);

    // 2. The retry runs the PR effect again (GitHub has the PR: it is found, not opened twice;
    // the check run is posted again) and the rest once.
    taskEventMocks(ghp, { labels: [stateLabel("running")] });
    ghpr.gh
      .rest("PATCH", `/repos/${REPO.owner}/${REPO.repo}/pulls/${PR_NUMBER}`)
      .reply(200, () =>
        fakePullRequest(REPO, { number: PR_NUMBER, head: TASK_BRANCH }, ghpr.gh.urls),
      );
    kanbotCheckRun(ghpr, HEAD_1, 5002);
    viewAndGate();
    await new Promise((resolve) => setTimeout(resolve, 350));
    await h.drain();

    const settled = await taskOf(h);
    expect(settled.state).toBe("checks");
    expect(settled.prNumber).toBe(PR_NUMBER);
    expect(settled.pendingEffects).toBeUndefined();
    await h.close();
  });

  it("a delivery that gave up: the periodic sweep resumes what the task owes", async () => {
    // One attempt per delivery: the failure is final, and no event of the task's own follows.
    const h = await createHarness(gh, { deliveryMaxAttempts: 1 });
    await queueTask(h, gh, ghp);
    const lease = await claimStep(h, ghp);
    await succeedButPullsFail(h, lease);
    expect((await taskOf(h)).pendingEffects).toBeDefined();
    expect(gh.isDone()).toBe(true);

    // A task that made progress within the last minute is left alone.
    expect(await h.runtime.internal.resumeOutboxes()).toBe(0);
    // Past it, one resume is recorded (once, however often the sweep runs) and runs the outbox.
    expect(await h.runtime.internal.resumeOutboxes(0)).toBe(1);
    expect(await h.runtime.internal.resumeOutboxes(0)).toBe(0);
    ghp.file(REPO, ".github/kanbot.yml", null);
    ghp.issue({ ...REPO, number: 1 }, { labels: [stateLabel("running")], title: "Add a widget" });
    pullOpens();
    viewAndGate();
    await h.drain();

    const settled = await taskOf(h);
    expect(settled).toMatchObject({ state: "checks", prNumber: PR_NUMBER, headSha: HEAD_1 });
    expect(settled.pendingEffects).toBeUndefined();
    await h.close();
  });

  it("an outbox the loop cannot read, or an empty one, is cleared instead of run or looped on", async () => {
    const h = await createHarness(gh);
    await queueTask(h, gh, ghp);
    const task = await taskOf(h);

    for (const broken of [
      { effects: "not a list", actor: 7 },
      { effects: [], actor: "kanbot" },
    ]) {
      await h.store.updateTask(task.id, { pendingEffects: broken });
      expect(await h.runtime.internal.resumeOutboxes(0)).toBe(1);
      // The resume reads the task's config and issue, then finds nothing it can run.
      taskEventMocks(ghp, { labels: [stateLabel("queued")] });
      await h.drain();
      expect((await taskOf(h)).pendingEffects).toBeUndefined();
      expect(gh.isDone()).toBe(true);
    }
    await h.close();
  });
});
