import { describe, expect, it } from "vitest";

import { parseRunnerConfig, resolvePath } from "../../../runner/config.js";

const MINIMAL = "appUrl: https://kanbot.example.com\nagents:\n  claude: {}\n";

describe("parseRunnerConfig", () => {
  it("fills the defaults of a minimal file", () => {
    const result = parseRunnerConfig(MINIMAL);

    expect(result).toMatchObject({
      ok: true,
      config: {
        appUrl: "https://kanbot.example.com",
        concurrency: 1,
        workDir: "~/.kanbot-runner/work",
        labels: [],
        repos: [],
        agents: { claude: { timeoutMinutes: 60, silenceMinutes: 15 } },
        validation: { maxRounds: 3, timeoutMinutes: 30 },
        keepFailedWorktreesHours: 24,
        shutdownGraceSeconds: 300,
      },
    });
  });

  it.each([
    [
      "a wrong type, with its line",
      `${MINIMAL}concurrency: two\n`,
      { path: "concurrency", line: 4, message: 'expected a whole number ≥ 1 and ≤ 64, got "two"' },
    ],
    [
      "an unknown field, with the likely intended name",
      `${MINIMAL}conccurency: 2\n`,
      {
        path: "conccurency",
        line: 4,
        message: 'unknown field "conccurency" (did you mean "concurrency"?)',
      },
    ],
    [
      "a nested agent field",
      "appUrl: https://k.example\nagents:\n  codex:\n    adapter: codx\n",
      { path: "agents.codex.adapter", line: 4 },
    ],
    ["a missing app URL", "agents:\n  claude: {}\n", { path: "appUrl", message: "is required" }],
    ["no agents", "appUrl: https://k.example\nagents: {}\n", { path: "agents", line: 2 }],
    [
      "a repository that is not owner/name",
      `${MINIMAL}repos: [widgets]\n`,
      { path: "repos[0]", line: 4 },
    ],
    ["broken YAML", "appUrl: [\n", { path: "" }],
  ])("reports %s", (_name, text, problem) => {
    const result = parseRunnerConfig(text);

    expect(result.ok).toBe(false);
    expect(result.ok ? [] : result.problems).toContainEqual(expect.objectContaining(problem));
  });
});

describe("resolvePath", () => {
  it.each([
    ["./work", "/etc/kanbot", "/etc/kanbot/work"],
    ["~/work", "/etc/kanbot", "/home/me/work"],
    ["/var/lib/kanbot", "/etc/kanbot", "/var/lib/kanbot"],
  ])("%s from %s is %s", (path, base, expected) => {
    expect(resolvePath(path, base, "/home/me")).toBe(expected);
  });
});
