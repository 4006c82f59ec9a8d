import { afterAll, describe, expect, it } from "vitest";
import { setupGitHubMock } from "../../helpers/github-mock.js";
import { portMocks } from "../../helpers/github-port-mocks.js";
import { pullRequestMocks } from "../../helpers/github-pr-mocks.js";
import { webhookExample } from "../../helpers/github-webhooks.js";
import { REPO, cleanupHarnessFolders, createHarness } from "../../helpers/handler-harness.js";
import {
  HEAD_1,
  HEAD_2,
  PR_NODE_ID,
  PR_NUMBER,
  PR_REF,
  TASK_BRANCH,
  claimStep,
  gateReads,
  mirrorMocks,
  queueTask,
  stateLabel,
  succeedStep,
  taskEventMocks,
  taskOf,
  toChecks,
} from "../../helpers/handler-pull-requests.js";
import type { WebhookPayload } from "../../helpers/probot.js";

afterAll(cleanupHarnessFolders);

const TWO_ATTEMPTS = "budget:\n  attempts: 2\n";

function checkSuiteCompleted(sha: string): WebhookPayload<"check_suite"> {
  const payload = webhookExample("check_suite", "completed") as unknown as {
    check_suite: { head_sha: string };
    sender: { login: string };
  };
  payload.check_suite.head_sha = sha;
  payload.sender.login = "ci-app[bot]";
  return payload as unknown as WebhookPayload<"check_suite">;
}

function failingTest(sha: string) {
  return {
    name: "test",
    conclusion: "failure" as const,
    app: "ci-app",
    appId: 4242,
    output: { title: "1 test failed", summary: `widget.test.ts: expected 2, got 3 on ${sha}` },
  };
}

