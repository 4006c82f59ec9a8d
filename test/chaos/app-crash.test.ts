/**
 * Chaos (issue 13): the real app is killed (SIGKILL) while it works, against the GitHub
 * simulator and a real runner, and started again. The app holds its inbox deliveries for an hour
 * here (`KANBOT_INBOX_HOLD_SECONDS`), so anything a dead run held is only worked again because
 * the new run releases it at start.
 *
 * 1. Mid-burst: six issues are labeled; after the first three were answered the app is killed,
 *    the last three are labeled while it is down (GitHub records them as failed), and the app
 *    starts again. Every delivery answered 2xx is processed exactly once, every refused one comes
 *    back through redelivery, and every issue gets one task, one PR and one progress comment.
 * 2. Mid-job: the app is killed while a job runs and started again within the lease. The runner
 *    rides the outage out: the job is not failed, no attempt is spent, the task reaches review.
 * 3. A long outage: the app stays down past the job's lease. The runner gives the job up when its
 *    lease runs out (it pushes nothing it could not report); the restarted app finds the lease
 *    ended, counts the job lost (not failed) and queues it again; the retry finishes the task.
 *
 * `npm run chaos` (bench/chaos.ts) runs the same scenarios at full size and records figures.
 */
import { appendFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

import { openStore, type JobStore } from "../../src/store/index.js";
import { REPO, type E2E } from "../e2e/harness.js";
import { useE2E } from "../e2e/steps.js";
import { progressComments, pullsOf } from "./steps.js";

const BURST = Number(process.env["KANBOT_CHAOS_BURST"] ?? 6);

/** `npm run chaos` collects each scenario's figures (JSON lines) from this file; tests ignore it. */
function report(scenario: string, figures: Record<string, number>): void {
  const file = process.env["KANBOT_CHAOS_REPORT"];
  if (file !== undefined) appendFileSync(file, `${JSON.stringify({ scenario, ...figures })}\n`);
}

/** The app's store, read beside the running app (SQLite in WAL mode). */
async function withStore<T>(e2e: E2E, read: (store: JobStore) => Promise<T>): Promise<T> {
  const store = await openStore({ url: join(e2e.dir, "kanbot.sqlite") });
  try {
    return await read(store);
  } finally {
    await store.close();
  }
}

function isTrigger(payload: Record<string, unknown>): boolean {
  return (payload["label"] as { name?: unknown } | undefined)?.name === "agent:ready";
}

describe("chaos: the app is killed while it works", () => {
  const harness = useE2E({ appEnv: { KANBOT_INBOX_HOLD_SECONDS: "3600" } });

  it("mid-burst: every delivery processed once, the refused ones redelivered, one PR per issue", async () => {
    const e2e = harness();
    const titles = Array.from({ length: BURST }, (_, index) => `Add constant ${index + 1}`);
    const issues: number[] = [];
    for (const [index, title] of titles.entries()) {
      e2e.script(title, [{ files: { [`src/c${index + 1}.js`]: `export const c = ${index};\n` } }]);
      issues.push(await e2e.fileIssue(title, `Export a constant from src/c${index + 1}.js.`));
    }
    await e2e.sim.idle();
    const half = Math.ceil(BURST / 2);

    // The first half is labeled and answered; the app dies while it works on them.
    for (const issue of issues.slice(0, half)) {
      await e2e.maintainer.labelIssue(REPO, issue, "agent:ready");
    }
    await e2e.sim.idle();
    await e2e.killApp("SIGKILL");
    // The second half is labeled while the app is down: GitHub records failed deliveries.
    for (const issue of issues.slice(half)) {
      await e2e.maintainer.labelIssue(REPO, issue, "agent:ready");
    }
    await e2e.sim.idle();
    // The maintainer's trigger labels (kanbot's own label changes are deliveries too).
    const labeled = e2e.sim.deliveries.filter(
      (delivery) =>
        delivery.event === "issues" &&
        delivery.action === "labeled" &&
        isTrigger(delivery.payload) &&
        !delivery.redelivery,
    );
    const answered = labeled.filter((delivery) => delivery.status >= 200 && delivery.status < 300);
    const refused = labeled.filter((delivery) => delivery.status === 0);
    expect(answered).toHaveLength(half);
    expect(refused).toHaveLength(BURST - half);

    const restartedAt = Date.now();
    await e2e.startApp();
    await e2e.waitFor(
      "every issue in review",
      () => issues.every((issue) => e2e.hasLabel(issue, "agent:review")),
      { timeoutMs: 240_000 },
    );

    const recoveryMs = Date.now() - restartedAt;
    // The events that follow review (kanbot's own writes, the simulated CI) settle too.
    await e2e.waitFor(
      "the inbox worked off",
      () =>
        withStore(e2e, async (store) =>
          (await store.listDeliveries()).every((delivery) => delivery.status === "done"),
        ),
      { timeoutMs: 60_000 },
    );

    // Every refused delivery came back once, through redelivery, and was answered.
    const redelivered = e2e.sim.deliveries.filter((delivery) => delivery.redelivery);
    expect(redelivered.map((delivery) => delivery.id).sort()).toEqual(
      refused.map((delivery) => delivery.id).sort(),
    );
    expect(redelivered.every((delivery) => delivery.status === 200)).toBe(true);
    await withStore(e2e, async (store) => {
      const deliveries = await store.listDeliveries();
      // Each labeled delivery recorded once (by its guid) and processed, none left behind.
      const inbox = deliveries.filter(
        (delivery) =>
          delivery.event === "issues" &&
          delivery.action === "labeled" &&
          isTrigger(delivery.payload as Record<string, unknown>),
      );
      expect(inbox.map((delivery) => delivery.deliveryId).sort()).toEqual(
        labeled.map((delivery) => delivery.id).sort(),
      );
      for (const issue of issues) {
        const task = await store.findTask(REPO, issue);
        expect(task?.state).toBe("review");
        const jobs = await store.listJobs(task?.id ?? 0);
        expect(jobs.map((job) => job.status)).toEqual(["succeeded"]);
      }
    });
    for (const issue of issues) {
      expect(pullsOf(e2e, issue)).toBe(1);
      expect(progressComments(e2e, issue)).toBe(1);
    }
    expect(e2e.sim.violations).toEqual([]);
    report("mid-burst", {
      tasks: issues.length,
      answeredBeforeKill: answered.length,
      refusedWhileDown: refused.length,
      redelivered: redelivered.length,
      pulls: issues.reduce((sum, issue) => sum + pullsOf(e2e, issue), 0),
      progressComments: issues.reduce((sum, issue) => sum + progressComments(e2e, issue), 0),
      recoveryMs,
    });
  });

  it("mid-job: the runner rides out the outage; the job is not failed and no attempt is spent", async () => {
    const e2e = harness();
    const title = "Add the answer";
    e2e.script(title, [
      {
        // About two seconds of output: the app is killed while the agent works.
        print: Array.from({ length: 20 }, (_, index) => `thinking ${index}\n`),
        files: { "src/answer.js": "export const answer = 42;\n" },
        say: "answer",
      },
    ]);
    const issue = await e2e.fileIssue(title, "Export `answer` from src/answer.js.");
    await e2e.maintainer.labelIssue(REPO, issue, "agent:ready");
    await e2e.waitFor("the job running", () => e2e.hasLabel(issue, "agent:working"));

    await e2e.killApp("SIGKILL");
    const outageStarted = Date.now();
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    await e2e.startApp();
    const outageMs = Date.now() - outageStarted;
    await e2e.waitFor("the task in review", () => e2e.hasLabel(issue, "agent:review"), {
      timeoutMs: 120_000,
    });

    await withStore(e2e, async (store) => {
      const task = await store.findTask(REPO, issue);
      const jobs = await store.listJobs(task?.id ?? 0);
      expect(jobs.map((job) => [job.status, job.attempt])).toEqual([["succeeded", 1]]);
      expect(task?.used.attempts).toBe(1);
      report("mid-job", {
        outageMs,
        jobs: jobs.length,
        failedJobs: jobs.filter((job) => job.status === "failed").length,
        attemptsUsed: task?.used.attempts ?? 0,
      });
    });
    expect(pullsOf(e2e, issue)).toBe(1);
    expect(progressComments(e2e, issue)).toBe(1);
    expect(e2e.sim.violations).toEqual([]);
  });
});

describe("chaos: the app is down longer than a lease", () => {
  const LEASE_SECONDS = 8;
  const harness = useE2E({ leaseSeconds: LEASE_SECONDS });

  it("the runner gives the job up at its lease's end; the restarted app queues it again and no job fails", async () => {
    const e2e = harness();
    const title = "Add the question";
    const step = {
      // About two seconds of output: the app is killed while the agent works.
      print: Array.from({ length: 20 }, (_, index) => `thinking ${index}\n`),
      files: { "src/question.js": "export const question = '6 x 7';\n" },
      say: "question",
    };
    e2e.script(title, [step, step]);
    const issue = await e2e.fileIssue(title, "Export `question` from src/question.js.");
    await e2e.maintainer.labelIssue(REPO, issue, "agent:ready");
    await e2e.waitFor("the job running", () => e2e.hasLabel(issue, "agent:working"));

    await e2e.killApp("SIGKILL");
    const pushesBefore = pushes(e2e);
    // Down past the lease (and the runner's own clock of it): the runner gives the job up.
    await e2e.waitFor(
      "runner-1 to give its job up at the lease's end",
      () =>
        /--- runner-1 log[\s\S]*lease lost: the job is not reported and nothing was pushed/.test(
          e2e.logs(400),
        ),
      { timeoutMs: 60_000 },
    );
    // Nothing reached GitHub from the given-up job while the app was away.
    expect(pushes(e2e)).toBe(pushesBefore);
    const restartedAt = Date.now();
    await e2e.startApp();
    await e2e.waitFor("the task in review", () => e2e.hasLabel(issue, "agent:review"), {
      timeoutMs: 120_000,
    });
    const recoveryMs = Date.now() - restartedAt;

    await withStore(e2e, async (store) => {
      const task = await store.findTask(REPO, issue);
      const jobs = await store.listJobs(task?.id ?? 0);
      // The first job is lost (its lease ended while the app was down), never failed; its retry
      // did the work.
      expect(jobs.map((job) => job.status)).toEqual(["lost", "succeeded"]);
      report("long-outage", {
        leaseMs: LEASE_SECONDS * 1000,
        recoveryMs,
        jobs: jobs.length,
        failedJobs: jobs.filter((job) => job.status === "failed").length,
      });
    });
    expect(pullsOf(e2e, issue)).toBe(1);
    expect(progressComments(e2e, issue)).toBe(1);
    expect(e2e.sim.violations).toEqual([]);
  });
});

/** Pushes the simulator accepted. */
function pushes(e2e: E2E): number {
  return e2e.sim.gitRequests.filter(
    (request) => request.service === "receive-pack" && request.status === 200,
  ).length;
}
