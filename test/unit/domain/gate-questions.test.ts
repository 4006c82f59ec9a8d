import { describe, expect, it } from "vitest";
import { gateJudges, prAwaitsGitHub } from "../../../src/domain/task-machine.js";
import type { TaskState } from "../../../src/domain/types.js";

const HEAD = "a".repeat(40);
const OTHER = "b".repeat(40);
const STATES: TaskState[] = [
  "waiting",
  "queued",
  "running",
  "checks",
  "review",
  "blocked",
  "done",
  "canceled",
];

describe("the gate's questions, answered in one place", () => {
  it("the gate judges the accepted head while the task waits for checks or has a job pending", () => {
    const judged = STATES.filter((state) =>
      gateJudges({ state, prNumber: 7, headSha: HEAD }, HEAD),
    );
    expect(judged).toEqual(["queued", "running", "checks"]);
  });

  it("the gate never judges another head than the one the task accepted", () => {
    expect(gateJudges({ state: "checks", prNumber: 7, headSha: HEAD }, OTHER)).toBe(false);
    expect(gateJudges({ state: "checks", prNumber: 7 }, HEAD)).toBe(false);
  });

  it("a PR awaits GitHub only when the task is active, has a PR and a head, and no job pending", () => {
    const awaiting = STATES.filter((state) =>
      prAwaitsGitHub({ state, prNumber: 7, headSha: HEAD }),
    );
    expect(awaiting).toEqual(["waiting", "checks", "review"]);
    expect(prAwaitsGitHub({ state: "checks", headSha: HEAD })).toBe(false);
    expect(prAwaitsGitHub({ state: "checks", prNumber: 7 })).toBe(false);
  });
});
