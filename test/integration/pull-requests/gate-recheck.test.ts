/**
 * The no-checks wait's periodic re-evaluation (docs/checks-gate.md, "No checks at all"): once a
 * minute `recheckGates()` records a `kanbot_gate.recheck` delivery for each task in `checks`
 * whose wait ended on its current head, and the handler (src/handlers/on-kanbot-gate.ts) decides
 * the gate again. The clock is moved by faking `Date` only; nothing here depends on real time.
 */
import { afterAll, afterEach, describe, expect, it, vi } from "vitest";
import { KANBOT_GATE_EVENT, type KanbotGatePayload } from "../../../src/inbox/internal-events.js";
import type { JsonValue } from "../../../src/store/index.js";
import { setupGitHubMock } from "../../helpers/github-mock.js";
import { portMocks } from "../../helpers/github-port-mocks.js";
import { pullRequestMocks } from "../../helpers/github-pr-mocks.js";
import {
  REPO,
  cleanupHarnessFolders,
  createHarness,
  type Harness,
} from "../../helpers/handler-harness.js";
import {
  HEAD_1,
  HEAD_2,
  PROGRESS_COMMENT_ID,
  PR_NODE_ID,
  PR_REF,
  checkRunCompleted,
  gateReads,
  gateWaitingComment,
  mirrorMocks,
  stateLabel,
  synchronize,
  taskEventMocks,
  taskOf,
  toChecks,
} from "../../helpers/handler-pull-requests.js";

afterAll(cleanupHarnessFolders);
afterEach(() => {
  vi.useRealTimers();
});

/** The pass path (`whenNone: pass`); the default `wait` is in no-checks-held.test.ts. */
const WAIT = "checks:\n  whenNone: pass\n  startDeadlineMinutes: 5\n";
const MINUTE = 60_000;

/** Moves the clock (`Date` only) to `minutes` after `start`. */
function clockAt(start: number, minutes: number): void {
  vi.useFakeTimers({ toFake: ["Date"] });
  vi.setSystemTime(start + minutes * MINUTE);
}

/** The gate re-evaluations recorded in the inbox. */
async function rechecks(h: Harness) {
  return (await h.store.listDeliveries()).filter(
    (delivery) => delivery.event === KANBOT_GATE_EVENT && delivery.action === "recheck",
  );
}

/** The end of the no-checks wait the gate last recorded for the task (ms), asserting its head. */
async function waitEnd(h: Harness, headSha: string): Promise<number> {
  const gate = (await taskOf(h)).gate;
  expect(gate?.headSha).toBe(headSha);
  expect(gate?.recheckAt).not.toBeNull();
  return gate?.recheckAt?.getTime() ?? 0;
}

/** The gate passes without checks on `sha`: ready for review, review requested, state review. */
function passWithoutChecksMocks(
  ghp: ReturnType<typeof portMocks>,
  ghpr: ReturnType<typeof pullRequestMocks>,
  sha: string,
): void {
  ghp.file(REPO, ".github/kanbot.yml", WAIT);
  gateReads(ghpr, sha, []);
  taskEventMocks(ghp, { labels: [stateLabel("checks")], configRead: false });
  ghpr.markReady(PR_NODE_ID);
  ghpr.requestReviewers(PR_REF, ["alice"]);
  mirrorMocks(ghp, "checks", "review", {
    comment: new RegExp(`No checks appeared on ${sha.slice(0, 7)} within 5 minutes`),
  });
}

