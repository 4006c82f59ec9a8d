/**
 * The runner's side of a question (issue 14, part 2): the prompt says how to ask, an `answer`
 * job's prompt holds the question and the answer, and `.kanbot/question.md` is read and removed.
 */
import { mkdir, mkdtemp, readdir, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";

import { takeQuestion } from "../../../runner/job-runner.js";
import { promptForJob } from "../../../runner/prompt.js";
import type { JobDescription } from "../../../src/protocol/index.js";

function job(kind: JobDescription["kind"], input: JobDescription["input"]): JobDescription {
  return {
    id: 1,
    taskId: 1,
    kind,
    attempt: 1,
    agent: "claude",
    repository: {
      fullName: "acme/widgets",
      owner: "acme",
      name: "widgets",
      cloneUrl: "https://github.com/acme/widgets.git",
      htmlUrl: "https://github.com/acme/widgets",
    },
    issue: {
      number: 7,
      title: "Add multiply",
      body: "Add multiply.",
      comments: [],
      acceptanceCriteria: [],
      url: "https://github.com/acme/widgets/issues/7",
    },
    workspace: {
      baseBranch: null,
      branch: "kanbot/7-add-multiply",
      continueBranch: false,
      setupCommands: [],
      copyFiles: [],
      validationCommands: [],
      validationRounds: 0,
      forbiddenPaths: [],
    },
    input,
    limits: { maxMinutes: 10, maxUsd: 1, maxLogBytes: 1000, maxBodyBytes: 1000 },
  };
}

describe("the prompt and questions", () => {
  it("tells every agent how to ask one question", () => {
    expect(promptForJob(job("implement", null))).toContain("write it to `.kanbot/question.md`");
  });

  it("gives an answer job the question, its earlier summary and the maintainer's answer", () => {
    const prompt = promptForJob(
      job("answer", {
        question: "Floats or integers?",
        summary: "Looked at math.js.",
        answer: "Floats.",
        answeredBy: "ann",
      }),
    );

    expect(prompt).toContain("You asked a question while working on GitHub issue #7");
    expect(prompt).toContain("your earlier question>>>\nFloats or integers?\n");
    expect(prompt).toContain("your earlier summary>>>\nLooked at math.js.\n");
    expect(prompt).toContain("answer by @ann, a maintainer of this repository>>>\nFloats.\n");
  });

  it("says so when a person resumed without an answer", () => {
    const prompt = promptForJob(job("answer", { question: "Floats or integers?" }));

    expect(prompt).toContain("## No answer");
  });
});

describe("takeQuestion", () => {
  let dir = "";
  afterEach(async () => {
    if (dir !== "") await rm(dir, { recursive: true, force: true });
  });

  it("reads and removes .kanbot/question.md", async () => {
    dir = await mkdtemp(join(tmpdir(), "kanbot-question-"));
    await mkdir(join(dir, ".kanbot"));
    await writeFile(join(dir, ".kanbot/question.md"), "  Which database?\r\n");

    expect(await takeQuestion(dir)).toBe("Which database?");
    expect(await readdir(dir)).toEqual([]);
  });

  it("has none when the file is missing or empty, and refuses a link", async () => {
    dir = await mkdtemp(join(tmpdir(), "kanbot-question-"));
    expect(await takeQuestion(dir)).toBeUndefined();
    await mkdir(join(dir, ".kanbot"));
    await writeFile(join(dir, "secret"), "token");
    await symlink(join(dir, "secret"), join(dir, ".kanbot/question.md"));

    expect(await takeQuestion(dir)).toBeUndefined();
    expect(await readdir(dir)).toEqual(["secret"]);
  });
});
