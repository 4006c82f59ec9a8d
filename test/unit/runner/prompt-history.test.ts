/**
 * The task's earlier attempts in the next agent's prompt (issue 14 part 4): the built-in prompt's
 * "Earlier attempts" section, the same from the default template, and the `attempts` variable of
 * a repository's template, whose messages stay untrusted and opaque.
 */
import { describe, expect, it } from "vitest";

import { buildPrompt, describeAttempt, type PromptInput } from "../../../runner/prompt.js";
import {
  DEFAULT_TEMPLATE,
  PromptTemplateError,
  renderPromptTemplate,
} from "../../../runner/prompt-template.js";
import { UNTRUSTED_BEGIN } from "../../../src/domain/untrusted-text.js";

const HISTORY: PromptInput["history"] = [
  {
    attempt: 1,
    kind: "implement",
    agent: "codex",
    outcome: "failed",
    failureClass: "task",
    message: "Codex ran out of room in the model's context window.",
  },
  { attempt: 2, kind: "implement", agent: "codex", outcome: "lost" },
];

const input: PromptInput = {
  repository: "acme/widgets",
  branch: "kanbot/7-export-zero",
  issue: { number: 7, title: "Export zero", body: "Add it.", comments: [], acceptanceCriteria: [] },
  job: { kind: "implement" },
  history: HISTORY,
};

describe("earlier attempts in the prompt", () => {
  it("the built-in prompt lists each earlier job: attempt, kind, agent, outcome, class, message", () => {
    const prompt = buildPrompt(input);

    expect(prompt).toContain("## Earlier attempts");
    expect(prompt).toContain(
      "attempt 1: implement job, agent codex: failed (task): Codex ran out of room in the model's context window.",
    );
    expect(prompt).toContain("attempt 2: implement job, agent codex: lost");
    // Runners' reports are untrusted text, inside a block.
    expect(prompt).toContain(`${UNTRUSTED_BEGIN}: earlier attempts>>>`);
  });

  it("a first job has no such section", () => {
    expect(buildPrompt({ ...input, history: [] })).not.toContain("Earlier attempts");
  });

  it("the default template renders exactly the built-in prompt with the history", async () => {
    expect(await renderPromptTemplate(DEFAULT_TEMPLATE, input)).toBe(buildPrompt(input));
  });

  it("a repository template reads the attempts; a message can be placed, not read", async () => {
    const prompt = await renderPromptTemplate(
      "{% for a in attempts %}#{{ a.attempt }} {{ a.kind }} {{ a.agent }} {{ a.outcome }} {{ a.failure_class }} {{ a.message }}\n{% endfor %}",
      input,
    );

    expect(prompt).toContain("#1 implement codex failed task");
    expect(prompt).toContain("Codex ran out of room");
    expect(prompt).toContain("#2 implement codex lost");
    await expect(
      renderPromptTemplate("{% for a in attempts %}{{ a.message | upcase }}{% endfor %}", input),
    ).rejects.toBeInstanceOf(PromptTemplateError);
  });

  it.each([
    [
      {
        attempt: 3,
        kind: "fix-checks",
        agent: "gemini",
        outcome: "succeeded",
        message: "Fixed lint.",
      },
      "attempt 3: fix-checks job, agent gemini: succeeded: Fixed lint.",
    ],
    [
      { attempt: 4, kind: "revise", agent: "claude", outcome: "canceled" },
      "attempt 4: revise job, agent claude: canceled",
    ],
  ] as const)("describeAttempt(%j)", (attempt, line) => {
    expect(describeAttempt(attempt)).toBe(line);
  });
});
