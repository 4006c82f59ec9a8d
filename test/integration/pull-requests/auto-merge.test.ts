import { afterAll, afterEach, describe, expect, it, vi } from "vitest";
import { setupGitHubMock } from "../../helpers/github-mock.js";
import { portMocks } from "../../helpers/github-port-mocks.js";
import { pullRequestMocks, type ReviewSpec } from "../../helpers/github-pr-mocks.js";
import { REPO, cleanupHarnessFolders, createHarness } from "../../helpers/handler-harness.js";
import {
  HEAD_1,
  HEAD_2,
  PR_REF,
  PROGRESS_COMMENT_ID,
  TASK_BRANCH,
  passGate,
  reviewSubmitted,
  taskOf,
  toChecks,
} from "../../helpers/handler-pull-requests.js";

afterAll(cleanupHarnessFolders);
afterEach(() => {
  vi.useRealTimers();
});

const AUTO = "merge:\n  auto: true\n";

function approvedBy(author: string, commitId: string | null = HEAD_1): ReviewSpec {
  return { id: 80, author, state: "APPROVED", commitId };
}

type Harness = Awaited<ReturnType<typeof createHarness>>;

describe("auto-merge (merge.auto, off by default)", () => {
  const gh = setupGitHubMock();
  const ghp = portMocks(gh);
  const ghpr = pullRequestMocks(gh);

  /** The PR as GitHub has it once the gate passed: ready, head HEAD_1. */
  function openPr(mergeable: boolean | null = true) {
    ghpr.pullRequest(PR_REF, {
      head: TASK_BRANCH,
      headSha: HEAD_1,
      draft: false,
      mergeable,
      mergeableState: mergeable === null ? "unknown" : mergeable ? "clean" : "dirty",
    });
  }

  /** Gate passes on HEAD_1 with no approval yet: auto-merge looks and waits, saying nothing. */
  async function toReviewWithoutApproval(h: Harness) {
    await toChecks(h, gh, ghp, ghpr, AUTO);
    await passGate(h, ghp, ghpr, {
      config: AUTO,
      afterPass: () => {
        openPr();
        ghpr.reviews(PR_REF, []);
      },
    });
    expect((await taskOf(h)).state).toBe("review");
  }

  /** A harness whose task is in review on HEAD_1, not approved yet. */
  async function inReview(options?: Parameters<typeof createHarness>[1]) {
    const h = await createHarness(gh, options);
    await toReviewWithoutApproval(h);
    return h;
  }

  /** What an approval reads: the config, the PR (mergeable as given) and its reviews. */
  function approvalReads(reviews: ReviewSpec[], mergeable: boolean | null = true) {
    ghp.file(REPO, ".github/kanbot.yml", AUTO);
    openPr(mergeable);
    ghpr.reviews(PR_REF, reviews);
  }

  /** The progress comment's update, its body matching `body`. */
  function progressSays(body: RegExp) {
    ghp.updateComment(REPO, PROGRESS_COMMENT_ID, { issueNumber: 1, body });
  }

  /** `reviewer` approves (review `id` if given); the handlers run. */
  async function approve(h: Harness, reviewer: string, id?: number) {
    await h.receive(
      "pull_request_review",
      reviewSubmitted("approved", id === undefined ? { reviewer } : { reviewer, id }),
    );
    await h.drain();
  }

  it("an approval by someone other than the starter merges the green PR at its head", async () => {
    const h = await inReview();

    approvalReads([approvedBy("bob")]);
    ghp.permission(REPO, "bob", "write");
    ghpr.merge(PR_REF, { method: "squash", sha: HEAD_1 }, { merged: HEAD_2 });
    // Mentions are defused in the progress comment (`@&#8203;bob`).
    progressSays(/Auto-merged[^\n]*squash[^\n]*green and approved by @&#8203;bob/);
    await approve(h, "bob");

    // The merge event (pull_request.closed, merged) makes the task done; until then: review.
    expect((await taskOf(h)).state).toBe("review");
    await h.close();
  });

  it("an approval by the person who started the task does not merge, and says why", async () => {
    const h = await inReview();

    approvalReads([approvedBy("alice")]);
    progressSays(
      /Auto-merge not done: no approval on the head by someone other than the person who started the task/,
    );
    await approve(h, "alice");

    expect((await taskOf(h)).state).toBe("review");
    await h.close();
  });

  it("an approval of an older head does not count", async () => {
    const h = await inReview();

    approvalReads([approvedBy("bob", HEAD_2)]);
    progressSays(/no approval on the head/);
    await approve(h, "bob");
    await h.close();
  });

  it("an approval before the checks passed merges when the gate passes", async () => {
    const h = await createHarness(gh);
    await toChecks(h, gh, ghp, ghpr, AUTO);

    // Approved while the checks run: nothing yet (the task is not in review).
    ghp.file(REPO, ".github/kanbot.yml", AUTO);
    await approve(h, "bob");
    expect((await taskOf(h)).state).toBe("checks");

    await passGate(h, ghp, ghpr, {
      config: AUTO,
      afterPass: () => {
        openPr();
        ghpr.reviews(PR_REF, [approvedBy("bob")]);
        ghp.permission(REPO, "bob", "write");
        ghpr.merge(PR_REF, { method: "squash", sha: HEAD_1 }, { merged: HEAD_2 });
        progressSays(/Auto-merged/);
      },
    });
    expect((await taskOf(h)).state).toBe("review");
    await h.close();
  });

  it("the gate passing while GitHub still computes mergeability records a re-check", async () => {
    const h = await createHarness(gh);
    await toChecks(h, gh, ghp, ghpr, AUTO);
    await passGate(h, ghp, ghpr, {
      config: AUTO,
      afterPass: () => {
        openPr(null);
        ghpr.reviews(PR_REF, [approvedBy("bob")]);
        // The re-check runs at once in the same drain: still computing.
        approvalReads([approvedBy("bob")], null);
      },
    });

    const task = await taskOf(h);
    expect(task.state).toBe("review");
    expect(
      await h.store.getDelivery(`kanbot-mergeable-${task.id}-${HEAD_1}-auto-merge-gate-passed`),
    ).toMatchObject({ status: "pending", attempts: 1 });
    await h.close();
  });

  it("GitHub refusing the merge (405) is reported on the progress comment", async () => {
    const h = await inReview();

    approvalReads([approvedBy("bob")]);
    ghp.permission(REPO, "bob", "write");
    ghpr.merge(
      PR_REF,
      { method: "squash", sha: HEAD_1 },
      { status: 405, message: 'Required status check "security" is expected.' },
    );
    progressSays(/Auto-merge refused by GitHub: Required status check[^\n]*security/);
    await approve(h, "bob");

    expect((await taskOf(h)).state).toBe("review");
    await h.close();
  });

  it("an approver below the required permission does not count", async () => {
    const h = await inReview();

    approvalReads([approvedBy("mallory")]);
    ghp.permission(REPO, "mallory", "read");
    progressSays(/no approval by someone with write permission/);
    await approve(h, "mallory");
    await h.close();
  });

  it("off by default: an approval reads the config and does nothing else", async () => {
    const h = await createHarness(gh);
    await toChecks(h, gh, ghp, ghpr);
    await passGate(h, ghp, ghpr);

    ghp.file(REPO, ".github/kanbot.yml", null);
    await approve(h, "bob");

    expect((await taskOf(h)).state).toBe("review");
    await h.close();
  });

  it("mergeability still being computed: asked again through the inbox, then merged", async () => {
    const h = await inReview();

    // 1. GitHub has not computed mergeability yet: a re-check is recorded and tried at once,
    //    still unknown, so the inbox will retry it later.
    approvalReads([approvedBy("bob")], null);
    approvalReads([approvedBy("bob")], null);
    await approve(h, "bob", 81);

    const task = await taskOf(h);
    const id = `kanbot-mergeable-${task.id}-${HEAD_1}-auto-merge-review-81`;
    expect(await h.store.getDelivery(id)).toMatchObject({
      status: "pending",
      attempts: 1,
      lastError: expect.stringMatching(/still computing/),
    });

    // 2. After the inbox's backoff GitHub knows: merged.
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(Date.now() + 10 * 60_000);
    approvalReads([approvedBy("bob")]);
    ghp.permission(REPO, "bob", "write");
    ghpr.merge(PR_REF, { method: "squash", sha: HEAD_1 }, { merged: HEAD_2 });
    progressSays(/Auto-merged/);
    await h.drain();

    expect(await h.store.getDelivery(id)).toMatchObject({ status: "done", attempts: 2 });
    await h.close();
  });

  it("mergeability never computed: the inbox's last attempt says so on the progress comment", async () => {
    const h = await inReview({ deliveryMaxAttempts: 2 });

    // 1. Unknown when bob approves, and at the re-check's first attempt.
    for (let read = 0; read < 2; read++) {
      approvalReads([approvedBy("bob")], null);
    }
    await approve(h, "bob", 81);
    const task = await taskOf(h);
    const id = `kanbot-mergeable-${task.id}-${HEAD_1}-auto-merge-review-81`;
    expect(await h.store.getDelivery(id)).toMatchObject({ status: "pending", attempts: 1 });

    // 2. Still unknown at the last attempt: no merge, and the maintainer is told what to do.
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(Date.now() + 10 * 60_000);
    approvalReads([approvedBy("bob")], null);
    progressSays(
      /GitHub never finished computing whether pull request \\#7 merges cleanly, though kanbot asked 3 times, so auto-merge was not done\. Merge it by hand once GitHub shows it can be merged, or approve it again/,
    );
    await h.drain();

    expect(await h.store.getDelivery(id)).toMatchObject({ status: "done" });
    expect((await taskOf(h)).state).toBe("review");
    await h.close();
  });
});
