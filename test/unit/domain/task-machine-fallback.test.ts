/**
 * Fallback agents (issue 14, part 4): a task's jobs move from the routed agent along
 * `agents.fallback` after `fallbackAfter` failed jobs of class `task` or `transient` in a row, or
 * at once on `quota`, but only to an agent a runner online offers; `auth` still blocks; at the end
 * of the chain the last agent keeps the task.
 */
import { describe, expect, it } from "vitest";

import { fallbackChain, transitionTask } from "../../../src/domain/task-machine.js";
import type {
  AgentFailureClass,
  EnqueueJobEffect,
  JobFailedEvent,
  TaskAgent,
  TaskDecision,
  TaskPolicy,
  TaskTransition,
} from "../../../src/domain/task.js";
import { EVENTS, HEAD, NOW, POLICY, used, variant } from "./fixtures.js";

const FALLBACK: TaskPolicy = { ...POLICY, fallback: { agents: ["codex", "gemini"], after: 2 } };
const ONLINE = ["claude", "codex", "gemini"];

function agent(current: string, failures = 0, routed = "claude"): TaskAgent {
  return { routed, current, failures, reason: current === routed ? null : "fallback: earlier" };
}

function fail(
  options: {
    agent?: TaskAgent | null;
    failureClass?: AgentFailureClass;
    available?: readonly string[];
    policy?: TaskPolicy;
    failures?: number;
    attempts?: number;
  } = {},
): TaskTransition {
  const task = variant("running:implement", {
    agent: options.agent === undefined ? agent("claude") : options.agent,
    failures: options.failures ?? 0,
    used: used({ attempts: options.attempts ?? 1, minutes: 10, usd: 1 }),
  });
  const event: JobFailedEvent = {
    ...EVENTS["job-failed"],
    error: "the agent failed: claude reported an error: the tests still fail",
    ...(options.failureClass === undefined ? {} : { failureClass: options.failureClass }),
    availableAgents: options.available ?? ONLINE,
  };
  const decision: TaskDecision = transitionTask(task, event, NOW, options.policy ?? FALLBACK);
  if (decision.outcome !== "transition") throw new Error(`no transition: ${decision.reason}`);
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

describe("fallbackChain", () => {
  it.each([
    ["claude", ["codex", "gemini"], ["claude", "codex", "gemini"]],
    ["codex", ["codex", "gemini"], ["codex", "gemini"]],
    ["gemini", ["codex", "gemini"], ["gemini", "codex"]],
    ["Codex", ["codex", "gemini", "CODEX"], ["Codex", "gemini"]],
    ["claude", [], ["claude"]],
  ])("routed %s with fallback %j: %j", (routed, fallback, chain) => {
    expect(fallbackChain(routed, fallback)).toEqual(chain);
  });
});

describe("fallbackAfter counts task and transient failures of one agent in a row", () => {
  it.each([
    // [class, failures before, after this failure: agent, failures counted]
    ["task", 0, "claude", 1],
    ["task", 1, "codex", 0],
    ["transient", 0, "claude", 1],
    ["transient", 1, "codex", 0],
    [undefined, 1, "codex", 0],
  ] as const)(
    "%s failure with %i before: the next job goes to %s (%i counted)",
    (failureClass, before, next, counted) => {
      const decision = fail({
        agent: agent("claude", before),
        ...(failureClass === undefined ? {} : { failureClass }),
      });

      expect(decision.to).toBe("queued");
      expect(decision.task.agent?.current).toBe(next);
      expect(decision.task.agent?.failures).toBe(counted);
      expect(decision.task.agent?.routed).toBe("claude");
    },
  );

  it("a quota failure does not count toward fallbackAfter when no other agent is online", () => {
    const decision = fail({
      agent: agent("claude", 1),
      failureClass: "quota",
      available: ["claude"],
    });

    expect(decision.task.agent).toEqual(agent("claude", 1));
    expect(enqueued(decision)?.notBefore).not.toBeNull();
  });

  it("switching: the same job kind and instructions, at once, on an attempt; the comment says which agent and why", () => {
    const decision = fail({ agent: agent("claude", 1) });

    expect(enqueued(decision)).toMatchObject({ kind: "implement", notBefore: null, attempt: 2 });
    expect(decision.task.agent?.reason).toBe(
      "fallback: claude failed 2 jobs in a row (agents.fallbackAfter: 2)",
    );
    expect(comment(decision)).toContain("The implement job failed: the agent failed");
    expect(comment(decision)).toContain(
      "Fallback: claude failed 2 jobs in a row (`agents.fallbackAfter`: 2); the next job goes to codex, on the same branch",
    );
    expect(comment(decision)).toContain("queued an implement job (attempt 2 of 3)");
  });

  it("a transient switch spends no attempt, like a transient retry", () => {
    const decision = fail({ agent: agent("claude", 1), failureClass: "transient" });

    expect(decision.task.agent?.current).toBe("codex");
    expect(decision.task.used.attempts).toBe(1);
    expect(enqueued(decision)).toMatchObject({ notBefore: null, attempt: 1 });
    expect(comment(decision)).toContain("the next job goes to codex");
  });

  it("the fallback agent's own failures start from zero and move on to the next agent", () => {
    const first = fail({ agent: agent("codex", 0) });
    const second = fail({ agent: agent("codex", 1) });

    expect(first.task.agent?.current).toBe("codex");
    expect(second.task.agent?.current).toBe("gemini");
    expect(second.task.agent?.reason).toContain("codex failed 2 jobs in a row");
  });

  it("fallbackAfter 1 moves after every counted failure", () => {
    const policy = { ...FALLBACK, fallback: { ...FALLBACK.fallback, after: 1 } };

    expect(fail({ policy }).task.agent?.current).toBe("codex");
  });

  it("a success resets the count", () => {
    const task = variant("running:implement", { agent: agent("claude", 1) });

    const decision = transitionTask(task, EVENTS["job-succeeded"], NOW, FALLBACK);

    expect(decision.outcome === "transition" && decision.task.agent).toEqual(agent("claude", 0));
  });
});

describe("quota moves at once, only when another agent is available", () => {
  it("another agent online: the next job goes to it at once, no attempt spent, no wait for the reset", () => {
    const decision = fail({ failureClass: "quota" });

    expect(decision.task.agent?.current).toBe("codex");
    expect(decision.task.agent?.reason).toBe("fallback: claude hit its usage limit");
    expect(decision.task.used.attempts).toBe(1);
    expect(enqueued(decision)).toMatchObject({ notBefore: null, attempt: 1 });
    expect(comment(decision)).toContain("no attempt spent. Fallback: claude hit its usage limit");
  });

  it("skips a later agent no runner online offers", () => {
    const decision = fail({ failureClass: "quota", available: ["claude", "gemini"] });

    expect(decision.task.agent?.current).toBe("gemini");
  });

  it.each([
    ["no runner online offers a later agent", ["claude"]],
    ["no runner online at all", []],
  ])("%s: waits for the reset on the same agent", (_, available) => {
    const decision = fail({ failureClass: "quota", available });

    expect(decision.task.agent?.current).toBe("claude");
    expect(enqueued(decision)?.notBefore?.getTime()).toBeGreaterThan(NOW.getTime());
    expect(comment(decision)).toContain("it resumes at");
  });
});

describe("no fallback", () => {
  it("auth still blocks at once, whatever agent is available", () => {
    const decision = fail({ agent: agent("claude", 1), failureClass: "auth" });

    expect(decision.to).toBe("blocked");
    expect(enqueued(decision)).toBeUndefined();
    expect(decision.task.agent?.current).toBe("claude");
  });

  it("no runner online offers a later agent: the same agent goes on, and the comment says so", () => {
    const decision = fail({ agent: agent("claude", 1), available: ["claude"] });

    expect(decision.task.agent).toEqual(agent("claude", 2));
    expect(enqueued(decision)?.notBefore).not.toBeNull();
    expect(comment(decision)).toContain(
      "No runner online offers the fallback agents codex, gemini, so claude goes on",
    );
  });

  it("at the end of the chain the last agent keeps the task, counting on", () => {
    const decision = fail({ agent: agent("gemini", 3) });

    expect(decision.task.agent).toEqual(agent("gemini", 4));
    expect(comment(decision)).toContain("gemini is the last agent in");
  });

  it("no fallback configured: the agent stays and nothing is said about fallback", () => {
    const decision = fail({ agent: agent("claude", 5), policy: POLICY });

    expect(decision.task.agent).toEqual(agent("claude", 6));
    expect(comment(decision)).not.toMatch(/fallback/i);
  });

  it("a task without a routed agent (an old record) fails as before", () => {
    const decision = fail({ agent: null });

    expect(decision.task.agent).toBeNull();
    expect(enqueued(decision)?.notBefore).not.toBeNull();
  });

  it("the budget still decides: the last attempt spent blocks instead of moving", () => {
    const decision = fail({ agent: agent("claude", 1), attempts: 3 });

    expect(decision.to).toBe("blocked");
    expect(decision.task.blocker?.cause).toBe("attempts-spent");
  });
});

describe("a person starting the task again", () => {
  it.each([
    ["retry", EVENTS.retry],
    ["a revise request on a blocked PR", EVENTS["revise-requested"]],
  ] as const)("%s goes back to the routed agent", (_, event) => {
    const task = variant("blocked+pr", { agent: agent("gemini", 1) });

    const decision = transitionTask(task, event, NOW, FALLBACK);

    expect(decision.outcome === "transition" && decision.task.agent).toEqual(agent("claude"));
  });

  it("the claim note names the agent", () => {
    const task = variant("queued:fix-checks+pr", {
      agent: agent("codex"),
      pr: { headSha: HEAD, draft: true },
    });

    const decision = transitionTask(task, EVENTS["job-claimed"], NOW, FALLBACK);

    expect(decision.outcome === "transition" && comment(decision)).toContain(
      "(attempt 1, agent codex)",
    );
  });
});

describe("config: the repository's prompt template is broken", () => {
  it("blocks at once with the template's line, no retry, no fallback", () => {
    const task = variant("running:implement", { agent: agent("claude", 1) });
    const event: JobFailedEvent = {
      ...EVENTS["job-failed"],
      error: "`.github/kanbot/prompt.md` line 2: tag {% if %} not closed",
      failureClass: "config",
      failureMessage: "`.github/kanbot/prompt.md` line 2: tag {% if %} not closed",
      availableAgents: ONLINE,
    };

    const decision = transitionTask(task, event, NOW, FALLBACK);

    if (decision.outcome !== "transition") throw new Error(decision.reason);
    expect(decision.to).toBe("blocked");
    expect(enqueued(decision)).toBeUndefined();
    expect(decision.task.agent?.current).toBe("claude");
    expect(decision.task.blocker).toMatchObject({ cause: "needs-human", error: event.error });
    expect(decision.task.blocker?.message).toContain("prompt.md` line 2: tag");
    expect(decision.task.blocker?.message).toContain("`/kanbot retry`");
    expect(comment(decision)).toContain("Blocked (failure: config)");
    expect(comment(decision)).toContain("line 2");
    expect(decision.task.used.attempts).toBe(1);
  });
});
