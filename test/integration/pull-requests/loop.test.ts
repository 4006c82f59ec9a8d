import { afterAll, describe, expect, it } from "vitest";
import { setupGitHubMock } from "../../helpers/github-mock.js";
import { portMocks } from "../../helpers/github-port-mocks.js";
import { pullRequestMocks } from "../../helpers/github-pr-mocks.js";
import {
  REPO,
  cleanupHarnessFolders,
  createHarness,
  issueRef,
} from "../../helpers/handler-harness.js";
import {
  HEAD_1,
  HEAD_2,
  PR_NUMBER,
  TASK_BRANCH,
  checkSuiteCompleted,
  claimStep,
  mirrorMocks,
  passGate,
  pullRequestClosed,
  queueTask,
  stateLabel,
  succeedStep,
  taskEventMocks,
  taskOf,
} from "../../helpers/handler-pull-requests.js";

afterAll(cleanupHarnessFolders);

describe("the PR half of the loop", () => {
  const gh = setupGitHubMock();
  const ghp = portMocks(gh);
  const ghpr = pullRequestMocks(gh);

  it("claim -> running; success -> draft PR with a kanbot check run; green checks -> ready for review; merge -> done and branch deleted", async () => {
    const h = await createHarness(gh);
    await queueTask(h, gh, ghp);

    const lease = await claimStep(h, ghp);
    expect((await taskOf(h)).state).toBe("running");

    await succeedStep(h, ghp, ghpr, lease, { headSha: HEAD_1 });
    const checking = await taskOf(h);
    expect(checking).toMatchObject({
      state: "checks",
      prNumber: PR_NUMBER,
      headSha: HEAD_1,
      branch: TASK_BRANCH,
    });
    expect(checking.used.usd).toBeCloseTo(0.42);
    expect(checking.used.minutes).toBe(5);

    // The checks pass on the head: ready for review, review requested from the starter.
    await passGate(h, ghp, ghpr);
    expect((await taskOf(h)).state).toBe("review");

    // Merged: done, the branch deleted.
    ghp.file(REPO, ".github/kanbot.yml", null);
    taskEventMocks(ghp, { labels: [stateLabel("review")], configRead: false });
    mirrorMocks(ghp, "review", "done", { comment: /merged/ });
    ghpr.deleteBranch(REPO, TASK_BRANCH);
    await h.receive("pull_request", pullRequestClosed(true));
    await h.drain();

    expect((await taskOf(h)).state).toBe("done");
    await h.close();
  });

  it("a check suite about a stale head, or the same suite delivered twice, moves nothing", async () => {
    const h = await createHarness(gh);
    await queueTask(h, gh, ghp);
    const lease = await claimStep(h, ghp);
    await succeedStep(h, ghp, ghpr, lease, { headSha: HEAD_1 });

    await h.receive("check_suite", checkSuiteCompleted(HEAD_2));
    await h.drain();

    expect((await taskOf(h)).state).toBe("checks");
    expect(await h.store.listJobs((await taskOf(h)).id)).toHaveLength(1);
    await h.close();
  });

  it("closed without merge cancels the task and keeps the branch", async () => {
    const h = await createHarness(gh);
    await queueTask(h, gh, ghp);
    const lease = await claimStep(h, ghp);
    await succeedStep(h, ghp, ghpr, lease, { headSha: HEAD_1 });

    ghp.file(REPO, ".github/kanbot.yml", null);
    taskEventMocks(ghp, { labels: [stateLabel("checks")], configRead: false });
    ghp.writeIssueView(issueRef(1), {
      remove: [stateLabel("checks")],
      comment: { id: 1001, body: /closed without merging/ },
    });
    await h.receive("pull_request", pullRequestClosed(false));
    await h.drain();

    expect((await taskOf(h)).state).toBe("canceled");
    await h.close();
  });
});

export { HEAD_2 };
