/**
 * The PR half's events one by one, with the strict GitHub mock: `/kanbot <instructions>` on the
 * PR, `check_run` and `status` driving the gate, the flake guard, a passing check while a
 * fix-checks job is pending or running, duplicates, out-of-order and stale-SHA events, the
 * budget running out, the board's columns and dry-run.
 */
import { afterAll, describe, expect, it } from "vitest";
import { setupGitHubMock } from "../../helpers/github-mock.js";
import { fakeBoard, issueNodeId, portMocks } from "../../helpers/github-port-mocks.js";
import { pullRequestMocks } from "../../helpers/github-pr-mocks.js";
import {
  REPO,
  cleanupHarnessFolders,
  createHarness,
  issueRef,
  type Harness,
} from "../../helpers/handler-harness.js";
import {
  HEAD_1,
  HEAD_2,
  PR_NODE_ID,
  PR_NUMBER,
  PR_REF,
  checkRunCompleted,
  checkSuiteCompleted,
  claimStep,
  gateReads,
  gateWaitingComment,
  mirrorMocks,
  noChecksWaitComment,
  passGate,
  prComment,
  pullRequestClosed,
  queueTask,
  reviewSubmitted,
  stateLabel,
  statusEvent,
  succeedStep,
  successResult,
  taskEventMocks,
  taskOf,
  toChecks,
} from "../../helpers/handler-pull-requests.js";

afterAll(cleanupHarnessFolders);

const T1 = "2026-01-15T12:00:00Z";
const T2 = "2026-01-15T12:05:00Z";

function failing(name = "test", completedAt = T1) {
  return {
    name,
    conclusion: "failure" as const,
    app: "ci-app",
    appId: 4242,
    completedAt,
    output: { title: `${name} failed`, summary: "widget.test.ts: expected 2, got 3" },
  };
}

async function jobsOf(h: Harness) {
  return h.store.listJobs((await taskOf(h)).id);
}

/** A failing check on HEAD_1: a fix-checks job is queued (the task is `queued`). */
async function failOnHead1(
  h: Harness,
  ghp: ReturnType<typeof portMocks>,
  ghpr: ReturnType<typeof pullRequestMocks>,
  config: string | null = null,
) {
  ghp.file(REPO, ".github/kanbot.yml", config);
  gateReads(ghpr, HEAD_1, [failing()]);
  taskEventMocks(ghp, { labels: [stateLabel("checks")], configRead: false });
  mirrorMocks(ghp, "checks", "queued", { labelKnown: true, comment: /Checks failed/ });
  await h.receive("check_suite", checkSuiteCompleted(HEAD_1));
  await h.drain();
  expect((await jobsOf(h)).map((job) => job.kind)).toEqual(["implement", "fix-checks"]);
}

describe("/kanbot <instructions> on the pull request", () => {
  const gh = setupGitHubMock();
  const ghp = portMocks(gh);
  const ghpr = pullRequestMocks(gh);

  it("from a writer: a revise job with the instructions", async () => {
    const h = await createHarness(gh);
    await toChecks(h, gh, ghp, ghpr);
    ghp.file(REPO, ".github/kanbot.yml", null);
    ghp.permission(REPO, "bob", "write");
    taskEventMocks(ghp, { labels: [stateLabel("checks")], configRead: false });
    mirrorMocks(ghp, "checks", "queued", { labelKnown: true, comment: /revise/ });

    await h.receive("issue_comment", prComment("/kanbot rename the widget to Gadget", "bob"));
    await h.drain();

    const jobs = await jobsOf(h);
    expect((await taskOf(h)).state).toBe("queued");
    expect(jobs.map((job) => job.kind)).toEqual(["implement", "revise"]);
    expect(String(jobs[1]?.input)).toContain("rename the widget to Gadget");
    await h.close();
  });

  it("from someone below the permission: one reply, no job", async () => {
    const h = await createHarness(gh);
    await toChecks(h, gh, ghp, ghpr);
    ghp.file(REPO, ".github/kanbot.yml", null);
    ghp.permission(REPO, "mallory", "read");
    ghp.createComment(PR_REF, { body: /@mallory/ });

    await h.receive("issue_comment", prComment("/kanbot delete the tests", "mallory"));
    await h.drain();

    expect((await taskOf(h)).state).toBe("checks");
    expect(await jobsOf(h)).toHaveLength(1);
    await h.close();
  });

  it("kanbot's own comment is ignored without a single GitHub call", async () => {
    const h = await createHarness(gh);
    await toChecks(h, gh, ghp, ghpr);
    const before = gh.requests.length;

    await h.receive("issue_comment", prComment("/kanbot rename the widget", "kanbot[bot]"));
    await h.drain();

    expect(gh.requests.length).toBe(before);
    expect(await jobsOf(h)).toHaveLength(1);
    await h.close();
  });
});

