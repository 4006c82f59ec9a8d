/**
 * The task machine over sequences of events: budget and lost-lease accounting, retry backoff,
 * stale head SHAs and stale jobs.
 */
import { describe, expect, it } from "vitest";

import { transitionTask } from "../../../src/domain/task-machine.js";
import type {
  EnqueueJobEffect,
  TaskDecision,
  TaskEvent,
  TaskPolicy,
  TaskSnapshot,
  TaskTransition,
} from "../../../src/domain/task.js";
import {
  EVENTS,
  HEAD,
  NEW_HEAD,
  NOW,
  OLD_HEAD,
  POLICY,
  situation,
  used,
  variant,
  type Situation,
} from "./fixtures.js";

function expectTransition(decision: TaskDecision): TaskTransition {
  if (decision.outcome !== "transition") {
    throw new Error(`expected a transition, got ${decision.outcome}: ${decision.reason}`);
  }
  return decision;
}

/** Applies `events` in order, one minute apart, and returns every transition. */
function play(
  task: TaskSnapshot | null,
  events: TaskEvent[],
  policy: TaskPolicy = POLICY,
): TaskTransition[] {
  const steps: TaskTransition[] = [];
  let current = task;
  events.forEach((event, i) => {
    const step = expectTransition(
      transitionTask(current, event, new Date(NOW.getTime() + i * 60_000), policy),
    );
    steps.push(step);
    current = step.task;
  });
  return steps;
}

function last(steps: TaskTransition[]): TaskSnapshot {
  const step = steps.at(-1);
  if (!step) throw new Error("no steps");
  return step.task;
}

function enqueued(step: TaskTransition): EnqueueJobEffect {
  const effect = step.effects.find((e) => e.type === "enqueue-job");
  if (effect?.type !== "enqueue-job") throw new Error(`no enqueue-job in ${step.to}`);
  return effect;
}

const claim: TaskEvent = { type: "job-claimed", jobId: "job-1" };
const fail = (error: string, minutes = 5, usd = 0.25): TaskEvent => ({
  type: "job-failed",
  jobId: "job-1",
  error,
  minutes,
  usd,
  fatal: false,
});
const succeed = (headSha: string, minutes = 10, usd = 1): TaskEvent => ({
  type: "job-succeeded",
  jobId: "job-1",
  headSha,
  minutes,
  usd,
});
const lose = (minutes = 15): TaskEvent => ({ type: "job-lost", jobId: "job-1", minutes });

describe("the whole loop", () => {
  it("goes from trigger to done through a failed check and a review, counting every job", () => {
    const steps = play(null, [
      EVENTS.triggered,
      claim,
      succeed(HEAD),
      { type: "checks-failed", headSha: HEAD, summary: "lint: 3 errors" },
      claim,
      succeed(NEW_HEAD),
      { type: "checks-passed", headSha: NEW_HEAD },
      { type: "pr-merged" },
    ]);

    expect(steps.map((s) => s.to)).toEqual([
      "queued",
      "running",
      "checks",
      "queued",
      "running",
      "checks",
      "review",
      "done",
    ]);
    expect(enqueued(steps[0]!)).toMatchObject({ kind: "implement", attempt: 1 });
    expect(steps[2]!.effects[0]).toEqual({ type: "open-pr", headSha: HEAD, draft: true });
    expect(enqueued(steps[3]!)).toMatchObject({
      kind: "fix-checks",
      attempt: 2,
      instructions: "lint: 3 errors",
    });
    expect(steps[5]!.effects[0]).toEqual({ type: "update-pr", headSha: NEW_HEAD });
    expect(last(steps)).toMatchObject({
      state: "done",
      job: null,
      used: { attempts: 2, minutes: 20, usd: 2, lostLeases: 0 },
      spent: { attempts: 2, minutes: 20, usd: 2, lostLeases: 0 },
    });
  });
});

