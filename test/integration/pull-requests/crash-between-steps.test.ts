/**
 * The app dies between any two steps of applying an event (issue 12): a job's success (the task
 * goes running -> checks; the outbox opens the PR, marks the gate to judge, and shows the issue's
 * view). At each point the loop passes (src/tasks/fault-points.ts) the fault hook throws as if the
 * process died there; the app is then started again on the same database, and the delivery's
 * retry must end with the task where it should be: in checks, one PR (never a second
 * `POST /pulls`), the labels and comment right, the outbox empty, the gate judged unless
 * the crash came after its turn (then the no-checks recheck and the check events judge it).
 *
 * In-process: "died" is the hook's throw and a new harness on the same SQLite file; the strict
 * GitHub mock proves which calls each restart repeats and that none is missing or extra.
 */
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { GATE_BACKSTOP_MS } from "../../../src/tasks/facts.js";
import { setFaultHook, type FaultPoint } from "../../../src/tasks/fault-points.js";
import { setupGitHubMock } from "../../helpers/github-mock.js";
import { portMocks } from "../../helpers/github-port-mocks.js";
import { fakePullRequest, pullRequestMocks } from "../../helpers/github-pr-mocks.js";
import {
  REPO,
  appIdentity,
  cleanupHarnessFolders,
  createHarness,
} from "../../helpers/handler-harness.js";
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
afterEach(() => setFaultHook(undefined));

/** The job-succeeded outbox, in the order the loop runs it. */
const OUTBOX = [
  "open-pr",
  "evaluate-checks",
  "set-label",
  "update-board",
  "update-progress-comment",
] as const;

type Point = { step: "committed" } | { step: "effect-done" | "effect-ticked-off"; index: number };

/** Every point between two steps of applying the job's success. */
const POINTS: Point[] = [
  { step: "committed" },
  ...OUTBOX.flatMap((_, index) => [
    { step: "effect-done" as const, index },
    { step: "effect-ticked-off" as const, index },
  ]),
];

function nameOf(point: Point): string {
  return point.step === "committed"
    ? "after the commit, before any effect"
    : `${point.step === "effect-done" ? "after" : "after ticking off"} ${OUTBOX[point.index]}`;
}

/** Whether the crash came after step `effect` of the outbox ran (`done`) or was ticked off. */
function past(point: Point, effect: (typeof OUTBOX)[number], stage: "done" | "ticked"): boolean {
  if (point.step === "committed") return false;
  const index = OUTBOX.indexOf(effect);
  if (point.index !== index) return point.index > index;
  return stage === "done" || point.step === "effect-ticked-off";
}

describe("the app dies between two steps of applying a job's success", () => {
  const gh = setupGitHubMock();
  const ghp = portMocks(gh);
  const ghpr = pullRequestMocks(gh);

  it.each(POINTS.map((point) => [nameOf(point), point] as const))(
    "%s: the restarted app ends with one PR, the task in checks and its view right",
    async (_name, point) => {
      const first = await createHarness(gh, { deliveryBackoffBaseMs: 300 });
      const databasePath = first.databasePath;
      await queueTask(first, gh, ghp);
      const lease = await claimStep(first, ghp);

      // 1. The job succeeds; the app dies at `point`. What ran before it reached GitHub.
      const prOpened = past(point, "open-pr", "done");
      const viewShown = past(point, "set-label", "done");
      taskEventMocks(ghp, { labels: [stateLabel("running")] });
      if (prOpened) {
        draftPullOpens(ghp, ghpr);
        kanbotCheckRun(ghpr, HEAD_1, 5001);
      }
      if (viewShown)
        mirrorMocks(ghp, "running", "checks", { comment: new RegExp(`pull/${PR_NUMBER}`) });
      let crashes = 0;
      setFaultHook((reached: FaultPoint) => {
        const matches =
          reached.step === point.step &&
          (reached.step === "committed" ||
            (point.step !== "committed" && reached.index === point.index));
        if (matches && crashes === 0) {
          crashes++;
          throw new Error(`the app died ${nameOf(point)}`);
        }
      });
      const finished = await first.store.completeJob(lease.job.id, lease.leaseToken, {
        status: "succeeded",
        result: successResult(HEAD_1),
      });
      await first.runtime.internal.jobFinished(finished);
      await first.drain();
      expect(crashes).toBe(1);
      expect((await taskOf(first)).state).toBe("checks");
      expect(gh.isDone()).toBe(true);
      await first.close();
      setFaultHook(undefined);

      // 2. The app starts again; the delivery's retry finishes what the task still owes.
      const again = await createHarness(gh, { databasePath, deliveryBackoffBaseMs: 300 });
      // A new process learns its identity and asks for an installation token again.
      appIdentity(gh);
      ghp.installationToken();
      taskEventMocks(ghp, { labels: [stateLabel(viewShown ? "checks" : "running")] });
      if (!prOpened) {
        draftPullOpens(ghp, ghpr);
        kanbotCheckRun(ghpr, HEAD_1, 5001);
      } else if (!past(point, "open-pr", "ticked")) {
        // Opened but not ticked off: the PR is found and updated, never opened twice; only
        // the `kanbot` check run is posted again (docs/architecture.md, "Durable apply").
        ghpr.gh
          .rest("PATCH", `/repos/${REPO.owner}/${REPO.repo}/pulls/${PR_NUMBER}`)
          .reply(200, () =>
            fakePullRequest(REPO, { number: PR_NUMBER, head: TASK_BRANCH }, ghpr.gh.urls),
          );
        kanbotCheckRun(ghpr, HEAD_1, 5002);
      }
      if (!viewShown) {
        // The state label is created again and the node ids read again: the memos died with
        // the process.
        mirrorMocks(ghp, "running", "checks", {
          comment: new RegExp(`pull/${PR_NUMBER}`),
          nodeIdsRead: true,
        });
      }
      // The gate is judged unless its effect was ticked off before the crash.
      if (!past(point, "evaluate-checks", "ticked")) {
        gateReads(ghpr, HEAD_1, []);
        noChecksWaitComment(ghp, HEAD_1);
      }
      await new Promise((resolve) => setTimeout(resolve, 350));
      await again.drain();

      const settled = await taskOf(again);
      expect(settled).toMatchObject({
        state: "checks",
        prNumber: PR_NUMBER,
        headSha: HEAD_1,
        pendingEffects: undefined,
        pullRequest: { number: PR_NUMBER },
      });
      // The gate waits for checks on the head, with the no-checks recheck as its backstop.
      expect(settled.gate).toMatchObject({ headSha: HEAD_1, recheckAt: expect.any(Date) });
      if (past(point, "evaluate-checks", "ticked")) {
        // Died after the gate's turn, before judging it: the restart does not judge it, but its
        // recheck was brought forward to a minute after its turn (the once-a-minute sweep judges
        // it then), not left at the no-checks wait's end, ten minutes after the PR opened.
        const { since, recheckAt } = settled.gate ?? {};
        expect((recheckAt?.getTime() ?? Infinity) - (since?.getTime() ?? 0)).toBeLessThan(
          GATE_BACKSTOP_MS + 30_000,
        );
      }
      expect((await again.store.listJobs(settled.id)).map((job) => job.status)).toEqual([
        "succeeded",
      ]);
      expect((await again.store.listDeliveries()).map((delivery) => delivery.status)).not.toContain(
        "pending",
      );
      await again.close();
    },
  );
});
