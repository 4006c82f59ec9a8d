/**
 * While the gate is pending, the progress comment shows what it waits for on the head
 * (docs/checks-gate.md, "What a maintainer sees"): the no-checks wait, then the required checks
 * still running by name and how many passed. check_run and check_suite events come in bursts,
 * so the comment is edited only when that text changes; the strict GitHub mock fails the test on
 * any edit not declared here.
 */
import { afterAll, afterEach, describe, expect, it, vi } from "vitest";
import { setupGitHubMock } from "../../helpers/github-mock.js";
import { portMocks } from "../../helpers/github-port-mocks.js";
import { pullRequestMocks, type CheckRunSpec } from "../../helpers/github-pr-mocks.js";
import { REPO, cleanupHarnessFolders, createHarness } from "../../helpers/handler-harness.js";
import {
  HEAD_1,
  PR_NODE_ID,
  PR_REF,
  checkRunCompleted,
  checkSuiteCompleted,
  gateReads,
  gateWaitingComment,
  mirrorMocks,
  stateLabel,
  taskEventMocks,
  taskOf,
  toChecks,
} from "../../helpers/handler-pull-requests.js";

afterAll(cleanupHarnessFolders);
afterEach(() => {
  vi.useRealTimers();
});

type Run = Omit<CheckRunSpec, "headSha">;

const CI = { app: "ci-app", appId: 4242 };
const SHORT = HEAD_1.slice(0, 7);

