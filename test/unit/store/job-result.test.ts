import { describe, expect, it } from "vitest";
import { parseJobResult } from "../../../src/store/index.js";

const SHA = "b".repeat(40);
const CHECK = { command: "npm test", exitCode: 1, passed: false, durationSeconds: 4 };

describe("parseJobResult", () => {
  it.each([
    ["no result", undefined, undefined],
    ["an empty result", {}, { validation: [] }],
    ["a result that is not an object", "done", { validation: [] }],
    [
      "a runner's outcome (status and error left out)",
      {
        status: "failed",
        error: "tests failed",
        headSha: SHA,
        summary: "Half.",
        validation: [CHECK],
      },
      { headSha: SHA, summary: "Half.", validation: [CHECK] },
    ],
    [
      "a canceled outcome's reason and spend",
      { status: "canceled", reason: "shutdown", costUsd: 1.5, sessionId: "s-1" },
      { reason: "shutdown", costUsd: 1.5, sessionId: "s-1", validation: [] },
    ],
    [
      "an older row with fields that do not fit",
      {
        headSha: "abc",
        summary: null,
        costUsd: -1,
        durationSeconds: 30,
        validation: [CHECK, { command: 3 }],
      },
      { durationSeconds: 30, validation: [CHECK] },
    ],
    [
      "an older row whose validation is not a list",
      { headSha: SHA, validation: "passed" },
      { headSha: SHA, validation: [] },
    ],
  ])("reads %s", (_name, stored, expected) => {
    expect(parseJobResult(stored)).toEqual(expected);
  });
});
