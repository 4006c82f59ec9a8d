import { describe, expect, it } from "vitest";

import { promptJob, validationRoundPrompt } from "../../../runner/daemon/job-prompt.js";
import type { JobDescription } from "../../../src/protocol/index.js";

function job(kind: JobDescription["kind"], input: JobDescription["input"]): JobDescription {
  return {
    id: 1,
    taskId: 1,
    kind,
    attempt: 1,
    agent: "claude",
    repository: {
      fullName: "acme/app",
      owner: "acme",
      name: "app",
      cloneUrl: "https://github.com/acme/app.git",
      htmlUrl: "https://github.com/acme/app",
    },
    issue: {
      number: 7,
      title: "Fix it",
      body: "It is broken.",
      comments: [],
      acceptanceCriteria: [],
      url: "https://github.com/acme/app/issues/7",
    },
    workspace: {
      baseBranch: "main",
      branch: "kanbot/7-fix-it",
      continueBranch: kind !== "implement",
      setupCommands: [],
      copyFiles: [],
      validationCommands: [],
      validationRounds: 2,
      forbiddenPaths: [],
    },
    input,
    limits: { maxMinutes: 60, maxUsd: 10, maxLogBytes: 1_000_000, maxBodyBytes: 100_000 },
  };
}

describe("promptJob", () => {
  it.each([
    ["implement", null, { kind: "implement" }],
    ["revise", "use tabs", { kind: "revise", comments: [], instructions: "use tabs" }],
    [
      "fix-checks",
      "lint failed",
      { kind: "fix-checks", failingChecks: [{ name: "failing checks", output: "lint failed" }] },
    ],
    [
      "fix-checks",
      { failingChecks: [{ name: "ci", output: "boom", summary: "failure" }] },
      { kind: "fix-checks", failingChecks: [{ name: "ci", output: "boom", summary: "failure" }] },
    ],
    [
      "rebase",
      { conflictingFiles: ["a.ts"] },
      { kind: "rebase", baseBranch: "main", conflictingFiles: ["a.ts"] },
    ],
  ] as const)("%s with %j", (kind, input, expected) => {
    const json: JobDescription["input"] = JSON.parse(JSON.stringify(input));

    expect(promptJob(job(kind, json))).toEqual(expected);
  });
});

describe("validationRoundPrompt", () => {
  it("adds the failing commands' output, marked untrusted", () => {
    const prompt = validationRoundPrompt(
      "BASE",
      [
        {
          command: "npm test",
          exitCode: 1,
          passed: false,
          durationSeconds: 1,
          outputTail: "1 failing",
        },
      ],
      1,
      2,
    );

    expect(prompt.startsWith("BASE\n")).toBe(true);
    expect(prompt).toContain("## Validation failed (round 1 of 2)");
    expect(prompt).toContain("`npm test` exited with code 1");
    expect(prompt).toContain("<<<BEGIN UNTRUSTED: output of npm test>>>\n1 failing\n");
  });
});