describe("the progress comment while the gate is pending", () => {
  const gh = setupGitHubMock();
  const ghp = portMocks(gh);
  const ghpr = pullRequestMocks(gh);

  /** The reads of one gate evaluation on HEAD_1 (config and the checks on the head). */
  function reads(runs: readonly Run[]): void {
    ghp.file(REPO, ".github/kanbot.yml", null);
    gateReads(ghpr, HEAD_1, runs);
  }

  function commentEdits(): number {
    return gh.requests.filter(
      (request) => request.method === "PATCH" && request.url.includes("/issues/comments/"),
    ).length;
  }

  it("names the running checks, edits only when they change, and gives way to the review", async () => {
    const h = await createHarness(gh);
    // The job's PR is open with no check on its head yet: the comment shows the no-checks wait
    // (succeedStep declares that edit, with the deadline).
    await toChecks(h, gh, ghp, ghpr);
    const task = await taskOf(h);
    expect((await h.store.getTask(task.id))?.gate?.waiting).toMatch(
      /^no checks on the head yet; waiting until \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/,
    );

    // 1. build starts, test is queued: the comment names both, with the head.
    reads([
      { name: "build", status: "in_progress", ...CI },
      { name: "test", status: "queued", ...CI },
    ]);
    gateWaitingComment(ghp, HEAD_1, "waiting for build \\(in progress\\), test \\(queued\\)\n");
    await h.receive("check_suite", checkSuiteCompleted(HEAD_1));
    await h.drain();
    expect(await taskOf(h)).toMatchObject({ state: "checks", headSha: HEAD_1 });
    expect((await h.store.getTask(task.id))?.gate).toMatchObject({
      headSha: HEAD_1,
      verdict: "pending",
      waiting: "waiting for build (in progress), test (queued)",
    });

    // 2. Another event while the same checks wait: the gate reads again, the comment is not
    //    edited (the strict mock would fail on an edit; the count says so too).
    const edits = commentEdits();
    reads([
      { name: "build", status: "in_progress", ...CI },
      { name: "test", status: "queued", ...CI },
    ]);
    await h.receive("check_suite", checkSuiteCompleted(HEAD_1));
    reads([
      { name: "build", status: "in_progress", ...CI },
      { name: "test", status: "queued", ...CI },
    ]);
    await h.receive("check_suite", checkSuiteCompleted(HEAD_1));
    await h.drain();
    expect(commentEdits()).toBe(edits);
    expect((await taskOf(h)).state).toBe("checks");

    // 3. test finishes green while build still runs: the comment is edited once.
    reads([
      { name: "build", status: "in_progress", ...CI },
      { name: "test", conclusion: "success", ...CI },
    ]);
    gateWaitingComment(ghp, HEAD_1, "waiting for build \\(in progress\\); 1 passed \\(test\\)\n");
    await h.receive("check_run", checkRunCompleted(HEAD_1, { name: "test" }));
    await h.drain();
    expect(commentEdits()).toBe(edits + 1);
    expect((await h.store.getTask(task.id))?.gate?.waiting).toBe(
      "waiting for build (in progress); 1 passed (test)",
    );

    // 4. build passes: ready for review as before, and the comment no longer shows a wait.
    reads([
      { name: "build", conclusion: "success", ...CI },
      { name: "test", conclusion: "success", ...CI },
    ]);
    taskEventMocks(ghp, { labels: [stateLabel("checks")], configRead: false });
    ghpr.markReady(PR_NODE_ID);
    ghpr.requestReviewers(PR_REF, ["alice"]);
    mirrorMocks(ghp, "checks", "review", {
      comment: new RegExp(`^(?![\\s\\S]*Checks on \`${SHORT}\`)[\\s\\S]*ready for review`),
    });
    await h.receive("check_run", checkRunCompleted(HEAD_1, { name: "build" }));
    await h.drain();
    expect((await taskOf(h)).state).toBe("review");
    expect((await h.store.getTask(task.id))?.gate).toMatchObject({ verdict: "passed" });
    await h.close();
  });

  it("a required check that has not appeared is named as not reported yet", async () => {
    const config = "checks:\n  required: [build, sec]\n";
    const h = await createHarness(gh);
    await toChecks(
      h,
      gh,
      ghp,
      ghpr,
      config,
      "waiting for build \\(not reported yet\\), sec \\(not reported yet\\)\n",
    );

    ghp.file(REPO, ".github/kanbot.yml", config);
    gateReads(ghpr, HEAD_1, [{ name: "build", conclusion: "success", ...CI }]);
    gateWaitingComment(
      ghp,
      HEAD_1,
      "waiting for sec \\(not reported yet\\); 1 passed \\(build\\)\n",
    );
    await h.receive("check_run", checkRunCompleted(HEAD_1, { name: "build" }));
    await h.drain();

    expect((await taskOf(h)).state).toBe("checks");
    await h.close();
  });

  it("a failed comment edit is not taken as shown: the delivery's retry edits it", async () => {
    const h = await createHarness(gh);
    await toChecks(h, gh, ghp, ghpr);
    const task = await taskOf(h);
    const running: Run[] = [{ name: "build", status: "in_progress", ...CI }];

    // GitHub answers the edit with a 502: the delivery fails and will be retried, and the gate
    // record keeps the text shown before (the no-checks wait), not the one that was not shown.
    reads(running);
    ghp.gh
      .rest("PATCH", `/repos/${REPO.owner}/${REPO.repo}/issues/comments/1001`, {})
      .replyError(502, "Bad Gateway");
    await h.receive("check_suite", checkSuiteCompleted(HEAD_1));
    await h.drain();
    const failed = (await h.store.listDeliveries()).filter(
      (delivery) => delivery.event === "check_suite",
    );
    expect(failed).toMatchObject([{ status: "pending", attempts: 1 }]);
    expect((await h.store.getTask(task.id))?.gate?.waiting).toMatch(/^no checks/);

    // After the inbox's backoff, the same checks: the retry edits the comment.
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(Date.now() + 10 * 60_000);
    reads(running);
    gateWaitingComment(ghp, HEAD_1, "waiting for build \\(in progress\\)\n");
    await h.drain();
    expect(await h.store.getDelivery(failed[0]?.deliveryId ?? "")).toMatchObject({
      status: "done",
    });
    expect((await h.store.getTask(task.id))?.gate?.waiting).toBe("waiting for build (in progress)");
    await h.close();
  });
});
