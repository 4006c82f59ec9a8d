/**
 * The task machine's transition table: every legal (situation, event) pair with its next state
 * and effects, the expected no-ops, and — generated as the complement of those two tables over
 * every situation and event type — the rejection of everything else.
 */
import { describe, expect, it } from "vitest";

import { transitionTask } from "../../../src/domain/task-machine.js";
import {
  TASK_EVENT_TYPES,
  type IgnoreCode,
  type TaskEffectType,
  type TaskEvent,
  type TaskEventType,
  type TaskSnapshot,
} from "../../../src/domain/task.js";
import type { TaskState } from "../../../src/domain/types.js";
import {
  EVENTS,
  HEAD,
  NEW_HEAD,
  NOW,
  POLICY,
  SITUATION_NAMES,
  situation,
  type Situation,
} from "./fixtures.js";

// Effect shorthands: the state mirror (label, board, progress comment) and its canceled form.
const L = "set-label";
const B = "update-board";
const C = "update-progress-comment";
const MIRROR: TaskEffectType[] = [L, B, C];
const MIRROR_CANCELED: TaskEffectType[] = [L, C];

interface LegalRow {
  from: Situation;
  event: TaskEventType;
  to: TaskState;
  effects: TaskEffectType[];
}

function row(
  from: Situation,
  event: TaskEventType,
  to: TaskState,
  effects: TaskEffectType[],
): LegalRow {
  return { from, event, to, effects };
}

