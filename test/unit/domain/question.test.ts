/**
 * Questions to humans (src/domain/question.ts and the machine's question events): the question
 * comment keeps the agent's text inert, the answer job carries question and answer, and the
 * machine spends no attempt on the round trip.
 */
import { describe, expect, it } from "vitest";

import { parseCommand } from "../../../src/domain/commands.js";
import {
  answerDueAt,
  parseQuestionInput,
  QUESTION_LIMIT,
  questionInstructions,
  renderQuestionComment,
} from "../../../src/domain/question.js";
import { transitionTask } from "../../../src/domain/task-machine.js";
import { EVENTS, NOW, POLICY, situation, variant } from "./fixtures.js";

const ISSUE = { owner: "acme", repo: "widgets", number: 7 };

describe("renderQuestionComment", () => {
  it("shows the agent's text only in a fenced block it cannot close, with who may answer", () => {
    const body = renderQuestionComment({
      issue: ISSUE,
      jobId: "12",
      question: "Ping @octocat?\n```\n# Heading <img src=x>",
      minimumPermission: "write",
      dueAt: new Date("2025-03-04T12:00:00Z"),
    });

    expect(body.startsWith("<!-- kanbot:question acme/widgets#7 job=12 -->")).toBe(true);
    expect(body).toContain("````text\nPing @octocat?\n```\n# Heading <img src=x>\n````");
    expect(body).toContain("at least `write` permission");
    expect(body).toContain("`/kanbot answer <your answer>`");
    expect(body).toContain("by 2025-03-04T12:00:00Z the task is blocked");
  });

  it("cuts a long question with a visible note", () => {
    const body = renderQuestionComment({
      issue: ISSUE,
      jobId: "1",
      question: "x".repeat(QUESTION_LIMIT + 500),
      minimumPermission: "write",
    });

    expect(body).not.toContain("x".repeat(QUESTION_LIMIT + 1));
    expect(body).toMatch(/characters/);
  });
});

describe("question instructions", () => {
  it("round-trip through the job's input", () => {
    const text = questionInstructions({ question: "Q?", answer: "A.", answeredBy: "ann" });

    expect(parseQuestionInput(text)).toEqual({ question: "Q?", answer: "A.", answeredBy: "ann" });
    expect(parseQuestionInput("plain instructions")).toBeUndefined();
  });

  it.each([
    [72, "2025-03-04T12:00:00.000Z"],
    [0.5, "2025-03-01T12:30:00.000Z"],
    [0, undefined],
  ])("answerTimeoutHours %s is due at %s", (hours, due) => {
    expect(answerDueAt(NOW, hours)?.toISOString()).toBe(due);
  });
});

describe("/kanbot answer", () => {
  it.each([
    ["/kanbot answer Use Postgres.", "Use Postgres."],
    ["/kanbot Answer: keep floats\nand document it", "keep floats\nand document it"],
  ])("%j answers %j", (comment, text) => {
    expect(parseCommand(comment)).toEqual({ kind: "answer", text });
  });
});

describe("task machine: questions", () => {
  it("asking keeps the attempt count and plans an answer job with the question", () => {
    const decision = transitionTask(
      situation("running:implement"),
      EVENTS["job-needs-input"],
      NOW,
      POLICY,
    );

    expect(decision).toMatchObject({ outcome: "transition", to: "needs-input" });
    if (decision.outcome !== "transition") return;
    expect(decision.task.used.attempts).toBe(1);
    expect(decision.task.job?.kind).toBe("answer");
    expect(parseQuestionInput(decision.task.job?.instructions)).toEqual({
      question: "Which database should this use?",
      askedBy: "implement",
    });
    expect(decision.effects[0]).toEqual({
      type: "post-question",
      jobId: "job-1",
      question: "Which database should this use?",
    });
  });

  it("an answer queues the answer job with question and answer, spending no attempt", () => {
    const decision = transitionTask(situation("needs-input"), EVENTS.answered, NOW, POLICY);

    expect(decision).toMatchObject({ outcome: "transition", to: "queued" });
    if (decision.outcome !== "transition") return;
    expect(decision.task.used.attempts).toBe(1);
    const enqueue = decision.effects.find((effect) => effect.type === "enqueue-job");
    expect(enqueue).toMatchObject({ kind: "answer", attempt: 1 });
    expect(
      parseQuestionInput(enqueue?.type === "enqueue-job" ? enqueue.instructions : null),
    ).toEqual({
      question: "Which database?",
      askedBy: "implement",
      answer: "Use Postgres.",
      answeredBy: "maintainer",
    });
  });

  it("an empty answer is rejected", () => {
    const decision = transitionTask(
      situation("needs-input"),
      { type: "answered", answer: " \u200b ", author: "ann" },
      NOW,
      POLICY,
    );

    expect(decision.outcome).toBe("rejected");
  });

  it("an answer with the time budget spent blocks with the answer job kept", () => {
    const task = variant("needs-input", {
      used: { attempts: 1, minutes: 60, usd: 1, lostLeases: 0 },
    });

    const decision = transitionTask(task, EVENTS.answered, NOW, POLICY);

    expect(decision).toMatchObject({ outcome: "transition", to: "blocked" });
    if (decision.outcome !== "transition") return;
    expect(decision.task.blocker?.cause).toBe("minutes-spent");
    expect(decision.task.job?.kind).toBe("answer");
  });

  it("a timeout before the question is due changes nothing", () => {
    const decision = transitionTask(
      variant("needs-input", { enteredAt: new Date(NOW.getTime() - 60_000) }),
      EVENTS["question-timed-out"],
      NOW,
      POLICY,
    );

    expect(decision).toMatchObject({ outcome: "ignored", code: "not-due" });
  });

  it("a timeout blocks with a reminder that repeats the question", () => {
    const decision = transitionTask(
      situation("needs-input"),
      EVENTS["question-timed-out"],
      NOW,
      POLICY,
    );

    expect(decision).toMatchObject({ outcome: "transition", to: "blocked" });
    if (decision.outcome !== "transition") return;
    expect(decision.task.blocker?.cause).toBe("question-unanswered");
    expect(decision.effects[0]).toMatchObject({
      type: "post-question",
      question: "Which database?",
      reminder: true,
    });
  });

  it("a late answer on a task blocked for want of one starts it again with a fresh budget", () => {
    const decision = transitionTask(situation("blocked:unanswered"), EVENTS.answered, NOW, POLICY);

    expect(decision).toMatchObject({ outcome: "transition", to: "queued" });
    if (decision.outcome !== "transition") return;
    expect(decision.task.used.attempts).toBe(1);
    expect(decision.task.blocker).toBeNull();
  });
});
