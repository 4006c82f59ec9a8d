import { describe, expect, it } from "vitest";

import {
  choosePriority,
  containsTerm,
  parseBoardPriority,
  routeAgent,
  routeTask,
  runnerRequirements,
  type AgentSource,
  type RoutedIssue,
  type RoutingRules,
} from "../../../src/domain/routing.js";
import { BUILT_IN_AGENTS, type Priority } from "../../../src/domain/types.js";

const rules: RoutingRules = {
  defaultAgent: "claude",
  keywordRules: [
    { match: ["flaky test", "ci"], agent: "aider" },
    { match: ["css", "frontend"], agent: "gemini" },
    { match: ["test"], agent: "codex" },
  ],
  useLabels: true,
  titlePrefix: true,
  runnerLabels: [],
};
const knownAgents = [...BUILT_IN_AGENTS, "my-agent"];

function issue(partial: Partial<RoutedIssue>): RoutedIssue {
  return { title: "Do a thing", body: "", labels: [], ...partial };
}

describe("routeAgent: order and reason", () => {
  it.each<[string, Partial<RoutedIssue>, string | undefined, string, AgentSource, string]>([
    ["default", {}, undefined, "claude", "default", "default"],
    [
      "use: label",
      { labels: ["bug", "use:codex"] },
      undefined,
      "codex",
      "label",
      "label use:codex",
    ],
    [
      "title prefix",
      { title: "[gemini] Fix it" },
      undefined,
      "gemini",
      "title-prefix",
      "title prefix [gemini]",
    ],
    [
      "title prefix is case-insensitive",
      { title: "[Gemini] Fix" },
      undefined,
      "gemini",
      "title-prefix",
      "title prefix [gemini]",
    ],
    [
      "label beats title prefix",
      { title: "[gemini] x", labels: ["use:codex"] },
      undefined,
      "codex",
      "label",
      "label use:codex",
    ],
    [
      "keyword in title",
      { title: "Fix the flaky test" },
      undefined,
      "aider",
      "keyword",
      'keyword "flaky test" -> aider',
    ],
    [
      "keyword in body",
      { body: "The CSS is off" },
      undefined,
      "gemini",
      "keyword",
      'keyword "css" -> gemini',
    ],
    [
      "first rule wins",
      { title: "frontend test" },
      undefined,
      "gemini",
      "keyword",
      'keyword "frontend" -> gemini',
    ],
    [
      "title prefix beats keywords",
      { title: "[aider] css" },
      undefined,
      "aider",
      "title-prefix",
      "title prefix [aider]",
    ],
    [
      "command beats everything",
      { title: "[gemini] x", labels: ["use:codex"] },
      "opencode",
      "opencode",
      "command",
      "command /kanbot run opencode",
    ],
    [
      "command name is case-insensitive",
      {},
      "Codex",
      "codex",
      "command",
      "command /kanbot run codex",
    ],
    [
      "runner-offered agent",
      { labels: ["use:my-agent"] },
      undefined,
      "my-agent",
      "label",
      "label use:my-agent",
    ],
    [
      "label is case-insensitive",
      { labels: ["Use:Aider"] },
      undefined,
      "aider",
      "label",
      "label use:aider",
    ],
    [
      "keyword in hidden comment does not count",
      { body: "<!-- css -->" },
      undefined,
      "claude",
      "default",
      "default",
    ],
    [
      "keyword must be a whole word",
      { title: "Testing cinema" },
      undefined,
      "claude",
      "default",
      "default",
    ],
  ])("%s", (_name, partial, requestedAgent, agent, source, reason) => {
    const choice = routeAgent({ issue: issue(partial), rules, knownAgents, requestedAgent });

    expect(choice).toMatchObject({ agent, source, reason });
  });
});

describe("routeAgent: unknown and conflicting requests", () => {
  it("skips an unknown use: label, reports it and goes on", () => {
    const choice = routeAgent({
      issue: issue({ labels: ["use:codx"], title: "[gemini] x" }),
      rules,
      knownAgents,
    });

    expect(choice.agent).toBe("gemini");
    expect(choice.ignored).toEqual([
      {
        source: "label",
        request: "use:codx",
        reason: 'no agent named "codx" (known: claude, codex, gemini, aider, opencode, my-agent)',
      },
    ]);
  });

  it("skips an unknown title prefix and tries the next bracket", () => {
    const choice = routeAgent({ issue: issue({ title: "[WIP] [codex] Fix" }), rules, knownAgents });

    expect(choice).toMatchObject({ agent: "codex", source: "title-prefix" });
    expect(choice.ignored.map((i) => i.request)).toEqual(["[WIP]"]);
  });

  it("falls back to the default when a bracket is not an agent", () => {
    const choice = routeAgent({
      issue: issue({ title: "[bug] crash on start" }),
      rules,
      knownAgents,
    });

    expect(choice).toMatchObject({ agent: "claude", source: "default" });
    expect(choice.ignored).toHaveLength(1);
  });

  it("reports an unknown agent asked for by command", () => {
    const choice = routeAgent({ issue: issue({}), rules, knownAgents, requestedAgent: "gpt" });

    expect(choice.agent).toBe("claude");
    expect(choice.ignored[0]).toMatchObject({ source: "command", request: "/kanbot run gpt" });
  });

  it("uses the first of two use: labels and reports the second", () => {
    const choice = routeAgent({
      issue: issue({ labels: ["use:codex", "use:aider"] }),
      rules,
      knownAgents,
    });

    expect(choice.agent).toBe("codex");
    expect(choice.ignored).toEqual([
      { source: "label", request: "use:aider", reason: "label use:codex came first" },
    ]);
  });

  it("ignores use: labels and title prefixes when the config turns them off", () => {
    const choice = routeAgent({
      issue: issue({ labels: ["use:codex"], title: "[gemini] x" }),
      rules: { ...rules, useLabels: false, titlePrefix: false },
      knownAgents,
    });

    expect(choice).toMatchObject({ agent: "claude", source: "default", ignored: [] });
  });
});