describe("reviews requesting changes", () => {
  const gh = setupGitHubMock();
  const ghp = portMocks(gh);
  const ghpr = pullRequestMocks(gh);

  it("from someone below the permission: one reply, no job, no line comment read", async () => {
    const h = await createHarness(gh);
    await toChecks(h, gh, ghp, ghpr);
    ghp.file(REPO, ".github/kanbot.yml", null);
    ghp.permission(REPO, "mallory", "triage");
    ghp.createComment(PR_REF, { body: /@mallory/ });

    await h.receive(
      "pull_request_review",
      reviewSubmitted("changes_requested", { reviewer: "mallory", body: "drop the tests" }),
    );
    await h.drain();

    expect((await taskOf(h)).state).toBe("checks");
    expect(await jobsOf(h)).toHaveLength(1);
    await h.close();
  });

  it("a review that only comments changes nothing", async () => {
    const h = await createHarness(gh);
    await toChecks(h, gh, ghp, ghpr);
    const before = gh.requests.length;

    await h.receive("pull_request_review", reviewSubmitted("commented", { body: "nice" }));
    await h.drain();

    expect(gh.requests.length).toBe(before);
    await h.close();
  });
});

describe("check_run and status drive the gate", () => {
  const gh = setupGitHubMock();
  const ghp = portMocks(gh);
  const ghpr = pullRequestMocks(gh);

  it("check_run.completed on the head: the gate passes, ready for review", async () => {
    const h = await createHarness(gh);
    await toChecks(h, gh, ghp, ghpr);
    ghp.file(REPO, ".github/kanbot.yml", null);
    gateReads(ghpr, HEAD_1, [{ name: "test", conclusion: "success", app: "ci-app", appId: 4242 }]);
    taskEventMocks(ghp, { labels: [stateLabel("checks")], configRead: false });
    ghpr.markReady(PR_NODE_ID);
    ghpr.requestReviewers(PR_REF, ["alice"]);
    mirrorMocks(ghp, "checks", "review", { comment: /ready for review/ });

    await h.receive("check_run", checkRunCompleted(HEAD_1));
    await h.drain();

    expect((await taskOf(h)).state).toBe("review");
    await h.close();
  });

  it("kanbot's own check run finishing is ignored at once", async () => {
    const h = await createHarness(gh);
    await toChecks(h, gh, ghp, ghpr);
    const before = gh.requests.length;

    await h.receive("check_run", checkRunCompleted(HEAD_1, { name: "kanbot", appSlug: "kanbot" }));
    await h.drain();

    expect(gh.requests.length).toBe(before);
    expect((await taskOf(h)).state).toBe("checks");
    await h.close();
  });

  it("a check run of another app that is merely named kanbot still counts", async () => {
    const h = await createHarness(gh);
    await toChecks(h, gh, ghp, ghpr);
    ghp.file(REPO, ".github/kanbot.yml", null);
    gateReads(ghpr, HEAD_1, [
      { name: "test", conclusion: "success", app: "ci-app", appId: 4242 },
      { name: "build", status: "in_progress", app: "ci-app", appId: 4242 },
    ]);
    gateWaitingComment(ghp, HEAD_1, "waiting for build \\(in progress\\); 1 passed \\(test\\)");
    await h.receive(
      "check_run",
      checkRunCompleted(HEAD_1, { name: "kanbot", appSlug: "someone-elses-app" }),
    );
    await h.drain();

    // The gate ran (every read above was made) and waits for `build`.
    expect((await taskOf(h)).state).toBe("checks");
    await h.close();
  });

  it("a pending status decides nothing; a failing one starts a fix-checks job", async () => {
    const h = await createHarness(gh);
    await toChecks(h, gh, ghp, ghpr);
    const before = gh.requests.length;
    await h.receive("status", statusEvent(HEAD_1, "pending"));
    await h.drain();
    expect(gh.requests.length).toBe(before);

    ghp.file(REPO, ".github/kanbot.yml", null);
    gateReads(
      ghpr,
      HEAD_1,
      [],
      [{ context: "ci/circle", state: "failure", description: "2 tests failed" }],
    );
    taskEventMocks(ghp, { labels: [stateLabel("checks")], configRead: false });
    mirrorMocks(ghp, "checks", "queued", { labelKnown: true, comment: /Checks failed/ });
    await h.receive("status", statusEvent(HEAD_1, "failure"));
    await h.drain();

    const jobs = await jobsOf(h);
    expect(jobs.map((job) => job.kind)).toEqual(["implement", "fix-checks"]);
    expect(String(jobs[1]?.input)).toContain("ci/circle");
    await h.close();
  });

  it("a status on another commit finds no task and changes nothing", async () => {
    const h = await createHarness(gh);
    await toChecks(h, gh, ghp, ghpr);
    const before = gh.requests.length;
    await h.receive("status", statusEvent(HEAD_2, "failure"));
    await h.drain();
    expect(gh.requests.length).toBe(before);
    expect(await jobsOf(h)).toHaveLength(1);
    await h.close();
  });
});

