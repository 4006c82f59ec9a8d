/**
 * No checks is not green (issue 14 part 6, docs/checks-gate.md "No checks at all"): with the
 * default `checks.whenNone: wait`, a PR on whose head no check ran by the start deadline stays a
 * draft, the progress comment says so and how to make CI run on kanbot's branches, and the task
 * stays in `checks` with no further recheck, until a check runs (judged as usual) or a
 * maintainer says `/kanbot ready`. The strict GitHub mock refuses any call not declared: no
 * "ready for review", no review request, no label change unless a test declares it. The clock
 * is moved by faking `Date` only.
 */
import { afterAll, afterEach, describe, expect, it, vi } from "vitest";
import { KANBOT_GATE_EVENT } from "../../../src/inbox/internal-events.js";
import { setupGitHubMock, type GitHubMock } from "../../helpers/github-mock.js";
import { portMocks, type GitHubPortMocks } from "../../helpers/github-port-mocks.js";
import { pullRequestMocks, type PullRequestPortMocks } from "../../helpers/github-pr-mocks.js";
import {
  REPO,
  cleanupHarnessFolders,
  createHarness,
  type Harness,
} from "../../helpers/handler-harness.js";
import {
  HEAD_1,
  PR_NODE_ID,
  PR_REF,
  checkRunCompleted,
  gateReads,
  gateWaitingComment,
  mirrorMocks,
  prComment,
  stateLabel,
  taskEventMocks,
  taskOf,
  toChecks,
} from "../../helpers/handler-pull-requests.js";

afterAll(cleanupHarnessFolders);
afterEach(() => {
  vi.useRealTimers();
});

const MINUTE = 60_000;

/** The line the progress comment shows once no check ran (markdown-escaped, as written). */
const HELD =
  "no check ran on the head within 10 minutes, so the PR stays a draft. " +
  "To have CI check kanbot's branches \\(kanbot/…\\), run a workflow on pull\\_request " +
  "\\(its branches filter, if any, must include the base branch, main\\) or on push with " +
  'branches: \\["kanbot/\\*\\*"\\]; a check that runs on the PR\'s head then decides the gate. ' +
  "Or comment /kanbot ready to mark the PR ready for review without checks.";

/** Moves the clock (`Date` only) to `minutes` after `start`. */
function clockAt(start: number, minutes: number): void {
  vi.useFakeTimers({ toFake: ["Date"] });
  vi.setSystemTime(start + minutes * MINUTE);
}

/** The "mark ready for review" mutations made so far (the strict mock refuses undeclared ones). */
function markReadyCalls(gh: GitHubMock): number {
  return gh.requests.filter((request) => request.operationName === "MarkPullRequestReady").length;
}

/**
 * A task whose PR has no check on its head, with the default config (no `.github/kanbot.yml`),
 * taken past the 10-minute start deadline: the sweep records one recheck, and the gate holds the
 * PR as a draft and says why on the progress comment.
 */
async function heldWithoutChecks(
  h: Harness,
  gh: GitHubMock,
  ghp: GitHubPortMocks,
  ghpr: PullRequestPortMocks,
): Promise<void> {
  await toChecks(h, gh, ghp, ghpr);
  const until = (await taskOf(h)).gate?.recheckAt?.getTime() ?? 0;
  expect(until).toBeGreaterThan(0);
  clockAt(until, 1);
  expect(await h.runtime.internal.recheckGates()).toBe(1);
  ghp.file(REPO, ".github/kanbot.yml", null);
  gateReads(ghpr, HEAD_1, []);
  gateWaitingComment(ghp, HEAD_1, HELD);
  await h.drain();
}