describe("the no-checks wait's re-evaluation (recheckGates and kanbot_gate.recheck)", () => {
  const gh = setupGitHubMock();
  const ghp = portMocks(gh);
  const ghpr = pullRequestMocks(gh);

  it("no check appears: nothing before the wait ends, then one recheck passes the gate, saying so", async () => {
    const h = await createHarness(gh);
    const start = Date.now();
    await toChecks(h, gh, ghp, ghpr, WAIT);

    // The PR is open with no checks on its head: pending until the wait ends, nothing recorded.
    const task = await taskOf(h);
    expect(task).toMatchObject({ state: "checks", headSha: HEAD_1 });
    const until = await waitEnd(h, HEAD_1);
    expect(until).toBeGreaterThanOrEqual(start + 5 * MINUTE);
    expect(await h.runtime.internal.recheckGates()).toBe(0);
    clockAt(until, -1);
    expect(await h.runtime.internal.recheckGates()).toBe(0);
    expect(await rechecks(h)).toEqual([]);

    // The wait ended: one re-evaluation is recorded, once however often the sweep runs.
    clockAt(until, 1);
    expect(await h.runtime.internal.recheckGates()).toBe(1);
    expect(await h.runtime.internal.recheckGates()).toBe(0);
    const recorded = await rechecks(h);
    expect(recorded).toHaveLength(1);
    expect(recorded[0]).toMatchObject({
      status: "pending",
      payload: { action: "recheck", taskId: task.id, headSha: HEAD_1 },
    });
    expect((await taskOf(h)).state).toBe("checks");

    // Still no checks on the head: the gate passes without checks and the comment says so.
    passWithoutChecksMocks(ghp, ghpr, HEAD_1);
    await h.drain();

    expect((await taskOf(h)).state).toBe("review");
    expect(await h.store.getDelivery(recorded[0]?.deliveryId ?? "")).toMatchObject({
      status: "done",
    });
    expect((await h.store.getTask(task.id))?.gate).toMatchObject({
      verdict: "passed",
      headSha: HEAD_1,
    });

    // The task left `checks`: later sweeps record nothing (and the mock would refuse any call).
    clockAt(until, 30);
    expect(await h.runtime.internal.recheckGates()).toBe(0);
    expect(await rechecks(h)).toHaveLength(1);
    await h.close();
  });

  it("a check still running when the recheck fires: the gate stays pending, and the check decides", async () => {
    const h = await createHarness(gh);
    await toChecks(h, gh, ghp, ghpr, WAIT);
    const until = await waitEnd(h, HEAD_1);

    // A check run appeared during the wait (its event not worked yet) and is still running.
    clockAt(until, 1);
    expect(await h.runtime.internal.recheckGates()).toBe(1);
    ghp.file(REPO, ".github/kanbot.yml", WAIT);
    gateReads(ghpr, HEAD_1, [{ name: "test", status: "in_progress", app: "ci-app", appId: 4242 }]);
    // The comment no longer counts down the wait: it names the check it waits for.
    gateWaitingComment(ghp, HEAD_1, "waiting for test \\(in progress\\)\n");
    await h.drain();

    // Not passed, no label, no ready for review, no review request (the strict mock has none).
    const task = await taskOf(h);
    expect(task).toMatchObject({ state: "checks", headSha: HEAD_1 });
    expect((await h.store.getTask(task.id))?.gate).toMatchObject({
      verdict: "pending",
      recheckAt: null,
      reason: expect.stringMatching(/waiting for test \(in progress\)/),
    });
    // A check exists, so the no-checks wait is over for good: no more rechecks for this head.
    clockAt(until, 30);
    expect(await h.runtime.internal.recheckGates()).toBe(0);
    expect(await rechecks(h)).toHaveLength(1);

    // The check finishes green: the gate passes on it, not "without checks".
    ghp.file(REPO, ".github/kanbot.yml", WAIT);
    gateReads(ghpr, HEAD_1, [{ name: "test", conclusion: "success", app: "ci-app", appId: 4242 }]);
    taskEventMocks(ghp, { labels: [stateLabel("checks")], configRead: false });
    ghpr.markReady(PR_NODE_ID);
    ghpr.requestReviewers(PR_REF, ["alice"]);
    mirrorMocks(ghp, "checks", "review", {
      comment: /^(?![\s\S]*No checks appeared)[\s\S]*ready for review/,
    });
    await h.receive("check_run", checkRunCompleted(HEAD_1));
    await h.drain();

    expect((await taskOf(h)).state).toBe("review");
    expect((await h.store.getTask(task.id))?.gate).toMatchObject({ verdict: "passed" });
    await h.close();
  });

  it("a check that failed during the wait: the recheck starts a fix-checks job instead of passing", async () => {
    const h = await createHarness(gh);
    await toChecks(h, gh, ghp, ghpr, WAIT);
    const until = await waitEnd(h, HEAD_1);

    clockAt(until, 1);
    expect(await h.runtime.internal.recheckGates()).toBe(1);
    ghp.file(REPO, ".github/kanbot.yml", WAIT);
    gateReads(ghpr, HEAD_1, [
      {
        name: "test",
        conclusion: "failure",
        app: "ci-app",
        appId: 4242,
        output: { title: "1 test failed", summary: "widget.test.ts: expected 2, got 3" },
      },
    ]);
    taskEventMocks(ghp, { labels: [stateLabel("checks")], configRead: false });
    mirrorMocks(ghp, "checks", "queued", { labelKnown: true, comment: /Checks failed/ });
    await h.drain();

    const task = await taskOf(h);
    expect(task.state).toBe("queued");
    const jobs = await h.store.listJobs(task.id);
    expect(jobs.map((job) => job.kind)).toEqual(["implement", "fix-checks"]);
    expect(String(jobs[1]?.input)).toContain("expected 2, got 3");
    expect((await h.store.getTask(task.id))?.gate).toMatchObject({ verdict: "failed" });
    // The task is no longer in checks: nothing more to re-evaluate.
    clockAt(until, 30);
    expect(await h.runtime.internal.recheckGates()).toBe(0);
    await h.close();
  });

  it("a recheck for a head the task no longer has changes nothing; the new head's wait runs from its push", async () => {
    const h = await createHarness(gh);
    const start = Date.now();
    await toChecks(h, gh, ghp, ghpr, WAIT);
    const task = await taskOf(h);
    const firstUntil = await waitEnd(h, HEAD_1);
    const firstGate = (await h.store.getTask(task.id))?.gate;

    // Three minutes in, a person pushes HEAD_2: the gate waits on HEAD_2 from now.
    clockAt(start, 3);
    taskEventMocks(ghp, { labels: [stateLabel("checks")], config: WAIT });
    ghp.updateComment(REPO, PROGRESS_COMMENT_ID, { issueNumber: 1, body: /A person pushed/ });
    await h.receive("pull_request", synchronize(HEAD_2));
    await h.drain();
    expect(await taskOf(h)).toMatchObject({ state: "checks", headSha: HEAD_2 });
    const secondUntil = await waitEnd(h, HEAD_2);
    expect(secondUntil).toBeGreaterThan(firstUntil);

    // HEAD_1's wait ended, HEAD_2's has not: the sweep records nothing.
    clockAt(firstUntil, 1);
    expect(Date.now()).toBeLessThan(secondUntil);
    expect(await h.runtime.internal.recheckGates()).toBe(0);
    expect(await rechecks(h)).toEqual([]);

    // A recheck of HEAD_1 recorded anyway (by a sweep that read the task just before the push
    // was worked) is dropped: no GitHub call, no state change, the new head's wait untouched.
    const payload: KanbotGatePayload = {
      action: "recheck",
      taskId: task.id,
      headSha: HEAD_1,
      repository: { full_name: `${REPO.owner}/${REPO.repo}` },
      installation: { id: task.installationId },
    };
    const staleId = `kanbot-gate-${task.id}-${HEAD_1}-${firstGate?.recheckAt?.toISOString() ?? ""}`;
    await h.store.recordDelivery({
      deliveryId: staleId,
      event: KANBOT_GATE_EVENT,
      action: "recheck",
      installationId: task.installationId,
      payload: JSON.parse(JSON.stringify(payload)) as JsonValue,
      orderingKey: `${REPO.owner}/${REPO.repo}#1`,
    });
    const requests = gh.requests.length;
    await h.drain();
    expect(gh.requests.length).toBe(requests);
    expect(await h.store.getDelivery(staleId)).toMatchObject({ status: "done" });
    expect(await taskOf(h)).toMatchObject({ state: "checks", headSha: HEAD_2 });
    expect(await waitEnd(h, HEAD_2)).toBe(secondUntil);

    // HEAD_2's own wait ends: its recheck passes the gate on HEAD_2.
    clockAt(secondUntil, 1);
    expect(await h.runtime.internal.recheckGates()).toBe(1);
    expect((await rechecks(h)).map((delivery) => delivery.payload)).toContainEqual(
      expect.objectContaining({ headSha: HEAD_2 }),
    );
    passWithoutChecksMocks(ghp, ghpr, HEAD_2);
    await h.drain();
    expect((await taskOf(h)).state).toBe("review");
    await h.close();
  });
});