describe("the flake guard (checks.rerunFailedOnce)", () => {
  const gh = setupGitHubMock();
  const ghp = portMocks(gh);
  const ghpr = pullRequestMocks(gh);
  const GUARD = "checks:\n  rerunFailedOnce: true\n";

  function actionsFailure(jobId: number, completedAt: string) {
    return {
      name: "test",
      conclusion: "failure" as const,
      completedAt,
      actions: { runId: 900, jobId },
      output: { title: "1 test failed", summary: "Process completed with exit code 1." },
    };
  }

  it("on: a failed Actions workflow is re-run once; the second failure counts, with the log tail", async () => {
    const h = await createHarness(gh);
    await toChecks(h, gh, ghp, ghpr, GUARD);

    // 1. First failure: re-run the workflow's failed jobs, no job, no state change.
    ghp.file(REPO, ".github/kanbot.yml", GUARD);
    gateReads(ghpr, HEAD_1, [actionsFailure(901, T1)]);
    ghpr.rerunFailedJobs(REPO, 900);
    await h.receive("check_suite", checkSuiteCompleted(HEAD_1));
    await h.drain();
    expect((await taskOf(h)).state).toBe("checks");
    expect(await jobsOf(h)).toHaveLength(1);

    // 2. The re-run failed too: counted now, a fix-checks job with the failed job's log.
    ghp.file(REPO, ".github/kanbot.yml", GUARD);
    gateReads(ghpr, HEAD_1, [actionsFailure(902, T2), actionsFailure(901, T1)]);
    ghpr.jobLog(REPO, 902, "Run npm test\nAssertionError: expected 2 to equal 3\n");
    taskEventMocks(ghp, { labels: [stateLabel("checks")], configRead: false });
    mirrorMocks(ghp, "checks", "queued", { labelKnown: true, comment: /Checks failed/ });
    await h.receive("check_suite", checkSuiteCompleted(HEAD_1));
    await h.drain();

    const jobs = await jobsOf(h);
    expect(jobs.map((job) => job.kind)).toEqual(["implement", "fix-checks"]);
    expect(String(jobs[1]?.input)).toContain("AssertionError: expected 2 to equal 3");
    expect(ghpr.pendingDownloads()).toEqual([]);
    await h.close();
  });

  it("on, but GitHub refuses the re-run (no actions: write): the failure counts at once", async () => {
    const h = await createHarness(gh);
    await toChecks(h, gh, ghp, ghpr, GUARD);
    ghp.file(REPO, ".github/kanbot.yml", GUARD);
    gateReads(ghpr, HEAD_1, [actionsFailure(901, T1)]);
    ghpr.rerunFailedJobs(REPO, 900, { refused: "Resource not accessible by integration" });
    ghpr.jobLog(REPO, 901, "Run npm test\nfailed\n");
    taskEventMocks(ghp, { labels: [stateLabel("checks")], configRead: false });
    mirrorMocks(ghp, "checks", "queued", {
      labelKnown: true,
      comment: /could not re-run workflow run 900[^\n]*actions: write/,
    });
    await h.receive("check_suite", checkSuiteCompleted(HEAD_1));
    await h.drain();

    expect((await jobsOf(h)).map((job) => job.kind)).toEqual(["implement", "fix-checks"]);
    expect(ghpr.pendingDownloads()).toEqual([]);
    await h.close();
  });

  it("off (the default): the first failure counts, nothing is re-run", async () => {
    const h = await createHarness(gh);
    await toChecks(h, gh, ghp, ghpr);
    ghp.file(REPO, ".github/kanbot.yml", null);
    gateReads(ghpr, HEAD_1, [actionsFailure(901, T1)]);
    ghpr.jobLog(REPO, 901, "Run npm test\nfailed\n");
    taskEventMocks(ghp, { labels: [stateLabel("checks")], configRead: false });
    mirrorMocks(ghp, "checks", "queued", { labelKnown: true, comment: /Checks failed/ });
    await h.receive("check_suite", checkSuiteCompleted(HEAD_1));
    await h.drain();

    expect((await jobsOf(h)).map((job) => job.kind)).toEqual(["implement", "fix-checks"]);
    expect(ghpr.pendingDownloads()).toEqual([]);
    await h.close();
  });
});