describe("budget accounting", () => {
  it("counts an attempt when a job is enqueued, and its cost when it ends", () => {
    const [queued, running, checks] = play(null, [EVENTS.triggered, claim, succeed(HEAD, 7, 0.5)]);

    expect(queued!.task.used).toEqual(used({ attempts: 1 }));
    expect(running!.task.used).toEqual(used({ attempts: 1 }));
    expect(checks!.task.used).toEqual(used({ attempts: 1, minutes: 7, usd: 0.5 }));
  });

  it("retries a failed job with backoff while attempts remain, then blocks with the real error", () => {
    const steps = play(null, [
      EVENTS.triggered,
      claim,
      fail("first failure"),
      claim,
      fail("second failure"),
      claim,
      fail("TypeError: cannot read 'x' of undefined\n    at main.ts:3"),
    ]);
    const retries = [steps[2]!, steps[4]!].map(enqueued);

    expect(retries.map((e) => e.attempt)).toEqual([2, 3]);
    expect(retries.map((e) => e.notBefore?.getTime())).toEqual([
      steps[2]!.task.enteredAt.getTime() + 60_000,
      steps[4]!.task.enteredAt.getTime() + 120_000,
    ]);
    expect(last(steps)).toMatchObject({
      state: "blocked",
      failures: 3,
      job: { kind: "implement", id: null, notBefore: null },
      blocker: {
        cause: "attempts-spent",
        error: "TypeError: cannot read 'x' of undefined\n    at main.ts:3",
      },
    });
    expect(last(steps).blocker?.message).toContain("3 of 3 jobs");
    expect(steps.at(-1)!.effects.find((e) => e.type === "update-progress-comment")).toMatchObject({
      note: expect.stringContaining("TypeError: cannot read 'x' of undefined"),
    });
  });

  it.each([
    { limit: "minutes", cause: "minutes-spent", event: fail("slow", 61, 0) },
    { limit: "usd", cause: "usd-spent", event: fail("pricey", 1, 5.01) },
  ] as const)("blocks when the $limit budget is spent", ({ cause, event }) => {
    const steps = play(null, [EVENTS.triggered, claim, event]);

    expect(last(steps)).toMatchObject({ state: "blocked", blocker: { cause } });
  });

  it("blocks instead of starting a fix-checks job once the budget is spent, keeping it to resume", () => {
    const checks = variant("checks", { used: used({ attempts: 3, minutes: 20, usd: 1 }) });

    const step = expectTransition(transitionTask(checks, EVENTS["checks-failed"], NOW, POLICY));

    expect(step.to).toBe("blocked");
    expect(step.effects.some((e) => e.type === "enqueue-job")).toBe(false);
    expect(step.task.job).toMatchObject({ kind: "fix-checks", instructions: "test: 2 failed" });
    expect(step.task.blocker).toMatchObject({ cause: "attempts-spent", error: "test: 2 failed" });
  });

  it("a task with a zero attempt budget is blocked as soon as it is triggered", () => {
    const policy = { ...POLICY, budget: { ...POLICY.budget, attempts: 0 } };

    const step = expectTransition(transitionTask(null, EVENTS.triggered, NOW, policy));

    expect(step.to).toBe("blocked");
    expect(step.task.blocker?.cause).toBe("attempts-spent");
  });

  it("starting a blocked task again grants a fresh budget but keeps the lifetime totals", () => {
    const blocked = situation("blocked+pr")!;

    const step = expectTransition(transitionTask(blocked, EVENTS.retry, NOW, POLICY));

    expect(step.task.used).toEqual(used({ attempts: 1 }));
    expect(step.task.spent).toEqual(used({ attempts: 4, minutes: 30, usd: 2 }));
    expect(step.task.failures).toBe(0);
    expect(step.task.blocker).toBeNull();
    expect(enqueued(step)).toMatchObject({ kind: "fix-checks", attempt: 1, notBefore: null });
  });

  it("a revise request on a blocked PR starts again with a fresh budget", () => {
    const step = expectTransition(
      transitionTask(situation("blocked+pr"), EVENTS["revise-requested"], NOW, POLICY),
    );

    expect(step.task.used.attempts).toBe(1);
    expect(enqueued(step)).toMatchObject({ kind: "revise", instructions: "use a map" });
  });

  it("a success resets the failure streak that drives the backoff", () => {
    const steps = play(null, [EVENTS.triggered, claim, fail("x"), claim, succeed(HEAD)]);

    expect(steps[2]!.task.failures).toBe(1);
    expect(last(steps).failures).toBe(0);
  });

  it("does not let a negative cost refund the budget", () => {
    const steps = play(null, [EVENTS.triggered, claim, succeed(HEAD, -10, -1)]);

    expect(last(steps).used).toEqual(used({ attempts: 1 }));
  });
});

describe("lost leases", () => {
  it("re-queues the same job at once without using an attempt, and blocks at the cap", () => {
    const steps = play(situation("running:revise+pr"), [lose(), claim, lose(), claim, lose()]);
    const requeues = [steps[0]!, steps[2]!].map(enqueued);

    expect(requeues).toEqual([
      expect.objectContaining({ kind: "revise", instructions: "rename foo", attempt: 1 }),
      expect.objectContaining({ kind: "revise", instructions: "rename foo", attempt: 1 }),
    ]);
    expect(requeues.every((e) => e.replacesLostJob && e.notBefore === null)).toBe(true);
    expect(last(steps)).toMatchObject({
      state: "blocked",
      used: { attempts: 1, lostLeases: 3, minutes: 10 + 45 },
      blocker: { cause: "lost-leases", error: null },
    });
    expect(last(steps).blocker?.message).toContain("3 times");
  });

  it("honours a configured cap", () => {
    const policy = { ...POLICY, maxLostLeases: 1 };

    const steps = play(situation("running:implement"), [lose()], policy);

    expect(last(steps).state).toBe("blocked");
  });

  it("does not consult the attempts limit, but does consult time", () => {
    const spentAttempts = variant("running:implement", { used: used({ attempts: 3 }) });
    const spentTime = variant("running:implement", { used: used({ attempts: 1, minutes: 50 }) });

    const requeued = transitionTask(spentAttempts, lose(5), NOW, POLICY);
    const blocked = transitionTask(spentTime, lose(10), NOW, POLICY);

    expect(requeued).toMatchObject({ outcome: "transition", to: "queued" });
    expect(blocked).toMatchObject({
      outcome: "transition",
      to: "blocked",
      task: { blocker: { cause: "minutes-spent" } },
    });
  });
});

