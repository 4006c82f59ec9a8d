// `prices` in kanbot-runner.yml: model prices in US dollars per million tokens (issue 14, part 3).
import { describe, expect, it } from "vitest";

import { parseRunnerConfig } from "../../../runner/config.js";

const BASE = "appUrl: https://kanbot.example.com\nagents:\n  codex: {}\n";

describe("kanbot-runner.yml prices", () => {
  it("defaults to none (kanbot's table only)", () => {
    const result = parseRunnerConfig(BASE);

    expect(result.ok && result.config.prices).toEqual({});
  });

  it("reads a model's input, cached input and output prices", () => {
    const result = parseRunnerConfig(
      `${BASE}prices:\n  gpt-5-codex: { input: 1.25, cachedInput: 0.125, output: 10 }\n  local: { input: 0, output: 0 }\n`,
    );

    expect(result.ok && result.config.prices).toEqual({
      "gpt-5-codex": { input: 1.25, cachedInput: 0.125, output: 10 },
      local: { input: 0, output: 0 },
    });
  });

  it.each([
    ["a negative price", "  m: { input: -1, output: 1 }", "prices.m.input"],
    ["a missing output price", "  m: { input: 1 }", "prices.m.output"],
    ["an unknown field", "  m: { input: 1, output: 1, cache: 1 }", "prices.m.cache"],
  ])("refuses %s, naming the field", (_what, yaml, path) => {
    const result = parseRunnerConfig(`${BASE}prices:\n${yaml}\n`);

    expect(result.ok).toBe(false);
    expect(result.ok ? [] : result.problems.map((problem) => problem.path)).toContain(path);
  });
});