describe("a passing check while a fix-checks job is pending", () => {
  const gh = setupGitHubMock();
  const ghp = portMocks(gh);
  const ghpr = pullRequestMocks(gh);

  /** The re-run of `test` passed after it failed: the latest run wins. */
  function rerunPassed() {
    ghp.file(REPO, ".github/kanbot.yml", null);
    gateReads(ghpr, HEAD_1, [
      { name: "test", conclusion: "success", app: "ci-app", appId: 4242, completedAt: T2 },
      failing("test", T1),
    ]);
    ghpr.markReady(PR_NODE_ID);
    ghpr.requestReviewers(PR_REF, ["alice"]);
  }

  it("queued: the fix job is canceled and the task goes to review", async () => {
    const h = await createHarness(gh);
    await toChecks(h, gh, ghp, ghpr);
    await failOnHead1(h, ghp, ghpr);

    rerunPassed();
    taskEventMocks(ghp, { labels: [stateLabel("queued")], configRead: false });
    mirrorMocks(ghp, "queued", "review", { comment: /ready for review/ });
    await h.receive("check_run", checkRunCompleted(HEAD_1));
    await h.drain();

    expect((await taskOf(h)).state).toBe("review");
    expect((await jobsOf(h)).map((job) => job.status)).toEqual(["succeeded", "canceled"]);
    await h.close();
  });

  it("running: the runner's job is canceled (it learns at its next heartbeat), review", async () => {
    const h = await createHarness(gh);
    await toChecks(h, gh, ghp, ghpr);
    await failOnHead1(h, ghp, ghpr);
    const lease = await claimStep(h, ghp, { labelKnown: true, kind: "fix-checks" });

    rerunPassed();
    taskEventMocks(ghp, { labels: [stateLabel("running")], configRead: false });
    mirrorMocks(ghp, "running", "review", { comment: /ready for review/ });
    await h.receive("check_run", checkRunCompleted(HEAD_1));
    await h.drain();

    expect((await taskOf(h)).state).toBe("review");
    const heartbeat = await h.store.heartbeat(lease.job.id, lease.leaseToken, { leaseMs: 60_000 });
    expect(heartbeat).toMatchObject({ canceled: true });
    await h.close();
  });
});