describe("checks.whenNone: wait (the default): no checks holds the PR as a draft", () => {
  const gh = setupGitHubMock();
  const ghp = portMocks(gh);
  const ghpr = pullRequestMocks(gh);

  it("after the deadline: still checks, still a draft, the comment says why; no more rechecks", async () => {
    const h = await createHarness(gh);

    await heldWithoutChecks(h, gh, ghp, ghpr);

    const task = await taskOf(h);
    expect(task.state).toBe("checks");
    expect(task.gate).toMatchObject({
      headSha: HEAD_1,
      verdict: "pending",
      noChecks: false,
      recheckAt: null,
      reason: "no check ran on the head within 10 minutes; waiting for a check or /kanbot ready",
    });
    expect(task.gate?.waiting).toMatch(
      /^no check ran on the head within 10 minutes, so the PR stays a draft\./,
    );
    expect(markReadyCalls(gh)).toBe(0);
    // The hold sets no timer: later sweeps record nothing (and make no GitHub call).
    const requests = gh.requests.length;
    clockAt(Date.now(), 600);
    expect(await h.runtime.internal.recheckGates()).toBe(0);
    const rechecks = (await h.store.listDeliveries()).filter(
      (delivery) => delivery.event === KANBOT_GATE_EVENT && delivery.action === "recheck",
    );
    expect(rechecks).toHaveLength(1);
    expect(gh.requests.length).toBe(requests);
    await h.close();
  });

  it("a check that runs after the deadline decides the gate as usual: ready for review", async () => {
    const h = await createHarness(gh);
    await heldWithoutChecks(h, gh, ghp, ghpr);

    ghp.file(REPO, ".github/kanbot.yml", null);
    gateReads(ghpr, HEAD_1, [{ name: "test", conclusion: "success", app: "ci-app", appId: 4242 }]);
    taskEventMocks(ghp, { labels: [stateLabel("checks")], configRead: false });
    ghpr.markReady(PR_NODE_ID);
    ghpr.requestReviewers(PR_REF, ["alice"]);
    mirrorMocks(ghp, "checks", "review", {
      comment: /^(?![\s\S]*(without checks|no check ran))[\s\S]*ready for review/,
    });
    await h.receive("check_run", checkRunCompleted(HEAD_1));
    await h.drain();

    expect((await taskOf(h)).state).toBe("review");
    expect((await taskOf(h)).gate).toMatchObject({ verdict: "passed", noChecks: false });
    await h.close();
  });

  it("/kanbot ready by a writer on the PR: ready for review without checks, said so (noChecks: auto-merge never merges it)", async () => {
    const h = await createHarness(gh);
    await heldWithoutChecks(h, gh, ghp, ghpr);

    ghp.file(REPO, ".github/kanbot.yml", null);
    ghp.permission(REPO, "bob", "write");
    taskEventMocks(ghp, { labels: [stateLabel("checks")], configRead: false });
    gateReads(ghpr, HEAD_1, []);
    ghpr.markReady(PR_NODE_ID);
    ghpr.requestReviewers(PR_REF, ["alice"]);
    mirrorMocks(ghp, "checks", "review", {
      comment:
        /bob said \/kanbot ready: no check ran on [0-9a-f]{7}, so the gate passed without checks/,
    });
    await h.receive("issue_comment", prComment("/kanbot ready", "bob"));
    await h.drain();

    const task = await taskOf(h);
    expect(task.state).toBe("review");
    expect(task.gate).toMatchObject({
      verdict: "passed",
      noChecks: true,
      reason: "passed with no checks: @bob said /kanbot ready",
    });
    expect(markReadyCalls(gh)).toBe(1);
    await h.close();
  });

  it("/kanbot ready by someone below the permission: one reply, still a draft", async () => {
    const h = await createHarness(gh);
    await heldWithoutChecks(h, gh, ghp, ghpr);

    ghp.file(REPO, ".github/kanbot.yml", null);
    ghp.permission(REPO, "mallory", "read");
    ghp.createComment(PR_REF, {
      body: /@mallory kanbot did nothing: .*may mark a kanbot pull request ready without checks/,
    });
    await h.receive("issue_comment", prComment("/kanbot ready", "mallory"));
    await h.drain();

    expect((await taskOf(h)).state).toBe("checks");
    expect(markReadyCalls(gh)).toBe(0);
    await h.close();
  });

  it("/kanbot ready while a check runs on the head: the check decides, and the reply says so", async () => {
    const h = await createHarness(gh);
    await heldWithoutChecks(h, gh, ghp, ghpr);

    ghp.file(REPO, ".github/kanbot.yml", null);
    ghp.permission(REPO, "bob", "write");
    taskEventMocks(ghp, { labels: [stateLabel("checks")], configRead: false });
    gateReads(ghpr, HEAD_1, [{ name: "test", status: "in_progress", app: "ci-app", appId: 4242 }]);
    gateWaitingComment(ghp, HEAD_1, "waiting for test \\(in progress\\)\n");
    ghp.createComment(PR_REF, {
      body: /@bob kanbot did nothing: the gate on [0-9a-f]{7} says "waiting for test \(in progress\)"; `\/kanbot ready` passes only a head with no check on it/,
    });
    await h.receive("issue_comment", prComment("/kanbot ready", "bob"));
    await h.drain();

    expect((await taskOf(h)).state).toBe("checks");
    expect(markReadyCalls(gh)).toBe(0);
    await h.close();
  });
});