describe("failing checks, failed jobs, reviews and conflicts", () => {
  const gh = setupGitHubMock();
  const ghp = portMocks(gh);
  const ghpr = pullRequestMocks(gh);

  it("a failing check starts a fix-checks job with the fix bundle; when the attempts are spent the task is blocked", async () => {
    const h = await createHarness(gh);
    await toChecks(h, gh, ghp, ghpr, TWO_ATTEMPTS);

    // 1. The check fails on the head: a fix-checks job (attempt 2 of 2).
    ghp.file(REPO, ".github/kanbot.yml", TWO_ATTEMPTS);
    gateReads(ghpr, HEAD_1, [failingTest(HEAD_1)]);
    taskEventMocks(ghp, { labels: [stateLabel("checks")], configRead: false });
    mirrorMocks(ghp, "checks", "queued", { labelKnown: true, comment: /Checks failed/ });
    await h.receive("check_suite", checkSuiteCompleted(HEAD_1));
    await h.drain();

    const task = await taskOf(h);
    const jobs = await h.store.listJobs(task.id);
    expect(task.state).toBe("queued");
    expect(jobs.map((job) => job.kind)).toEqual(["implement", "fix-checks"]);
    expect(String(jobs[1]?.input)).toContain("1 test failed");
    expect(String(jobs[1]?.input)).toContain("expected 2, got 3");

    // 2. The same suite delivered again while the job is queued changes nothing (the gate reads
    // the checks again, the machine ignores a failure while a job is pending).
    ghp.file(REPO, ".github/kanbot.yml", TWO_ATTEMPTS);
    gateReads(ghpr, HEAD_1, [failingTest(HEAD_1)]);
    taskEventMocks(ghp, { labels: [stateLabel("queued")], configRead: false });
    await h.receive("check_suite", checkSuiteCompleted(HEAD_1));
    await h.drain();
    expect(await h.store.listJobs(task.id)).toHaveLength(2);

    // 3. The fix pushes HEAD_2 (PR updated, kanbot check run on HEAD_2); its check fails too.
    const lease = await claimStep(h, ghp, { labelKnown: true, config: TWO_ATTEMPTS });
    await succeedStep(h, ghp, ghpr, lease, {
      headSha: HEAD_2,
      followUp: true,
      labelKnown: true,
      checkRunId: 5002,
      config: TWO_ATTEMPTS,
    });
    expect((await taskOf(h)).headSha).toBe(HEAD_2);
    ghp.file(REPO, ".github/kanbot.yml", TWO_ATTEMPTS);
    gateReads(ghpr, HEAD_2, [failingTest(HEAD_2)]);
    taskEventMocks(ghp, { labels: [stateLabel("checks")], configRead: false });
    mirrorMocks(ghp, "checks", "blocked", { comment: /expected 2, got 3/ });
    await h.receive("check_suite", checkSuiteCompleted(HEAD_2));
    await h.drain();

    expect((await taskOf(h)).state).toBe("blocked");
    expect(await h.store.listJobs(task.id)).toHaveLength(2);
    await h.close();
  });

  it("a failed job is retried with backoff while the budget allows", async () => {
    const h = await createHarness(gh);
    await queueTask(h, gh, ghp);
    const lease = await claimStep(h, ghp);
    taskEventMocks(ghp, { labels: [stateLabel("running")] });
    mirrorMocks(ghp, "running", "queued", {
      labelKnown: true,
      comment: /failed: npm test failed/,
    });

    const failed = await h.store.completeJob(lease.job.id, lease.leaseToken, {
      status: "failed",
      error: "npm test failed\nTypeError: widget is undefined",
    });
    await h.runtime.internal.jobFinished(failed);
    await h.drain();

    const task = await taskOf(h);
    const jobs = await h.store.listJobs(task.id);
    expect(task.state).toBe("queued");
    expect(jobs[1]?.kind).toBe("implement");
    expect(jobs[1]?.notBefore.getTime()).toBeGreaterThan(jobs[1]?.enqueuedAt.getTime() ?? 0);
    // The first retry waits the documented first backoff step (1 minute), not two steps: the
    // failed job is counted once. The wait is computed from the app's clock just before the
    // insert, so it is at most 60 s after the enqueue time.
    const wait = (jobs[1]?.notBefore.getTime() ?? 0) - (jobs[1]?.enqueuedAt.getTime() ?? 0);
    expect(wait).toBeGreaterThan(50_000);
    expect(wait).toBeLessThanOrEqual(60_000);
    await h.close();
  });

  it("a failed job with the budget spent blocks the task with the agent's real error text", async () => {
    const config = "budget:\n  attempts: 1\n";
    const h = await createHarness(gh);
    await queueTask(h, gh, ghp, { config });
    const lease = await claimStep(h, ghp, { config });
    taskEventMocks(ghp, { labels: [stateLabel("running")], config });
    mirrorMocks(ghp, "running", "blocked", { comment: /TypeError: widget is undefined/ });

    const failed = await h.store.completeJob(lease.job.id, lease.leaseToken, {
      status: "failed",
      error: "npm test failed\nTypeError: widget is undefined",
    });
    await h.runtime.internal.jobFinished(failed);
    await h.drain();

    expect((await taskOf(h)).state).toBe("blocked");
    expect(await h.store.listJobs((await taskOf(h)).id)).toHaveLength(1);
    await h.close();
  });

  it("changes requested by a writer start a revise job with the review body and line comments", async () => {
    const h = await createHarness(gh);
    await toChecks(h, gh, ghp, ghpr);
    const payload = webhookExample("pull_request_review", "submitted") as unknown as {
      review: { id: number; state: string; body: string; user: { login: string } };
      pull_request: { number: number };
      sender: { login: string };
    };
    payload.review.state = "changes_requested";
    payload.review.body = "Please rename the widget.";
    payload.review.user.login = "bob";
    payload.sender.login = "bob";
    payload.pull_request.number = PR_NUMBER;
    ghp.file(REPO, ".github/kanbot.yml", null);
    ghp.permission(REPO, "bob", "write");
    ghpr.reviewComments(PR_REF, payload.review.id, [
      { id: 1, path: "src/widget.ts", line: 3, body: "Call it Gadget here", author: "bob" },
    ]);
    taskEventMocks(ghp, { labels: [stateLabel("checks")], configRead: false });
    mirrorMocks(ghp, "checks", "queued", { labelKnown: true, comment: /requested changes/ });

    await h.receive(
      "pull_request_review",
      payload as unknown as WebhookPayload<"pull_request_review">,
    );
    await h.drain();

    const jobs = await h.store.listJobs((await taskOf(h)).id);
    expect(jobs[1]?.kind).toBe("revise");
    expect(String(jobs[1]?.input)).toContain("Please rename the widget.");
    expect(String(jobs[1]?.input)).toContain("src/widget.ts");
    expect(String(jobs[1]?.input)).toContain("Call it Gadget here");
    await h.close();
  });

  it("a push to the base that makes the PR conflict starts a rebase job", async () => {
    const h = await createHarness(gh);
    await toChecks(h, gh, ghp, ghpr);
    const payload = webhookExample("push") as unknown as {
      ref: string;
      deleted: boolean;
      repository: { default_branch: string };
      sender: { login: string };
    };
    payload.ref = "refs/heads/main";
    payload.deleted = false;
    payload.repository.default_branch = "main";
    payload.sender.login = "octocat";
    ghpr.pullRequest(PR_REF, {
      head: TASK_BRANCH,
      headSha: HEAD_1,
      draft: true,
      mergeable: false,
      mergeableState: "dirty",
    });
    taskEventMocks(ghp, { labels: [stateLabel("checks")] });
    mirrorMocks(ghp, "checks", "queued", { labelKnown: true, comment: /conflicts/ });

    await h.receive("push", payload as unknown as WebhookPayload<"push">);
    await h.drain();

    const jobs = await h.store.listJobs((await taskOf(h)).id);
    expect(jobs.map((job) => job.kind)).toEqual(["implement", "rebase"]);
    await h.close();
  });

  it("no checks at all after the configured wait, with whenNone: pass: the gate passes, saying so", async () => {
    const config = "checks:\n  whenNone: pass\n  startDeadlineMinutes: 0\n";
    const h = await createHarness(gh);
    await queueTask(h, gh, ghp, { config });
    const lease = await claimStep(h, ghp, { config });
    // The gate looks at the head as soon as the job's PR is open; with no wait it passes then.
    // (Declared after the trigger: the review label's `ensureLabels` listing must not answer the
    // trigger's read of the label node ids.)
    ghpr.markReady(PR_NODE_ID);
    ghpr.requestReviewers(PR_REF, ["alice"]);
    mirrorMocks(ghp, "checks", "review", { comment: /No checks appeared/ });
    await succeedStep(h, ghp, ghpr, lease, { headSha: HEAD_1, config, waiting: false });

    expect((await taskOf(h)).state).toBe("review");
    expect(await h.runtime.internal.recheckGates()).toBe(0);
    await h.close();
  });
});