describe("duplicates, out-of-order and stale events", () => {
  const gh = setupGitHubMock();
  const ghp = portMocks(gh);
  const ghpr = pullRequestMocks(gh);

  it("the same delivery twice is recorded and applied once", async () => {
    const h = await createHarness(gh);
    await toChecks(h, gh, ghp, ghpr);
    ghp.file(REPO, ".github/kanbot.yml", null);
    gateReads(ghpr, HEAD_1, [failing()]);
    taskEventMocks(ghp, { labels: [stateLabel("checks")], configRead: false });
    mirrorMocks(ghp, "checks", "queued", { labelKnown: true, comment: /Checks failed/ });

    const id = "5f1e0000-0000-4000-8000-000000000001";
    await h.receive("check_suite", checkSuiteCompleted(HEAD_1), id);
    await h.receive("check_suite", checkSuiteCompleted(HEAD_1), id);
    await h.drain();

    expect(await jobsOf(h)).toHaveLength(2);
    expect((await h.store.listDeliveries()).filter((d) => d.deliveryId === id)).toHaveLength(1);
    await h.close();
  });

  it("a runner's finish reported twice opens one PR", async () => {
    const h = await createHarness(gh);
    await toChecks(h, gh, ghp, ghpr);
    const [job] = await jobsOf(h);
    if (job === undefined) throw new Error("no job");

    await h.runtime.internal.jobFinished(job);
    await h.drain();

    expect((await taskOf(h)).state).toBe("checks");
    expect(await jobsOf(h)).toHaveLength(1);
    await h.close();
  });

  it("a runner's finish recorded before its claim: the claim is applied first, the late claim changes nothing", async () => {
    const h = await createHarness(gh);
    await queueTask(h, gh, ghp);
    const claimed = await h.store.claimJob(
      { runnerId: "runner-1", agents: ["claude"], labels: [], repos: [] },
      60_000,
    );
    if (claimed === undefined) throw new Error("no job");
    const finished = await h.store.completeJob(claimed.job.id, claimed.leaseToken, {
      status: "succeeded",
      result: successResult(HEAD_1),
    });

    // The finish is worked first: running (the claim it implies), then checks with the PR.
    taskEventMocks(ghp, { labels: [stateLabel("queued")] });
    mirrorMocks(ghp, "queued", "running", { comment: /picked up the implement job/ });
    // The same delivery: `.github/kanbot.yml` was read once already (one read per event).
    taskEventMocks(ghp, { labels: [stateLabel("running")], configRead: false });
    ghp.defaultBranch(REPO, "main");
    ghpr.createDraftPullRequest(REPO, {
      number: PR_NUMBER,
      head: "kanbot/1-add-a-widget",
      base: "main",
      title: "Add a widget (#1)",
    });
    ghpr.createCheckRun(REPO, { head_sha: HEAD_1, name: "kanbot", status: "completed" });
    gateReads(ghpr, HEAD_1, []);
    mirrorMocks(ghp, "running", "checks", { comment: /pull\/7/ });
    noChecksWaitComment(ghp, HEAD_1);
    // The claim, late: read and rejected (the task is past running).
    taskEventMocks(ghp, { labels: [stateLabel("checks")] });

    await h.runtime.internal.jobFinished(finished);
    await h.runtime.internal.jobClaimed(claimed.job);
    await h.drain();

    expect(await taskOf(h)).toMatchObject({
      state: "checks",
      prNumber: PR_NUMBER,
      headSha: HEAD_1,
    });
    expect(await jobsOf(h)).toHaveLength(1);
    await h.close();
  });

  it("a late check suite for the previous head does not move the task after the fix pushed", async () => {
    const h = await createHarness(gh);
    await toChecks(h, gh, ghp, ghpr);
    await failOnHead1(h, ghp, ghpr);
    const lease = await claimStep(h, ghp, { labelKnown: true, kind: "fix-checks" });
    await succeedStep(h, ghp, ghpr, lease, {
      headSha: HEAD_2,
      followUp: true,
      labelKnown: true,
      checkRunId: 5002,
    });
    const before = gh.requests.length;

    // HEAD_1's re-run passes late, and its failure arrives even later: neither is the head.
    await h.receive("check_suite", checkSuiteCompleted(HEAD_1));
    await h.receive("check_run", checkRunCompleted(HEAD_1, { conclusion: "failure" }));
    await h.receive("status", statusEvent(HEAD_1, "success"));
    await h.drain();

    expect(gh.requests.length).toBe(before);
    expect(await taskOf(h)).toMatchObject({ state: "checks", headSha: HEAD_2 });
    expect(await jobsOf(h)).toHaveLength(2);
    await h.close();
  });

  it("the gate passing twice for the same head (two suites) requests one review", async () => {
    const h = await createHarness(gh);
    await toChecks(h, gh, ghp, ghpr);
    await passGate(h, ghp, ghpr);

    // A second suite on the same head: the gate's state is `review` now; nothing is read.
    const before = gh.requests.length;
    await h.receive("check_suite", checkSuiteCompleted(HEAD_1));
    await h.drain();
    expect(gh.requests.length).toBe(before);
    expect((await taskOf(h)).state).toBe("review");
    await h.close();
  });
});

