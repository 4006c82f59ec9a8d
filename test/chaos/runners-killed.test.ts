/**
 * Chaos (issue 13): runners SIGKILLed and SIGSTOPped past their lease at random while tasks run,
 * against the real app, real runners and the GitHub simulator. A seeded loop (KANBOT_CHAOS_SEED
 * replays one; the seed is printed) strikes a runner every one to four seconds, preferably one
 * holding a job: SIGKILL of its process group (started again a moment later) or SIGSTOP of it
 * for longer than the lease (SIGCONT afterwards). One runner always stays healthy; a task's job
 * is struck at most twice, so the last tasks finish while the strikes go on. The runners still
 * stopped when every task is in review sleep on through the merges.
 *
 * Every task is done once: in review, one PR, one progress comment, one `kanbot` check run per
 * head, one succeeded job (the rest lost, each to a strike) whose commit is the PR's head, never
 * two live jobs of one task at once. A push lands after its job's lease ended only from a runner
 * frozen while it held the job, never replaces a later job's push and is always replaced by one;
 * a stopped runner that wakes gives its job up, and no task branch comes back after its PR is
 * merged.
 *
 * CI size: KANBOT_CHAOS_RUNNER_TASKS (8) tasks on KANBOT_CHAOS_RUNNERS (3) runners; `npm run
 * chaos` runs 200 on 8 and collects the figures (KANBOT_CHAOS_REPORT).
 */
import { appendFileSync } from "node:fs";
import { join } from "node:path";

import { describe, expect, it } from "vitest";

import { openStore, type Job } from "../../src/store/index.js";
import { REPO, SAMPLE_FILES, SAMPLE_KANBOT_YML } from "../e2e/harness.js";
import { useE2E } from "../e2e/steps.js";
import {
  GAVE_UP,
  landedPushes,
  liveUntil,
  maxLiveAtOnce,
  runnerLogLines,
  seededRandom,
  stallReport,
  startRunnerChaos,
  type RunnerChaos,
  type Strike,
} from "./runner-chaos.js";
import { progressComments, pullsOf } from "./steps.js";

const TASKS = Number(process.env["KANBOT_CHAOS_RUNNER_TASKS"] ?? 8);
const RUNNERS = Math.max(2, Number(process.env["KANBOT_CHAOS_RUNNERS"] ?? 3));
const SEED = Number(process.env["KANBOT_CHAOS_SEED"] ?? Math.floor(Math.random() * 2 ** 32));
const LEASE_SECONDS = 10;

/** `npm run chaos` collects each scenario's figures (JSON lines) from this file; tests ignore it. */
function report(scenario: string, figures: Record<string, number>): void {
  const file = process.env["KANBOT_CHAOS_REPORT"];
  if (file !== undefined) appendFileSync(file, `${JSON.stringify({ scenario, ...figures })}\n`);
}

/** Whether a strike on `runner` overlapped the time `job` held its lease (it explains a loss). */
function struckDuring(strikes: readonly Strike[], runner: string, job: Job): boolean {
  const from = job.startedAt?.getTime() ?? job.enqueuedAt.getTime();
  const to = liveUntil(job);
  return strikes.some(
    (strike) => strike.runner === runner && strike.at <= to && (strike.until ?? Infinity) >= from,
  );
}

/**
 * Whether `runner` was SIGSTOPped at some moment while it held `job` and stayed stopped until
 * at least `landedAt` was near: a freeze inside `git push` is the one way a push lands late.
 */
function frozenWhileLive(
  strikes: readonly Strike[],
  runner: string,
  job: Job,
  landedAt: number,
): boolean {
  const from = job.startedAt?.getTime() ?? job.enqueuedAt.getTime();
  return strikes.some(
    (strike) =>
      strike.runner === runner &&
      strike.action === "stop" &&
      strike.at >= from &&
      strike.at <= liveUntil(job) &&
      (strike.until ?? Infinity) <= landedAt,
  );
}

