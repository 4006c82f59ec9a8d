import { describe, expect, it } from "vitest";

import {
  collectDependencies,
  decideReadiness,
  findCycles,
  findCycleThrough,
  formatCycle,
  formatIssueRef,
  issueKey,
  openBlockers,
  parseDependencies,
  unknownDependencies,
  type IssueRef,
  type IssueState,
  type TaskDependencies,
} from "../../../src/domain/dependencies.js";

const here = { owner: "acme", repo: "app" };

/** `"acme/app#1"` -> IssueRef */
function ref(text: string): IssueRef {
  const match = /^([^/]+)\/([^#]+)#(\d+)$/.exec(text);
  if (match === null) throw new Error(`bad ref in test: ${text}`);
  return { owner: match[1] ?? "", repo: match[2] ?? "", number: Number(match[3]) };
}

function refs(list: readonly IssueRef[]): string[] {
  return list.map(formatIssueRef);
}

describe("parseDependencies", () => {
  it.each<[string, string, string[]]>([
    ["depends on #N", "Depends on #12", ["acme/app#12"]],
    ["blocked by #N", "blocked by #3", ["acme/app#3"]],
    ["case-insensitive", "DEPENDS ON #4\nBlocked By #5", ["acme/app#4", "acme/app#5"]],
    ["with a colon", "Depends on: #6", ["acme/app#6"]],
    ["other repository", "depends on other/lib#7", ["other/lib#7"]],
    ["issue URL", "blocked by https://github.com/other/lib/issues/8", ["other/lib#8"]],
    ["pull request URL", "depends on https://github.com/other/lib/pull/9", ["other/lib#9"]],
    [
      "URL with an anchor",
      "depends on https://github.com/o/r/issues/10#issuecomment-1",
      ["o/r#10"],
    ],
    [
      "several per line",
      "depends on #1, #2 and #3; #4 & #5 #6.",
      ["acme/app#1", "acme/app#2", "acme/app#3", "acme/app#4", "acme/app#5", "acme/app#6"],
    ],
    [
      "several declarations on one line",
      "depends on #1 but is also blocked by o/r#2",
      ["acme/app#1", "o/r#2"],
    ],
    ["mid-line", "This work depends on #11 being merged", ["acme/app#11"]],
    ["in a list item", "- [ ] blocked by #13", ["acme/app#13"]],
    [
      "duplicates once",
      "depends on #1\nblocked by acme/app#1\ndepends on ACME/App#1",
      ["acme/app#1"],
    ],
    ["fenced code ignored", "```\ndepends on #1\n```\ndepends on #2", ["acme/app#2"]],
    ["quoted line ignored", "> depends on #1\ndepends on #2", ["acme/app#2"]],
    ["inline code ignored", "write `depends on #1` to declare one", []],
    ["hidden comment ignored", "<!-- depends on #1 -->", []],
    ["refs must follow the keyword", "depends on the login work (#3)", []],
    ["a list stops at other words", "depends on #1 and then #2", ["acme/app#1"]],
    ["not a keyword inside a word", "independs on #1", []],
    ["other host URL ignored", "depends on https://gitlab.com/o/r/issues/1", []],
    ["plain mention ignored", "see #1", []],
    ["zero is no issue", "depends on #0", []],
  ])("%s", (_name, body, expected) => {
    const result = parseDependencies(body, here);

    expect(refs(result)).toEqual(expected);
  });

  it("reads GitHub Enterprise URLs for the configured host", () => {
    const body = "depends on https://ghe.example.com/o/r/issues/5, https://github.com/o/r/issues/6";

    const result = parseDependencies(body, { ...here, host: "ghe.example.com" });

    expect(refs(result)).toEqual(["o/r#5"]);
  });
});

describe("collectDependencies", () => {
  const states = new Map<string, IssueState>([
    [issueKey(ref("acme/app#1")), "open"],
    [issueKey(ref("acme/app#2")), "closed"],
  ]);

  it("merges body, blocked_by and sub-issues by issue, keeping every source", () => {
    const dependencies = collectDependencies({
      issue: ref("acme/app#10"),
      body: "depends on #1, #2, #3",
      blockedBy: [
        { ref: ref("acme/app#1"), state: "open" },
        { ref: ref("acme/app#3"), state: "closed" },
      ],
      subIssues: [
        { ref: ref("acme/app#20"), state: "open" },
        { ref: ref("acme/app#21"), state: "closed" },
      ],
      bodyStates: states,
    });

    expect(dependencies).toEqual([
      { ref: ref("acme/app#1"), sources: ["body", "blocked-by"], state: "open" },
      { ref: ref("acme/app#2"), sources: ["body"], state: "closed" },
      { ref: ref("acme/app#3"), sources: ["body", "blocked-by"], state: "closed" },
      { ref: ref("acme/app#20"), sources: ["sub-issue"], state: "open" },
      { ref: ref("acme/app#21"), sources: ["sub-issue"], state: "closed" },
    ]);
    expect(refs(openBlockers(dependencies).map((d) => d.ref))).toEqual([
      "acme/app#1",
      "acme/app#20",
    ]);
    expect(unknownDependencies(dependencies)).toEqual([]);
  });

  it("keeps a body reference it could not look up as unknown, which does not block", () => {
    const dependencies = collectDependencies({
      issue: ref("acme/app#10"),
      body: "depends on #9999",
      blockedBy: [],
      subIssues: [],
      bodyStates: new Map(),
    });

    expect(dependencies).toEqual([
      { ref: ref("acme/app#9999"), sources: ["body"], state: "unknown" },
    ]);
    expect(openBlockers(dependencies)).toEqual([]);
    expect(unknownDependencies(dependencies)).toHaveLength(1);
  });
});

function graph(edges: Record<string, string[]>): TaskDependencies[] {
  return Object.entries(edges).map(([from, to]) => ({ issue: ref(from), dependsOn: to.map(ref) }));
}

describe("cycles", () => {
  it.each<[string, Record<string, string[]>, string[]]>([
    ["no edges", {}, []],
    ["a chain", { "a/b#1": ["a/b#2"], "a/b#2": ["a/b#3"] }, []],
    ["two issues", { "a/b#2": ["a/b#1"], "a/b#1": ["a/b#2"] }, ["a/b#1 -> a/b#2 -> a/b#1"]],
    ["self-dependency", { "a/b#5": ["a/b#5"] }, ["a/b#5 -> a/b#5"]],
    [
      "three issues across repositories",
      { "x/y#3": ["a/b#1"], "a/b#1": ["a/b#2"], "a/b#2": ["x/y#3"] },
      ["a/b#1 -> a/b#2 -> x/y#3 -> a/b#1"],
    ],
    [
      "two separate cycles",
      { "a/b#1": ["a/b#2"], "a/b#2": ["a/b#1"], "a/b#7": ["a/b#8"], "a/b#8": ["a/b#7"] },
      ["a/b#1 -> a/b#2 -> a/b#1", "a/b#7 -> a/b#8 -> a/b#7"],
    ],
    [
      "figure eight: every issue is on some cycle",
      { "a/b#1": ["a/b#2", "a/b#3"], "a/b#2": ["a/b#1"], "a/b#3": ["a/b#1"] },
      ["a/b#1 -> a/b#2 -> a/b#1", "a/b#1 -> a/b#3 -> a/b#1"],
    ],
    [
      "a task waiting on a cycle is not on it",
      { "a/b#9": ["a/b#1"], "a/b#1": ["a/b#2"], "a/b#2": ["a/b#1"] },
      ["a/b#1 -> a/b#2 -> a/b#1"],
    ],
    [
      "refs compare case-insensitively",
      { "A/B#1": ["a/b#2"], "a/b#2": ["a/b#1"] },
      ["A/B#1 -> a/b#2 -> A/B#1"],
    ],
  ])("%s", (_name, edges, expected) => {
    const cycles = findCycles(graph(edges));

    expect(cycles.map(formatCycle)).toEqual(expected);
  });

  it("names every issue of a cycle once, in order", () => {
    const tasks = graph({ "a/b#1": ["a/b#2"], "a/b#2": ["a/b#3"], "a/b#3": ["a/b#1"] });

    const cycle = findCycleThrough(ref("a/b#2"), tasks);

    expect(refs(cycle ?? [])).toEqual(["a/b#1", "a/b#2", "a/b#3"]);
  });

  it("finds the shortest cycle through an issue", () => {
    const tasks = graph({
      "a/b#1": ["a/b#2", "a/b#4"],
      "a/b#2": ["a/b#3"],
      "a/b#3": ["a/b#1"],
      "a/b#4": ["a/b#1"],
    });

    const cycle = findCycleThrough(ref("a/b#1"), tasks);

    expect(formatCycle(cycle ?? [])).toBe("a/b#1 -> a/b#4 -> a/b#1");
  });

  it("formats an empty cycle as nothing", () => {
    expect(formatCycle([])).toBe("");
  });
});

describe("decideReadiness", () => {
  const open = (text: string) => ({
    ref: ref(text),
    sources: ["body" as const],
    state: "open" as const,
  });
  const closed = (text: string) => ({
    ref: ref(text),
    sources: ["body" as const],
    state: "closed" as const,
  });

  it("is ready without open blockers", () => {
    const readiness = decideReadiness({
      issue: ref("a/b#1"),
      dependencies: [closed("a/b#2")],
      graph: graph({ "a/b#2": ["a/b#1"] }),
    });

    expect(readiness).toEqual({ status: "ready" });
  });

  it("waits for open blockers", () => {
    const readiness = decideReadiness({
      issue: ref("a/b#1"),
      dependencies: [open("a/b#2"), closed("a/b#3")],
      graph: [],
    });

    expect(readiness).toEqual({ status: "waiting", blockers: [open("a/b#2")] });
  });

  it("reports a cycle through the task, using its own current blockers", () => {
    const readiness = decideReadiness({
      issue: ref("a/b#1"),
      dependencies: [open("a/b#2")],
      graph: graph({ "a/b#1": [], "a/b#2": ["a/b#3"], "a/b#3": ["a/b#1"] }),
    });

    expect(readiness.status).toBe("cycle");
    expect(readiness.status === "cycle" && formatCycle(readiness.cycle)).toBe(
      "a/b#1 -> a/b#2 -> a/b#3 -> a/b#1",
    );
  });

  it("waits, without a cycle, when only its blocker is on one", () => {
    const readiness = decideReadiness({
      issue: ref("a/b#9"),
      dependencies: [open("a/b#1")],
      graph: graph({ "a/b#1": ["a/b#2"], "a/b#2": ["a/b#1"] }),
    });

    expect(readiness.status).toBe("waiting");
  });

  it("ignores stale edges of the task in the graph", () => {
    const readiness = decideReadiness({
      issue: ref("a/b#1"),
      dependencies: [open("a/b#5")],
      graph: graph({ "a/b#1": ["a/b#2"], "a/b#2": ["a/b#1"] }),
    });

    expect(readiness.status).toBe("waiting");
  });
});