describe("the budget running out", () => {
  const gh = setupGitHubMock();
  const ghp = portMocks(gh);
  const ghpr = pullRequestMocks(gh);

  it("a revise request with every attempt spent blocks the task and says which limit", async () => {
    const config = "budget:\n  attempts: 1\n";
    const h = await createHarness(gh);
    await toChecks(h, gh, ghp, ghpr, config);
    ghp.file(REPO, ".github/kanbot.yml", config);
    ghp.permission(REPO, "bob", "write");
    taskEventMocks(ghp, { labels: [stateLabel("checks")], configRead: false });
    mirrorMocks(ghp, "checks", "blocked", { comment: /attempt budget spent: 1 of 1 jobs used/ });

    await h.receive("issue_comment", prComment("/kanbot rename the widget", "bob"));
    await h.drain();

    expect((await taskOf(h)).state).toBe("blocked");
    expect(await jobsOf(h)).toHaveLength(1);
    await h.close();
  });
});

describe("merged with merge.deleteBranch off", () => {
  const gh = setupGitHubMock();
  const ghp = portMocks(gh);
  const ghpr = pullRequestMocks(gh);

  it("the task is done and the branch is kept", async () => {
    const config = "merge:\n  deleteBranch: false\n";
    const h = await createHarness(gh);
    await toChecks(h, gh, ghp, ghpr, config);
    ghp.file(REPO, ".github/kanbot.yml", config);
    taskEventMocks(ghp, { labels: [stateLabel("checks")], configRead: false });
    mirrorMocks(ghp, "checks", "done", { comment: /merged/ });

    await h.receive("pull_request", pullRequestClosed(true));
    await h.drain();

    // No DELETE of the branch was asked for (the strict mock fails any request without a mock).
    expect((await taskOf(h)).state).toBe("done");
    await h.close();
  });
});

describe("the board follows the PR half", () => {
  const gh = setupGitHubMock();
  const ghp = portMocks(gh);
  const ghpr = pullRequestMocks(gh);

  it("Ready -> In progress -> In review -> Done", async () => {
    const config = "board:\n  project: 7\n";
    const board = fakeBoard({ owner: REPO.owner, number: 7 });
    const node = issueNodeId(issueRef(1));
    let boardRead = false;
    // The card is read where it is; its move is the card part of the one view write.
    const onBoard = (column: string) => {
      // The board is read once; later events take it from the cache of boards.
      if (!boardRead) ghp.project(board);
      boardRead = true;
      ghp.projectItem(board, node, { id: "PVTI_1", values: { Status: column } });
    };
    const moveTo = (option: string) => ({ board, itemId: "PVTI_1", option });
    const h = await createHarness(gh);

    onBoard("Backlog");
    await queueTask(h, gh, ghp, { config, card: moveTo("Ready") });
    onBoard("Ready");
    const lease = await claimStep(h, ghp, { config, card: moveTo("In progress") });
    // The job succeeded: checks is In progress too, where kanbot last put the card, so the
    // board is neither read nor written.
    await succeedStep(h, ghp, ghpr, lease, { headSha: HEAD_1, config });

    onBoard("In progress");
    await passGate(h, ghp, ghpr, { config, card: moveTo("In review") });
    expect((await taskOf(h)).state).toBe("review");

    onBoard("In review");
    ghp.file(REPO, ".github/kanbot.yml", config);
    taskEventMocks(ghp, { labels: [stateLabel("review")], configRead: false });
    mirrorMocks(ghp, "review", "done", { comment: /merged/, card: moveTo("Done") });
    ghpr.deleteBranch(REPO, "kanbot/1-add-a-widget");
    await h.receive("pull_request", pullRequestClosed(true));
    await h.drain();

    expect((await taskOf(h)).state).toBe("done");
    await h.close();
  });
});