describe("chaos: runners killed and paused at random while tasks run", () => {
  const harness = useE2E({
    leaseSeconds: LEASE_SECONDS,
    // Lost jobs are what this scenario makes: the budget that blocks a task whose jobs keep
    // losing their runner (3 by default) is raised out of the way.
    files: {
      ...SAMPLE_FILES,
      ".github/kanbot.yml": `${SAMPLE_KANBOT_YML}budget:\n  lostLeases: 100\n`,
    },
  });

  it(
    `${TASKS} tasks on ${RUNNERS} runners struck at random: each done once, a late push never the result`,
    async () => {
      const e2e = harness();
      process.stderr.write(`runners-killed: KANBOT_CHAOS_SEED=${SEED}\n`);
      const random = seededRandom(SEED);
      for (let index = 2; index <= RUNNERS; index++) await e2e.startRunner(`runner-${index}`);
      const width = String(TASKS).length;
      const issues: number[] = [];
      for (let index = 1; index <= TASKS; index++) {
        const id = `t${String(index).padStart(width, "0")}`;
        const title = `Chaos task ${id}`;
        e2e.script(title, [
          {
            // One to three seconds of output: strikes land while agents work.
            print: Array.from({ length: 10 + Math.floor(random() * 20) }, (_, n) => `step ${n}\n`),
            files: { [`src/chaos/${id}.js`]: `export const ${id} = ${index};\n` },
            say: `exported ${id}`,
          },
        ]);
        issues.push(await e2e.fileIssue(title, `Export \`${id}\` from src/chaos/${id}.js.`));
      }
      await e2e.sim.idle();
      const store = await openStore({ url: join(e2e.dir, "kanbot.sqlite") });
      let started: RunnerChaos | undefined;
      try {
        // 1. Label every issue while the strikes go on, until every task is in review.
        const chaos = startRunnerChaos(e2e, store, {
          random,
          intervalMs: [1_000, 4_000],
          downMs: [500, 3_000],
          pauseMs: [LEASE_SECONDS * 1_000, LEASE_SECONDS * 1_000 + 8_000],
          busyBias: 0.8,
          strikesPerTask: 2,
        });
        started = chaos;
        const firstLabel = Date.now();
        for (const issue of issues) await e2e.maintainer.labelIssue(REPO, issue, "agent:ready");
        await e2e
          .waitFor(
            "every task in review",
            () => issues.every((issue) => e2e.hasLabel(issue, "agent:review")),
            { timeoutMs: Math.max(240_000, TASKS * 6_000) },
          )
          .catch(async (error: unknown) => {
            if (error instanceof Error)
              error.message = `${error.message}\n\n${await stallReport(e2e, chaos)}`;
            throw error;
          });
        const seconds = (Date.now() - firstLabel) / 1000;
        await chaos.stop();
        const asleep = chaos.strikes.filter(
          (strike) => strike.action === "stop" && strike.until === undefined,
        );

        // 2. Each task done once: one PR, one comment, one succeeded job whose commit is the head.
        const runnerNames = new Map(
          (await store.listRunners()).map((runner) => [runner.id, runner.name]),
        );
        const jobsByIssue = new Map<number, Job[]>();
        for (const issue of issues) {
          const task = await store.findTask(REPO, issue);
          expect(task?.state, `#${issue}`).toBe("review");
          jobsByIssue.set(issue, await store.listJobs(task?.id ?? 0));
        }
        const allJobs = [...jobsByIssue.values()].flat();
        const pushes = await landedPushes(e2e);
        const checkRuns = e2e.sim.state.mustRepo(REPO).checkRuns;
        for (const issue of issues) {
          const jobs = jobsByIssue.get(issue) ?? [];
          expect(pullsOf(e2e, issue), `PRs of #${issue}`).toBe(1);
          expect(progressComments(e2e, issue), `progress comments on #${issue}`).toBe(1);
          const succeeded = jobs.filter((job) => job.status === "succeeded");
          expect(succeeded, `succeeded jobs of #${issue}`).toHaveLength(1);
          expect(
            jobs.filter((job) => job.status !== "succeeded").map((job) => job.status),
            `the other jobs of #${issue}`,
          ).toEqual(jobs.filter((job) => job.status !== "succeeded").map(() => "lost"));
          expect(maxLiveAtOnce(jobs), `live jobs of #${issue} at once`).toBe(1);
          const pull = e2e.pullFor(issue);
          expect(pull?.headSha, `#${issue}'s PR head`).toBe(succeeded[0]?.result?.headSha);
          const headPush = pushes.find((push) => push.sha === pull?.headSha);
          expect(headPush?.jobId, `the job of #${issue}'s head commit`).toBe(succeeded[0]?.id);
          // One `kanbot` check run per head that the branch ever had.
          const heads = new Set(
            pushes.filter((push) => push.branch === pull?.head).map((push) => push.sha),
          );
          for (const sha of heads) {
            const runs = checkRuns.filter((run) => run.name === "kanbot" && run.headSha === sha);
            expect(runs.length, `kanbot check runs on ${sha} (#${issue})`).toBeLessThanOrEqual(1);
          }
          expect(
            checkRuns
              .filter((run) => run.name === "kanbot" && run.headSha === pull?.headSha)
              .map((run) => run.conclusion),
            `the kanbot check run on #${issue}'s head`,
          ).toEqual(["success"]);
        }
        // Every lost job lost its runner to a strike (no healthy runner lost a lease).
        const lost = allJobs.filter((job) => job.status === "lost");
        const unexplained = lost.filter(
          (job) => !struckDuring(chaos.strikes, runnerNames.get(job.runnerId ?? "") ?? "", job),
        );
        expect(
          unexplained.map((job) => job.id),
          "lost jobs no strike explains",
        ).toEqual([]);
        expect(chaos.maxSampledLiveJobs, "live jobs of one task in a sample").toBeLessThanOrEqual(
          1,
        );

        // 3. The PRs merged while the runners stopped last still sleep; then they wake.
        const mergeStarted = Date.now();
        const mergedAt = new Map<string, number>();
        for (const issue of issues) {
          const pull = e2e.pullFor(issue);
          if (pull === undefined) throw new Error(`no PR for #${issue}`);
          await e2e.maintainer.approve(REPO, pull.number);
          mergedAt.set(pull.head, Date.now());
          await e2e.maintainer.merge(REPO, pull.number);
        }
        await e2e.waitFor(
          "every task done and its branch deleted",
          async () => {
            for (const issue of issues) {
              if (!e2e.hasLabel(issue, "agent:done")) return false;
              if (await e2e.branchExists(e2e.pullFor(issue)?.head ?? "")) return false;
            }
            return true;
          },
          { timeoutMs: Math.max(120_000, TASKS * 3_000) },
        );
        const mergeSeconds = (Date.now() - mergeStarted) / 1000;
        const woken = chaos.wake();

        // 4. Every stopped runner gave up the job it held, once it woke: it logged so.
        const stoppedJobs = chaos.strikes
          .filter((strike) => strike.action === "stop" && strike.jobId !== undefined)
          .filter((strike) => allJobs.find((job) => job.id === strike.jobId)?.status === "lost");
        const givenUp = (strike: Strike): boolean =>
          GAVE_UP.some((message) =>
            runnerLogLines(e2e, strike.runner, message).some((line) => line.jobId === strike.jobId),
          );
        await e2e
          .waitFor("every woken runner to give its job up", () => stoppedJobs.every(givenUp))
          .catch((error: unknown) => {
            const missing = stoppedJobs.filter((strike) => !givenUp(strike));
            if (error instanceof Error)
              error.message = `${error.message}\n\nnot given up: ${JSON.stringify(missing)}\nstrikes: ${JSON.stringify(chaos.strikes)}`;
            throw error;
          });
        await e2e.waitFor(
          "no job queued or leased",
          async () => (await store.listQueue()).length === 0,
        );
        await e2e.sim.idle();

        // 5. No push after a lost lease, none that re-created a merged branch.
        const finalPushes = await landedPushes(e2e);
        const jobsById = new Map(allJobs.map((job) => [job.id, job]));
        const taskOf = new Map(
          [...jobsByIssue.entries()].map(([issue, jobs]) => [jobs[0]?.taskId ?? 0, issue]),
        );
        for (const push of finalPushes) {
          const job = jobsById.get(push.jobId ?? 0);
          expect(job, `the job of the push of ${push.sha} to ${push.branch}`).toBeDefined();
          expect(push.taskId, `the task of ${push.sha}`).toBe(job?.taskId);
          expect(push.branch).toMatch(new RegExp(`^kanbot/${taskOf.get(push.taskId ?? 0)}-`));
        }
        // A push that lands after its job's lease ended. The runner checks its lease (a quarter
        // of it left) right before `git push` starts, and the job's token is revoked once the
        // lease is seen lost, so only a runner frozen inside its push can land one; GitHub has no
        // fence on kanbot's lease (docs/operations.md, "A runner frozen mid-push"). Such a push
        // never becomes the task's result: it can only replace the value its job fetched
        // (`--force-with-lease`), so no later job's push is ever overwritten by it, and a later
        // job's push replaces it.
        const afterLeaseLost = finalPushes.filter((push) => {
          const job = jobsById.get(push.jobId ?? 0);
          return job?.status === "lost" && push.at > liveUntil(job);
        });
        const describePush = (push: (typeof finalPushes)[number]): string => {
          const job = jobsById.get(push.jobId ?? 0);
          const late = job === undefined ? NaN : push.at - liveUntil(job);
          return `job ${push.jobId}: ${push.sha} on ${push.branch}, ${late} ms after its lease ended`;
        };
        expect(
          afterLeaseLost
            .filter((push) => {
              const job = jobsById.get(push.jobId ?? 0);
              if (job === undefined) return true;
              const runner = runnerNames.get(job.runnerId ?? "") ?? "";
              return !frozenWhileLive(chaos.strikes, runner, job, push.at);
            })
            .map(describePush),
          "late pushes by a runner that was not frozen while it held the job",
        ).toEqual([]);
        for (const late of afterLeaseLost) {
          const laterJobs = finalPushes.filter(
            (push) => push.branch === late.branch && (push.jobId ?? 0) > (late.jobId ?? 0),
          );
          expect(
            laterJobs.filter((push) => push.at < late.at).map((push) => `job ${push.jobId}`),
            `later jobs' pushes that the late push (${describePush(late)}) replaced`,
          ).toEqual([]);
          expect(
            laterJobs.some((push) => push.at > late.at),
            `a later job's push replaced ${describePush(late)}`,
          ).toBe(true);
        }
        const nothingPushed = new Set(
          [...runnerNames.values()].flatMap((runner) =>
            runnerLogLines(e2e, runner, GAVE_UP[0] ?? "").map((line) => line.jobId),
          ),
        );
        expect(
          finalPushes
            .filter((push) => nothingPushed.has(push.jobId ?? 0))
            .map((push) => `job ${push.jobId}: ${push.sha} on ${push.branch}`),
          "pushes of jobs whose runner logged that nothing was pushed",
        ).toEqual([]);
        const afterMerge = finalPushes.filter(
          (push) => push.at > (mergedAt.get(push.branch) ?? Infinity),
        );
        expect(afterMerge, "pushes to a task branch after its PR merged").toEqual([]);
        for (const branch of mergedAt.keys()) {
          expect(await e2e.branchExists(branch), `${branch} after the merge`).toBe(false);
        }
        expect(chaos.unexpectedExits, "runners that exited on their own").toEqual([]);
        expect(e2e.sim.violations).toEqual([]);

        const refusedPushes = e2e.sim.gitRequests.filter(
          (request) => request.service === "receive-pack" && request.status >= 400,
        ).length;
        report("runners-killed", {
          seed: SEED,
          tasks: TASKS,
          runners: RUNNERS,
          kills: chaos.strikes.filter((strike) => strike.action === "kill").length,
          stops: chaos.strikes.filter((strike) => strike.action === "stop").length,
          strikesOnBusyRunners: chaos.strikes.filter((strike) => strike.jobId !== undefined).length,
          wokenAfterMerge: woken.length,
          stillAsleepAtReview: asleep.length,
          jobs: allJobs.length,
          lostJobs: lost.length,
          pulls: issues.reduce((sum, issue) => sum + pullsOf(e2e, issue), 0),
          comments: issues.reduce((sum, issue) => sum + progressComments(e2e, issue), 0),
          maxLiveJobsPerTask: Math.max(
            chaos.maxSampledLiveJobs,
            ...[...jobsByIssue.values()].map(maxLiveAtOnce),
          ),
          pushes: finalPushes.length,
          pushesByLostJobs: finalPushes.filter(
            (push) => jobsById.get(push.jobId ?? 0)?.status === "lost",
          ).length,
          pushesAfterLeaseLost: afterLeaseLost.length,
          latePushesReplaced: afterLeaseLost.filter((late) =>
            finalPushes.some(
              (push) =>
                push.branch === late.branch &&
                (push.jobId ?? 0) > (late.jobId ?? 0) &&
                push.at > late.at,
            ),
          ).length,
          refusedPushes,
          seconds,
          mergeSeconds,
        });
      } finally {
        await started?.dispose();
        await store.close();
      }
    },
    Math.max(300_000, 120_000 + TASKS * 10_000),
  );
});