describe("a lost job whose claim was never applied", () => {
  it("is retried from queued when it is the task's queued job, and ignored when it is another", () => {
    const queued = situation("queued:implement");
    const lost = transitionTask(
      queued,
      { type: "job-lost", jobId: "job-1", minutes: 1 },
      NOW,
      POLICY,
    );
    expect(lost).toMatchObject({
      outcome: "transition",
      from: "queued",
      to: "queued",
      task: { used: { lostLeases: 1 } },
    });
    const enqueued = lost.outcome === "transition" ? lost.effects.map((effect) => effect.type) : [];
    expect(enqueued).toContain("enqueue-job");

    const other = transitionTask(
      queued,
      { type: "job-lost", jobId: "job-0", minutes: 1 },
      NOW,
      POLICY,
    );
    expect(other.outcome).not.toBe("transition");
  });
});

describe("stale events", () => {
  const situations: Situation[] = ["checks", "review", "queued:fix-checks+pr", "running:revise+pr"];
  const staleEvents: TaskEvent[] = [
    { type: "checks-passed", headSha: OLD_HEAD },
    { type: "checks-failed", headSha: OLD_HEAD, summary: "old failure" },
    { type: "base-moved-with-conflict", headSha: OLD_HEAD },
  ];
  const cases = situations.flatMap((from) => staleEvents.map((event) => ({ from, event })));

  it.each(cases)("$from ignores $event.type for a stale head SHA", ({ from, event }) => {
    const decision = transitionTask(situation(from), event, NOW, POLICY);

    expect(decision).toMatchObject({ outcome: "ignored", code: "stale-sha" });
  });

  it("ignores a push of the SHA the PR head already has", () => {
    const decision = transitionTask(
      situation("checks"),
      { type: "head-pushed", headSha: HEAD },
      NOW,
      POLICY,
    );

    expect(decision).toMatchObject({ outcome: "ignored", code: "duplicate" });
  });

  it("after a person's push, check results for the old head no longer count", () => {
    const pushed = expectTransition(
      transitionTask(situation("review"), EVENTS["head-pushed"], NOW, POLICY),
    );

    const old = transitionTask(pushed.task, { type: "checks-passed", headSha: HEAD }, NOW, POLICY);
    const fresh = transitionTask(
      pushed.task,
      { type: "checks-passed", headSha: NEW_HEAD },
      NOW,
      POLICY,
    );

    expect(old).toMatchObject({ outcome: "ignored", code: "stale-sha" });
    expect(fresh).toMatchObject({ outcome: "transition", to: "review" });
  });

  const jobEvents: TaskEvent[] = [
    { type: "job-succeeded", jobId: "job-0", headSha: NEW_HEAD, minutes: 1, usd: 0 },
    { type: "job-failed", jobId: "job-0", error: "x", minutes: 1, usd: 0, fatal: false },
    { type: "job-lost", jobId: "job-0", minutes: 1 },
  ];

  it.each(jobEvents)("ignores $type about an older job", (event) => {
    const decision = transitionTask(situation("running:implement"), event, NOW, POLICY);

    expect(decision).toMatchObject({ outcome: "ignored", code: "stale-job" });
  });

  it("ignores a claim of an older job", () => {
    const decision = transitionTask(
      situation("queued:implement"),
      { type: "job-claimed", jobId: "job-0" },
      NOW,
      POLICY,
    );

    expect(decision).toMatchObject({ outcome: "ignored", code: "stale-job" });
  });

  it("records the claimed job's id when the snapshot did not know it", () => {
    const queued = expectTransition(transitionTask(null, EVENTS.triggered, NOW, POLICY));

    const running = expectTransition(
      transitionTask(queued.task, { type: "job-claimed", jobId: "job-9" }, NOW, POLICY),
    );
    const stale = transitionTask(
      running.task,
      { ...EVENTS["job-lost"], jobId: "job-1" },
      NOW,
      POLICY,
    );

    expect(queued.task.job?.id).toBeNull();
    expect(running.task.job?.id).toBe("job-9");
    expect(stale).toMatchObject({ outcome: "ignored", code: "stale-job" });
  });
});

describe("retry while a retry is already scheduled", () => {
  it("is rejected with the time the next attempt may start", () => {
    const steps = play(null, [EVENTS.triggered, claim, fail("boom")]);

    const decision = transitionTask(last(steps), EVENTS.retry, NOW, POLICY);

    expect(decision).toMatchObject({
      outcome: "rejected",
      reason: expect.stringContaining("not before"),
    });
  });
});