/** Every legal pair of (situation, canonical event). */
const LEGAL: LegalRow[] = [
  row("none", "triggered", "queued", ["enqueue-job", ...MIRROR]),

  row("waiting", "dependencies-cleared", "queued", ["enqueue-job", ...MIRROR]),
  row("waiting", "cancel", "canceled", MIRROR_CANCELED),
  row("waiting", "needs-human", "blocked", MIRROR),

  row("queued:implement", "job-claimed", "running", MIRROR),
  // Handed to a runner, its claim never applied (the app died between the two): lost all the same.
  row("queued:implement", "job-lost", "queued", ["enqueue-job", ...MIRROR]),
  row("queued:implement", "cancel", "canceled", ["cancel-job", ...MIRROR_CANCELED]),
  row("queued:implement", "needs-human", "blocked", ["cancel-job", ...MIRROR]),

  row("queued:fix-checks+pr", "job-claimed", "running", MIRROR),
  row("queued:fix-checks+pr", "job-lost", "queued", ["enqueue-job", ...MIRROR]),
  row("queued:fix-checks+pr", "checks-passed", "review", [
    "cancel-job",
    "mark-pr-ready",
    "request-review",
    ...MIRROR,
  ]),
  row("queued:fix-checks+pr", "head-pushed", "queued", [C]),
  row("queued:fix-checks+pr", "pr-merged", "done", ["cancel-job", ...MIRROR, "delete-branch"]),
  row("queued:fix-checks+pr", "pr-closed-unmerged", "canceled", ["cancel-job", ...MIRROR_CANCELED]),
  row("queued:fix-checks+pr", "cancel", "canceled", ["cancel-job", ...MIRROR_CANCELED]),
  row("queued:fix-checks+pr", "needs-human", "blocked", ["cancel-job", ...MIRROR]),

  row("running:implement", "job-succeeded", "checks", ["open-pr", "evaluate-checks", ...MIRROR]),
  row("running:implement", "job-failed", "queued", ["enqueue-job", ...MIRROR]),
  row("running:implement", "job-lost", "queued", ["enqueue-job", ...MIRROR]),
  row("running:implement", "job-needs-input", "needs-input", ["post-question", ...MIRROR]),
  row("running:implement", "cancel", "canceled", ["cancel-job", ...MIRROR_CANCELED]),
  row("running:implement", "needs-human", "blocked", ["cancel-job", ...MIRROR]),

  row("running:revise+pr", "job-succeeded", "checks", ["update-pr", "evaluate-checks", ...MIRROR]),
  row("running:revise+pr", "job-failed", "queued", ["enqueue-job", ...MIRROR]),
  row("running:revise+pr", "job-lost", "queued", ["enqueue-job", ...MIRROR]),
  row("running:revise+pr", "job-needs-input", "needs-input", ["post-question", ...MIRROR]),
  row("running:revise+pr", "head-pushed", "running", [C]),
  row("running:revise+pr", "pr-merged", "done", ["cancel-job", ...MIRROR, "delete-branch"]),
  row("running:revise+pr", "pr-closed-unmerged", "canceled", ["cancel-job", ...MIRROR_CANCELED]),
  row("running:revise+pr", "cancel", "canceled", ["cancel-job", ...MIRROR_CANCELED]),
  row("running:revise+pr", "needs-human", "blocked", ["cancel-job", ...MIRROR]),

  row("checks", "checks-passed", "review", ["mark-pr-ready", "request-review", ...MIRROR]),
  row("checks", "checks-failed", "queued", ["enqueue-job", ...MIRROR]),
  row("checks", "revise-requested", "queued", ["enqueue-job", ...MIRROR]),
  row("checks", "base-moved-with-conflict", "queued", ["enqueue-job", ...MIRROR]),
  row("checks", "head-pushed", "checks", [C]),
  row("checks", "pr-merged", "done", [...MIRROR, "delete-branch"]),
  row("checks", "pr-closed-unmerged", "canceled", MIRROR_CANCELED),
  row("checks", "cancel", "canceled", MIRROR_CANCELED),
  row("checks", "needs-human", "blocked", MIRROR),

  row("review", "checks-failed", "queued", ["enqueue-job", ...MIRROR]),
  row("review", "revise-requested", "queued", ["enqueue-job", ...MIRROR]),
  row("review", "base-moved-with-conflict", "queued", ["enqueue-job", ...MIRROR]),
  row("review", "head-pushed", "checks", MIRROR),
  row("review", "pr-merged", "done", [...MIRROR, "delete-branch"]),
  row("review", "pr-closed-unmerged", "canceled", MIRROR_CANCELED),
  row("review", "cancel", "canceled", MIRROR_CANCELED),
  row("review", "needs-human", "blocked", MIRROR),

  row("needs-input", "answered", "queued", ["enqueue-job", ...MIRROR]),
  row("needs-input", "question-timed-out", "blocked", ["post-question", ...MIRROR]),
  row("needs-input", "cancel", "canceled", MIRROR_CANCELED),
  row("needs-input", "needs-human", "blocked", MIRROR),

  row("needs-input+pr", "answered", "queued", ["enqueue-job", ...MIRROR]),
  row("needs-input+pr", "question-timed-out", "blocked", ["post-question", ...MIRROR]),
  row("needs-input+pr", "head-pushed", "needs-input", [C]),
  row("needs-input+pr", "pr-merged", "done", [...MIRROR, "delete-branch"]),
  row("needs-input+pr", "pr-closed-unmerged", "canceled", MIRROR_CANCELED),
  row("needs-input+pr", "cancel", "canceled", MIRROR_CANCELED),
  row("needs-input+pr", "needs-human", "blocked", MIRROR),

  row("blocked:unanswered", "answered", "queued", ["enqueue-job", ...MIRROR]),
  row("blocked:unanswered", "triggered", "queued", ["enqueue-job", ...MIRROR]),
  row("blocked:unanswered", "retry", "queued", ["enqueue-job", ...MIRROR]),
  row("blocked:unanswered", "cancel", "canceled", MIRROR_CANCELED),

  row("blocked", "triggered", "queued", ["enqueue-job", ...MIRROR]),
  row("blocked", "retry", "queued", ["enqueue-job", ...MIRROR]),
  row("blocked", "cancel", "canceled", MIRROR_CANCELED),

  row("blocked+pr", "triggered", "queued", ["enqueue-job", ...MIRROR]),
  row("blocked+pr", "retry", "queued", ["enqueue-job", ...MIRROR]),
  row("blocked+pr", "revise-requested", "queued", ["enqueue-job", ...MIRROR]),
  row("blocked+pr", "head-pushed", "checks", MIRROR),
  row("blocked+pr", "pr-merged", "done", [...MIRROR, "delete-branch"]),
  row("blocked+pr", "pr-closed-unmerged", "canceled", MIRROR_CANCELED),
  row("blocked+pr", "cancel", "canceled", MIRROR_CANCELED),

  row("canceled", "triggered", "queued", ["enqueue-job", ...MIRROR]),
  row("canceled", "retry", "queued", ["enqueue-job", ...MIRROR]),

  row("canceled+pr", "triggered", "checks", ["evaluate-checks", ...MIRROR]),
  row("canceled+pr", "retry", "checks", ["evaluate-checks", ...MIRROR]),
  row("canceled+pr", "head-pushed", "canceled", []),
  row("canceled+pr", "pr-merged", "done", [...MIRROR, "delete-branch"]),
  row("canceled+pr", "pr-closed-unmerged", "canceled", [C]),
];