describe("containsTerm", () => {
  it.each([
    ["Fix the flaky test", "flaky test", true],
    ["Fix the flaky\n  test", "flaky test", true],
    ["FLAKY TEST", "flaky test", true],
    ["flaky tests", "flaky test", false],
    ["uses c++ heavily", "c++", true],
    ["(css)", "css", true],
    ["scss", "css", false],
    ["café", "caf", false],
    ["anything", "  ", false],
  ])("%j contains %j: %s", (text, term, expected) => {
    expect(containsTerm(text, term)).toBe(expected);
  });
});

describe("runnerRequirements", () => {
  it.each([
    [[], [], []],
    [["gpu"], [], ["gpu"]],
    [[], ["runs-on:os:mac", "bug"], ["os:mac"]],
    [
      ["GPU", "linux"],
      ["runs-on:gpu", "Runs-On: big-disk"],
      ["gpu", "linux", "big-disk"],
    ],
  ])("config %j + labels %j -> %j", (config, labels, expected) => {
    const result = runnerRequirements(labels, { runnerLabels: config });

    expect(result.labels).toEqual(expected);
  });

  it("keeps where each label came from", () => {
    const result = runnerRequirements(["runs-on:os:mac"], { runnerLabels: ["gpu"] });

    expect(result).toEqual({
      labels: ["gpu", "os:mac"],
      fromConfig: ["gpu"],
      fromIssue: ["os:mac"],
    });
  });
});

describe("choosePriority", () => {
  it.each<[string, string[], string | null | undefined, Priority, string, string]>([
    ["default", [], undefined, 2, "default", "default"],
    ["label", ["priority:P1"], undefined, 1, "label", "label priority:P1"],
    [
      "lowest label wins",
      ["priority:P3", "priority:P0", "priority:P2"],
      undefined,
      0,
      "label",
      "label priority:P0",
    ],
    ["lower-case label", ["priority:p3"], undefined, 3, "label", "label priority:p3"],
    ["label beats board", ["priority:P3"], "P0", 3, "label", "label priority:P3"],
    ["board P value", [], "P1", 1, "board", 'board Priority "P1"'],
    ["board Urgent", [], "Urgent", 0, "board", 'board Priority "Urgent"'],
    ["board High", [], "high", 1, "board", 'board Priority "high"'],
    ["board Medium", [], "Medium", 2, "board", 'board Priority "Medium"'],
    ["board Low", [], "Low", 3, "board", 'board Priority "Low"'],
    ["board with emoji", [], "🔥 Urgent", 0, "board", 'board Priority "🔥 Urgent"'],
    [
      "unknown board value",
      [],
      "Someday",
      2,
      "default",
      'default (board Priority "Someday" not recognised)',
    ],
    ["empty board value", [], "", 2, "default", "default"],
    ["null board value", [], null, 2, "default", "default"],
    ["not a priority label", ["priority:P4", "priority:high"], undefined, 2, "default", "default"],
  ])("%s", (_name, labels, board, priority, source, reason) => {
    const choice = choosePriority(labels, board);

    expect(choice).toEqual({ priority, source, reason });
  });

  it.each([
    ["P0", 0],
    ["Critical", 0],
    ["normal", 2],
    [" p3 ", 3],
    ["P5", undefined],
  ])("parseBoardPriority(%j) = %s", (value, expected) => {
    expect(parseBoardPriority(value)).toBe(expected);
  });
});

describe("routeTask", () => {
  it("combines agent, runner labels and priority", () => {
    const routing = routeTask({
      issue: issue({ labels: ["use:codex", "runs-on:gpu", "priority:P1"] }),
      rules: { ...rules, runnerLabels: ["linux"] },
      knownAgents,
      boardPriority: "Low",
    });

    expect(routing.agent).toMatchObject({ agent: "codex", reason: "label use:codex" });
    expect(routing.runner.labels).toEqual(["linux", "gpu"]);
    expect(routing.priority).toMatchObject({ priority: 1, source: "label" });
  });
});
