/**
 * KANBOT_DRY_RUN for the PR half: GitHub is read as usual, every write (the PR, the `kanbot`
 * check run, ready for review, review requests, merges, branch deletion, labels, comments) is
 * logged instead of made, and the task still moves through its states in the store.
 */
import { afterAll, describe, expect, it } from "vitest";
import { setupGitHubMock } from "../../helpers/github-mock.js";
import { portMocks } from "../../helpers/github-port-mocks.js";
import { pullRequestMocks } from "../../helpers/github-pr-mocks.js";
import {
  REPO,
  appIdentity,
  capturingLogger,
  cleanupHarnessFolders,
  createHarness,
  issueRef,
  labeledPayload,
} from "../../helpers/handler-harness.js";
import {
  HEAD_1,
  ISSUE_BODY,
  checkSuiteCompleted,
  gateReads,
  stateLabel,
  successResult,
  taskOf,
} from "../../helpers/handler-pull-requests.js";

afterAll(cleanupHarnessFolders);

describe("dry run (KANBOT_DRY_RUN) for pull requests", () => {
  const gh = setupGitHubMock();
  const ghp = portMocks(gh);
  const ghpr = pullRequestMocks(gh);

  it("reads GitHub but writes nothing: no PR, no check run, no ready-for-review, no review request", async () => {
    const { log, lines } = capturingLogger();
    const h = await createHarness(gh, { dryRun: true, log });
    const issue = (labels: string[]) =>
      ghp.issue(issueRef(1), { labels, title: "Add a widget", body: ISSUE_BODY });

    // 1. Trigger: reads only.
    appIdentity(gh);
    ghp.installationToken();
    ghp.file(REPO, ".github/kanbot.yml", null);
    ghp.permission(REPO, "alice", "write");
    ghp.blockedBy(issueRef(1), []);
    ghp.subIssues(issueRef(1), []);
    ghp.comments(issueRef(1), []);
    // The label node ids for the one-request view write (itself skipped): a read.
    ghp.labelNodeIds(REPO);
    // The issue is the payload's (fresh): not read again.
    await h.receive("issues", labeledPayload({ body: ISSUE_BODY }));
    await h.drain();
    expect((await taskOf(h)).state).toBe("queued");

    // 2. Claimed, then succeeded with HEAD_1: the PR and the check run are skipped, the gate
    //    reads the head's checks (none yet).
    ghp.file(REPO, ".github/kanbot.yml", null);
    issue([stateLabel("queued")]);
    const claimed = await h.store.claimJob(
      { runnerId: "runner-1", agents: ["claude"], labels: [], repos: [] },
      60_000,
    );
    if (claimed === undefined) throw new Error("no job");
    await h.runtime.internal.jobClaimed(claimed.job);
    await h.drain();
    expect((await taskOf(h)).state).toBe("running");

    ghp.file(REPO, ".github/kanbot.yml", null);
    issue([stateLabel("running")]);
    ghp.defaultBranch(REPO, "main");
    gateReads(ghpr, HEAD_1, []);
    const finished = await h.store.completeJob(claimed.job.id, claimed.leaseToken, {
      status: "succeeded",
      result: successResult(HEAD_1),
    });
    await h.runtime.internal.jobFinished(finished);
    await h.drain();
    expect(await taskOf(h)).toMatchObject({ state: "checks", headSha: HEAD_1 });

    // 3. The checks pass: ready for review and the review request are skipped too.
    ghp.file(REPO, ".github/kanbot.yml", null);
    gateReads(ghpr, HEAD_1, [{ name: "test", conclusion: "success" }]);
    issue([stateLabel("checks")]);
    await h.receive("check_suite", checkSuiteCompleted(HEAD_1));
    await h.drain();
    expect((await taskOf(h)).state).toBe("review");

    const skipped = lines
      .filter((line) => line.msg === "dry run: GitHub write skipped")
      .map((line) => line.call);
    expect(skipped).toEqual(
      expect.arrayContaining([
        "createDraftPullRequest",
        "createCheckRun",
        "markReadyForReview",
        "requestReviewers",
        // The state labels and the comment's edit in one request (coalesced view writes).
        "writeIssueView",
        "createComment",
        "updateComment",
      ]),
    );
    // Every request was a read.
    expect(
      gh.requests.filter((request) => request.method !== "GET").map((request) => request.url),
    ).toEqual([expect.stringMatching(/\/access_tokens$/)]);
    await h.close();
  });
});