interface IgnoredRow {
  from: Situation;
  event: TaskEventType;
  code: IgnoreCode;
}

/** Pairs that are expected and deliberately change nothing. */
const IGNORED: IgnoredRow[] = [
  ...(
    [
      "waiting",
      "queued:implement",
      "queued:fix-checks+pr",
      "running:implement",
      "running:revise+pr",
      "checks",
      "needs-input",
      "needs-input+pr",
      "review",
    ] as const
  ).map((from) => ({ from, event: "triggered", code: "already-active" }) satisfies IgnoredRow),
  // Waiting for an answer: the answer job will push a new head, the gate re-opens on it.
  { from: "needs-input+pr", event: "checks-passed", code: "job-in-progress" },
  { from: "needs-input+pr", event: "checks-failed", code: "job-in-progress" },
  { from: "needs-input+pr", event: "base-moved-with-conflict", code: "job-in-progress" },
  { from: "queued:fix-checks+pr", event: "checks-failed", code: "job-in-progress" },
  { from: "queued:fix-checks+pr", event: "base-moved-with-conflict", code: "job-in-progress" },
  { from: "running:revise+pr", event: "checks-passed", code: "job-in-progress" },
  { from: "running:revise+pr", event: "checks-failed", code: "job-in-progress" },
  { from: "running:revise+pr", event: "base-moved-with-conflict", code: "job-in-progress" },
  { from: "review", event: "checks-passed", code: "duplicate" },
  { from: "done", event: "pr-merged", code: "duplicate" },
  { from: "canceled", event: "cancel", code: "duplicate" },
  { from: "canceled+pr", event: "cancel", code: "duplicate" },
];

function key(from: Situation, event: TaskEventType): string {
  return `${from} × ${event}`;
}

const DEFINED = new Set([...LEGAL, ...IGNORED].map((r) => key(r.from, r.event)));

/** The complement: every (situation, event type) that is neither legal nor ignored. */
const ILLEGAL = SITUATION_NAMES.flatMap((from) =>
  TASK_EVENT_TYPES.filter((event) => !DEFINED.has(key(from, event))).map((event) => ({
    from,
    event,
  })),
);

function decide(from: Situation, event: TaskEvent) {
  return transitionTask(situation(from), event, NOW, POLICY);
}

describe("task machine transition table", () => {
  it("lists each (situation, event) pair at most once across the legal and ignored tables", () => {
    const keys = [...LEGAL, ...IGNORED].map((r) => key(r.from, r.event));

    expect(new Set(keys).size).toBe(keys.length);
  });

  it("covers every situation × event type exactly once (legal + ignored + illegal)", () => {
    expect(LEGAL.length + IGNORED.length + ILLEGAL.length).toBe(
      SITUATION_NAMES.length * TASK_EVENT_TYPES.length,
    );
  });

  it.each(LEGAL)("$from + $event -> $to", ({ from, event, to, effects }) => {
    const before = situation(from);

    const decision = transitionTask(before, EVENTS[event], NOW, POLICY);

    expect(decision.outcome).toBe("transition");
    if (decision.outcome !== "transition") return;
    expect(decision.from).toBe(before?.state ?? null);
    expect(decision.to).toBe(to);
    expect(decision.task.state).toBe(to);
    expect(decision.effects.map((e) => e.type)).toEqual(effects);
    expect(situation(from)).toEqual(before); // the input was not mutated
    expect(invariantViolations(decision.task)).toEqual([]);
  });

  it.each(IGNORED)("$from + $event is ignored ($code)", ({ from, event, code }) => {
    const decision = decide(from, EVENTS[event]);

    expect(decision).toMatchObject({ outcome: "ignored", code });
  });

  it.each(ILLEGAL)("$from + $event is rejected", ({ from, event }) => {
    const decision = decide(from, EVENTS[event]);

    expect(decision.outcome).toBe("rejected");
    if (decision.outcome !== "rejected") return;
    expect(decision.reason.length).toBeGreaterThan(10);
  });

  it("never rejects a trigger for an active task", () => {
    const active = SITUATION_NAMES.filter((s) => {
      const task = situation(s);
      return (
        task !== null && ["waiting", "queued", "running", "checks", "review"].includes(task.state)
      );
    });

    for (const s of active) {
      expect(decide(s, EVENTS.triggered).outcome).toBe("ignored");
    }
  });
});

