/**
 * `job-failed` by failure class (issue 14, part 1): auth blocks at once with the fix for the
 * agent and runner; quota waits for the reset (or a backoff) without spending an attempt;
 * transient retries with backoff, spending no attempt for the first few in a row; task (and an
 * older runner's failure without a class) spends an attempt as before.
 */
import { describe, expect, it } from "vitest";

import {
  MAX_FREE_QUOTA_WAITS,
  MAX_FREE_TRANSIENT_RETRIES,
  authFix,
  quotaResetAt,
  transitionTask,
} from "../../../src/domain/task-machine.js";
import type {
  EnqueueJobEffect,
  JobFailedEvent,
  TaskDecision,
  TaskTransition,
} from "../../../src/domain/task.js";
import { EVENTS, NOW, POLICY, used, variant } from "./fixtures.js";

const FAILED: JobFailedEvent = {
  ...EVENTS["job-failed"],
  error: "the agent failed: claude reported an error: Not logged in · Please run /login.",
  agent: "claude",
  runner: "laptop-1",
};

function decide(event: Partial<JobFailedEvent>, failures = 0, attempts = 1): TaskTransition {
  const task = variant("running:implement", {
    failures,
    used: used({ attempts, minutes: 10, usd: 1 }),
  });
  const decision: TaskDecision = transitionTask(task, { ...FAILED, ...event }, NOW, POLICY);
  if (decision.outcome !== "transition")
    throw new Error(`expected a transition: ${decision.reason}`);
  return decision;
}

function enqueued(decision: TaskTransition): EnqueueJobEffect | undefined {
  return decision.effects.find(
    (effect): effect is EnqueueJobEffect => effect.type === "enqueue-job",
  );
}

function comment(decision: TaskTransition): string {
  const effect = decision.effects.find((candidate) => candidate.type === "update-progress-comment");
  return effect?.type === "update-progress-comment" ? effect.note : "";
}

describe("job-failed by failure class", () => {
  it("auth: blocked at once, no retry, with the CLI's message and the fix for the agent on its runner", () => {
    const decision = decide({
      failureClass: "auth",
      failureMessage: "Not logged in · Please run /login",
    });

    expect(decision.to).toBe("blocked");
    expect(enqueued(decision)).toBeUndefined();
    expect(decision.task.blocker?.cause).toBe("needs-human");
    expect(decision.task.blocker?.message).toContain("runner laptop-1");
    expect(decision.task.blocker?.message).toContain("`claude auth login`");
    expect(decision.task.blocker?.message).toContain("`ANTHROPIC_API_KEY`");
    expect(decision.task.blocker?.error).toBe(FAILED.error);
    expect(comment(decision)).toContain("agent failure: auth: Not logged in");
    expect(decision.task.used.attempts).toBe(1);
  });

  it.each([
    ["codex", "`codex login`"],
    ["gemini", "`GEMINI_API_KEY`"],
    ["opencode", "`opencode auth login`"],
    ["aider", "API key"],
    ["my-agent", "`credentials`"],
  ])("auth: the fix for %s names %s", (agent, fix) => {
    expect(authFix(agent)).toContain(fix);
    expect(decide({ failureClass: "auth", agent }).task.blocker?.message).toContain(fix);
  });

  it("auth on the first attempt blocks even with attempts left (a bad key used to take 5 attempts)", () => {
    const decision = decide({ failureClass: "auth" }, 0, 1);

    expect(POLICY.budget.attempts).toBeGreaterThan(1);
    expect(decision.to).toBe("blocked");
  });

  it("quota with a reset time: queued again until the reset, no attempt spent", () => {
    const resetAt = new Date(NOW.getTime() + 3 * 3600_000);

    const decision = decide({
      failureClass: "quota",
      resetAt,
      failureMessage: "You've hit your limit",
    });

    expect(decision.to).toBe("queued");
    expect(enqueued(decision)?.notBefore).toEqual(resetAt);
    expect(enqueued(decision)?.attempt).toBe(1);
    expect(decision.task.used.attempts).toBe(1);
    expect(decision.task.job?.notBefore).toEqual(resetAt);
    expect(comment(decision)).toContain("agent failure: quota: You've hit your limit");
    expect(comment(decision)).toContain(`resumes at ${resetAt.toISOString().replace(".000", "")}`);
  });

  it("quota without a reset time: a backoff, no attempt spent", () => {
    const decision = decide({ failureClass: "quota" }, 0);

    expect(decision.to).toBe("queued");
    expect(enqueued(decision)?.notBefore).toEqual(new Date(NOW.getTime() + 60_000));
    expect(decision.task.used.attempts).toBe(1);
    expect(comment(decision)).toContain("no reset time given");
  });

  it("quota with the attempts all used: still waits (the attempts limit is not consulted)", () => {
    const decision = decide({ failureClass: "quota" }, 0, POLICY.budget.attempts);

    expect(decision.to).toBe("queued");
    expect(decision.task.used.attempts).toBe(POLICY.budget.attempts);
  });

  it("quota with the time budget spent: blocked with the limit", () => {
    const task = variant("running:implement", { used: used({ attempts: 1, minutes: 59 }) });

    const decision = transitionTask(
      task,
      { ...FAILED, failureClass: "quota", minutes: 5 },
      NOW,
      POLICY,
    );

    expect(decision.outcome === "transition" && decision.to).toBe("blocked");
    expect(decision.outcome === "transition" && decision.task.blocker?.cause).toBe("minutes-spent");
  });

  it("quota past the free waits in a row spends an attempt like a task failure", () => {
    const decision = decide({ failureClass: "quota" }, MAX_FREE_QUOTA_WAITS);

    expect(decision.to).toBe("queued");
    expect(decision.task.used.attempts).toBe(2);
  });

  it("transient: a backoff, no attempt spent for the first ones in a row, then attempts", () => {
    const first = decide({ failureClass: "transient" }, 0);
    const past = decide({ failureClass: "transient" }, MAX_FREE_TRANSIENT_RETRIES);

    expect(first.to).toBe("queued");
    expect(first.task.used.attempts).toBe(1);
    expect(enqueued(first)?.notBefore).toEqual(new Date(NOW.getTime() + 60_000));
    expect(comment(first)).toContain("agent failure: transient");
    expect(past.task.used.attempts).toBe(2);
  });

  it.each([["task" as const], [undefined]])(
    "%s (or no class, from an older runner): an attempt, as before",
    (failureClass) => {
      const decision = decide(failureClass === undefined ? {} : { failureClass });

      expect(decision.to).toBe("queued");
      expect(decision.task.used.attempts).toBe(2);
    },
  );

  it("a fatal failure still blocks whatever the class", () => {
    expect(decide({ fatal: true, failureClass: "quota" }).to).toBe("blocked");
  });
});

describe("quotaResetAt", () => {
  it("keeps a reported reset within a minute and a week of the app's clock", () => {
    expect(quotaResetAt(new Date(NOW.getTime() - 3600_000), NOW)).toEqual(
      new Date(NOW.getTime() + 60_000),
    );
    expect(quotaResetAt(new Date(NOW.getTime() + 30 * 86_400_000), NOW)).toEqual(
      new Date(NOW.getTime() + 7 * 86_400_000),
    );
    expect(quotaResetAt(undefined, NOW)).toBeUndefined();
  });
});