describe("task machine variants of legal events", () => {
  it.each([
    {
      name: "a new task with open dependencies waits",
      from: "none",
      event: { ...EVENTS.triggered, dependenciesOpen: true },
      to: "waiting",
      effects: MIRROR,
    },
    {
      name: "a blocked task without a PR, started again with open dependencies, waits",
      from: "blocked",
      event: { ...EVENTS.retry, dependenciesOpen: true },
      to: "waiting",
      effects: MIRROR,
    },
    {
      name: "a blocked task with a PR ignores dependencies and resumes its job",
      from: "blocked+pr",
      event: { ...EVENTS.triggered, dependenciesOpen: true },
      to: "queued",
      effects: ["enqueue-job", ...MIRROR],
    },
    {
      name: "a fatal job failure blocks at once",
      from: "running:implement",
      event: { ...EVENTS["job-failed"], fatal: true },
      to: "blocked",
      effects: MIRROR,
    },
    {
      name: "a revise job that pushed nothing re-opens the gate on the same head",
      from: "running:revise+pr",
      event: { ...EVENTS["job-succeeded"], headSha: HEAD },
      to: "checks",
      effects: ["update-pr", "evaluate-checks", ...MIRROR],
    },
    {
      name: "a /kanbot revise command is a revise request too",
      from: "review",
      event: { type: "revise-requested", source: "command", instructions: "add docs" },
      to: "queued",
      effects: ["enqueue-job", ...MIRROR],
    },
    {
      name: "closing the issue cancels",
      from: "checks",
      event: { type: "cancel", source: "issue-closed" },
      to: "canceled",
      effects: MIRROR_CANCELED,
    },
    {
      name: "removing the state label cancels",
      from: "running:implement",
      event: { type: "cancel", source: "label-removed" },
      to: "canceled",
      effects: ["cancel-job", ...MIRROR_CANCELED],
    },
    {
      name: "a card moved to Ready triggers",
      from: "none",
      event: { type: "triggered", source: "card", dependenciesOpen: false },
      to: "queued",
      effects: ["enqueue-job", ...MIRROR],
    },
  ] satisfies {
    name: string;
    from: Situation;
    event: TaskEvent;
    to: TaskState;
    effects: TaskEffectType[];
  }[])("$name", ({ from, event, to, effects }) => {
    const decision = decide(from, event);

    expect(decision).toMatchObject({ outcome: "transition", to });
    if (decision.outcome !== "transition") return;
    expect(decision.effects.map((e) => e.type)).toEqual(effects);
  });

  it("a running fix-checks job is canceled when the checks pass on the current head", () => {
    const running = situation("queued:fix-checks+pr")!;
    running.state = "running";

    const decision = transitionTask(running, EVENTS["checks-passed"], NOW, POLICY);

    expect(decision).toMatchObject({ outcome: "transition", to: "review" });
    if (decision.outcome !== "transition") return;
    expect(decision.effects[0]).toMatchObject({ type: "cancel-job" });
  });

  it("a queued revise job ignores a passing gate: it will push a new head", () => {
    const queued = situation("running:revise+pr")!;
    queued.state = "queued";

    expect(transitionTask(queued, EVENTS["checks-passed"], NOW, POLICY)).toMatchObject({
      outcome: "ignored",
      code: "job-in-progress",
    });
  });

  it("a blocked task with a PR and nothing to resume re-opens the gate on retry", () => {
    const blocked = situation("blocked+pr")!;
    blocked.job = null;

    const decision = transitionTask(blocked, EVENTS.retry, NOW, POLICY);

    expect(decision).toMatchObject({ outcome: "transition", to: "checks" });
    if (decision.outcome !== "transition") return;
    expect(decision.effects[0]).toEqual({ type: "evaluate-checks", headSha: HEAD });
  });

  it("a task canceled while its job was queued resumes that job when started again", () => {
    const canceled = transitionTask(situation("queued:fix-checks+pr"), EVENTS.cancel, NOW, POLICY);
    if (canceled.outcome !== "transition") throw new Error("expected a transition");

    const decision = transitionTask(canceled.task, EVENTS.triggered, NOW, POLICY);

    expect(decision).toMatchObject({ outcome: "transition", to: "queued" });
    if (decision.outcome !== "transition") return;
    expect(decision.effects[0]).toMatchObject({
      type: "enqueue-job",
      kind: "fix-checks",
      instructions: "lint failed",
      attempt: 1,
    });
  });

  it("the branch is kept on merge when the policy says so", () => {
    const decision = transitionTask(situation("review"), EVENTS["pr-merged"], NOW, {
      ...POLICY,
      deleteBranchOnMerge: false,
    });

    expect(decision.outcome === "transition" && decision.effects.map((e) => e.type)).toEqual(
      MIRROR,
    );
  });

  it("a PR closed unmerged forgets the PR, so starting again implements from scratch", () => {
    const closed = transitionTask(situation("review"), EVENTS["pr-closed-unmerged"], NOW, POLICY);
    if (closed.outcome !== "transition") throw new Error("expected a transition");

    const again = transitionTask(closed.task, EVENTS.triggered, NOW, POLICY);

    expect(closed.task.pr).toBeNull();
    expect(again.outcome === "transition" && again.effects[0]).toMatchObject({
      type: "enqueue-job",
      kind: "implement",
    });
  });

  it("a person's push to a blocked task re-opens the gate without resetting the budget", () => {
    const decision = transitionTask(situation("blocked+pr"), EVENTS["head-pushed"], NOW, POLICY);

    expect(decision).toMatchObject({ outcome: "transition", to: "checks" });
    if (decision.outcome !== "transition") return;
    expect(decision.task.pr?.headSha).toBe(NEW_HEAD);
    expect(decision.task.used.attempts).toBe(3);
    expect(decision.task.blocker).toBeNull();
  });

  it("records the time the task entered its new state, and keeps it on a self-transition", () => {
    const moved = transitionTask(situation("checks"), EVENTS["checks-passed"], NOW, POLICY);
    const same = transitionTask(situation("checks"), EVENTS["head-pushed"], NOW, POLICY);

    expect(moved.outcome === "transition" && moved.task.enteredAt).toEqual(NOW);
    expect(same.outcome === "transition" && same.task.enteredAt).toEqual(
      situation("checks")?.enteredAt,
    );
  });
});

/** Facts that must hold for every snapshot the machine returns. */
function invariantViolations(task: TaskSnapshot): string[] {
  const problems: string[] = [];
  if ((task.state === "queued" || task.state === "running") && task.job === null) {
    problems.push(`${task.state} without a job`);
  }
  if (["checks", "review", "done"].includes(task.state) && task.pr === null) {
    problems.push(`${task.state} without a PR`);
  }
  if (["checks", "review", "done"].includes(task.state) && task.job !== null) {
    problems.push(`${task.state} with a job`);
  }
  if (task.state === "waiting" && task.pr !== null) problems.push("waiting with a PR");
  if ((task.state === "blocked") !== (task.blocker !== null)) problems.push("blocker out of step");
  if (task.used.attempts > task.spent.attempts) problems.push("used more than spent");
  return problems;
}
