import { describe, expect, expectTypeOf, it } from "vitest";

import type { RepoConfig } from "../../../src/config/repo-config.js";
import {
  DEFAULT_REPO_CONFIG,
  formatRepoConfigErrors,
  parseRepoConfig,
  type RepoConfigError,
  type RepoConfigResult,
} from "../../../src/config/repo-config.js";
import type { Budget, Permission } from "../../../src/domain/types.js";

const options = { knownAgents: [] };

function errorsOf(result: RepoConfigResult): RepoConfigError[] {
  if (result.ok) throw new Error("expected errors, got a valid config");
  return result.errors;
}

function configOf(result: RepoConfigResult): RepoConfig {
  if (!result.ok)
    throw new Error(`expected a valid config, got:\n${formatRepoConfigErrors(result.errors)}`);
  return result.config;
}

/** YAML from lines, so tests read like the file. */
function yaml(...lines: string[]): string {
  return `${lines.join("\n")}\n`;
}

describe("defaults", () => {
  it.each<[string, string | undefined]>([
    ["a missing file", undefined],
    ["an empty file", ""],
    ["only comments", yaml("# kanbot settings", "# none yet")],
    ["an empty document", yaml("---")],
    ["sections with no value", yaml("budget:", "agents:", "  default:")],
  ])("%s gives the defaults", (_label, text) => {
    const config = configOf(parseRepoConfig(text, options));

    expect(config).toEqual(DEFAULT_REPO_CONFIG);
  });

  it("defaults are the documented ones (DESIGN section 2)", () => {
    const config = DEFAULT_REPO_CONFIG;

    expect(config.baseBranch).toBeUndefined();
    expect(config.branchPrefix).toBe("kanbot/");
    expect(config.labels).toEqual({
      trigger: "agent:ready",
      waiting: "agent:waiting",
      queued: "agent:queued",
      running: "agent:working",
      checks: "agent:checks",
      "needs-input": "agent:needs-input",
      review: "agent:review",
      done: "agent:done",
      blocked: "agent:blocked",
    });
    expect(config.agents).toEqual({
      default: "claude",
      rules: [],
      useLabels: true,
      titlePrefix: true,
      runsOn: [],
      fallback: [],
      fallbackAfter: 2,
    });
    expect(config.setup).toEqual({ commands: [], copyFiles: [] });
    expect(config.validation).toEqual({ commands: [], rounds: 2 });
    expect(config.budget).toEqual({ attempts: 5, minutes: 60, usd: 10, lostLeases: 3 });
    expect(config.checks).toEqual({
      whenNone: "wait",
      startDeadlineMinutes: 10,
      rerunFailedOnce: false,
    });
    expect(config.board).toEqual({
      statusField: "Status",
      triggerColumn: "Ready",
      priorityField: "Priority",
      columns: {
        waiting: "Ready",
        queued: "Ready",
        running: "In progress",
        checks: "In progress",
        "needs-input": "Needs input",
        review: "In review",
        done: "Done",
        blocked: "Blocked",
      },
    });
    expect(config.questions).toEqual({ answerTimeoutHours: 72 });
    expect(config.minimumPermission).toBe("write");
    expect(config.forbiddenPaths).toEqual([".github/workflows/**"]);
    expect(config.review).toEqual({ requestFromStarter: true });
    expect(config.merge).toEqual({ deleteBranch: true, auto: false, method: "squash" });
  });

  it("parses return fresh objects (no shared default lists)", () => {
    const first = configOf(parseRepoConfig(undefined, options));
    first.agents.rules.push({ match: ["x"], agent: "codex" });

    const second = configOf(parseRepoConfig(undefined, options));

    expect(second.agents.rules).toEqual([]);
  });

  it("speaks the domain's types", () => {
    expectTypeOf<RepoConfig["budget"]>().toExtend<Budget>();
    expectTypeOf<RepoConfig["minimumPermission"]>().toEqualTypeOf<Permission>();
  });
});

describe("a full valid file", () => {
  it("is read field by field", () => {
    const text = yaml(
      "baseBranch: develop",
      "branchPrefix: bots/",
      "labels:",
      "  trigger: ai:go",
      "  running: ai:running",
      "agents:",
      "  default: codex",
      "  rules:",
      "    - match: [css, frontend]",
      "      agent: gemini",
      "    - match: [gpu]",
      "      agent: my-local-agent",
      "  useLabels: false",
      "  titlePrefix: false",
      "  runsOn: [linux, os:mac]",
      "  fallback: [codex, gemini]",
      "  fallbackAfter: 3",
      "setup:",
      "  commands: [npm ci]",
      "  copyFiles: [.env, config/local.json]",
      "validation:",
      "  commands:",
      "    - npm run lint",
      "    - npm test",
      "  rounds: 0",
      "budget: { attempts: 3, minutes: 30, usd: 2.5, lostLeases: 1 }",
      "checks:",
      "  required: [build, test (20)]",
      "  whenNone: pass",
      "  startDeadlineMinutes: 0",
      "  rerunFailedOnce: true",
      "board:",
      "  project: 7",
      "  statusField: Stage",
      "  triggerColumn: Todo",
      "  columns: { running: Doing, blocked: Stuck }",
      "  priorityField: Urgency",
      "minimumPermission: maintain",
      "forbiddenPaths: [.github/**, secrets/**]",
      "review:",
      "  requestFromStarter: false",
      "merge:",
      "  deleteBranch: false",
      "  auto: true",
      "  method: rebase",
    );

    const config = configOf(parseRepoConfig(text, { knownAgents: ["my-local-agent"] }));

    expect(config).toEqual({
      baseBranch: "develop",
      branchPrefix: "bots/",
      labels: { ...DEFAULT_REPO_CONFIG.labels, trigger: "ai:go", running: "ai:running" },
      agents: {
        default: "codex",
        rules: [
          { match: ["css", "frontend"], agent: "gemini" },
          { match: ["gpu"], agent: "my-local-agent" },
        ],
        useLabels: false,
        titlePrefix: false,
        runsOn: ["linux", "os:mac"],
        fallback: ["codex", "gemini"],
        fallbackAfter: 3,
      },
      setup: { commands: ["npm ci"], copyFiles: [".env", "config/local.json"] },
      validation: { commands: ["npm run lint", "npm test"], rounds: 0 },
      budget: { attempts: 3, minutes: 30, usd: 2.5, lostLeases: 1 },
      checks: {
        required: ["build", "test (20)"],
        whenNone: "pass",
        startDeadlineMinutes: 0,
        rerunFailedOnce: true,
      },
      board: {
        project: 7,
        statusField: "Stage",
        triggerColumn: "Todo",
        columns: { ...DEFAULT_REPO_CONFIG.board.columns, running: "Doing", blocked: "Stuck" },
        priorityField: "Urgency",
      },
      questions: { answerTimeoutHours: 72 },
      minimumPermission: "maintain",
      forbiddenPaths: [".github/**", "secrets/**"],
      review: { requestFromStarter: false },
      merge: { deleteBranch: false, auto: true, method: "rebase" },
    });
  });
});

describe("checks.startDeadlineMinutes and its earlier name", () => {
  it.each<[string, string, number]>([
    ["the new name", yaml("checks:", "  startDeadlineMinutes: 4"), 4],
    ["the deprecated name alone still works", yaml("checks:", "  noChecksWaitMinutes: 3"), 3],
    ["neither: the default", yaml("checks:", "  whenNone: pass"), 10],
  ])("%s", (_name, text, minutes) => {
    const config = configOf(parseRepoConfig(text, { knownAgents: [] }));

    expect(config.checks.startDeadlineMinutes).toBe(minutes);
    expect(config.checks).not.toHaveProperty("noChecksWaitMinutes");
  });

  it("refuses both names at once, pointing at the old one", () => {
    const text = yaml("checks:", "  startDeadlineMinutes: 4", "  noChecksWaitMinutes: 3");

    const errors = errorsOf(parseRepoConfig(text, { knownAgents: [] }));

    expect(errors).toEqual([
      expect.objectContaining({
        path: "checks.noChecksWaitMinutes",
        message: expect.stringContaining("earlier name of startDeadlineMinutes") as string,
        line: 3,
      }),
    ]);
  });

  it("names the two choices of whenNone on a typo", () => {
    const errors = errorsOf(
      parseRepoConfig(yaml("checks:", "  whenNone: wiat"), { knownAgents: [] }),
    );

    expect(errors).toEqual([
      expect.objectContaining({
        path: "checks.whenNone",
        message: 'expected one of wait, pass, got "wiat" (did you mean "wait"?)',
        line: 2,
      }),
    ]);
  });
});

describe("errors a maintainer can act on", () => {
  it.each<[string, string, { path: string; message: string; line?: number; column?: number }]>([
    [
      "a misspelt default agent",
      yaml("agents:", "  default: cladue"),
      {
        path: "agents.default",
        message:
          'unknown agent "cladue"; known: aider, claude, codex, gemini, opencode; did you mean "claude"?',
        line: 2,
        column: 12,
      },
    ],
    [
      "an unknown agent with no close name",
      yaml("agents:", "  default: copilot"),
      {
        path: "agents.default",
        message: 'unknown agent "copilot"; known: aider, claude, codex, gemini, opencode',
        line: 2,
      },
    ],
    [
      "an unknown agent in a keyword rule",
      yaml("agents:", "  rules:", "    - match: [css]", "      agent: codx"),
      {
        path: "agents.rules[0].agent",
        message:
          'unknown agent "codx"; known: aider, claude, codex, gemini, opencode; did you mean "codex"?',
        line: 4,
      },
    ],
    [
      "a word where a number belongs",
      yaml("budget:", "  attempts: three"),
      {
        path: "budget.attempts",
        message: 'expected a whole number ≥ 1, got "three"',
        line: 2,
        column: 13,
      },
    ],
    [
      "a fraction of an attempt",
      yaml("budget:", "  attempts: 1.5"),
      { path: "budget.attempts", message: "expected a whole number ≥ 1, got 1.5", line: 2 },
    ],
    [
      "zero attempts",
      yaml("budget:", "  attempts: 0"),
      { path: "budget.attempts", message: "expected a whole number ≥ 1, got 0", line: 2 },
    ],
    [
      "a negative budget",
      yaml("budget:", "  usd: -1"),
      { path: "budget.usd", message: "expected a number greater than 0, got -1", line: 2 },
    ],
    [
      "a misspelt top-level field",
      yaml("agnets:", "  default: claude"),
      {
        path: "agnets",
        message: 'unknown field "agnets" (did you mean "agents"?)',
        line: 1,
        column: 1,
      },
    ],
    [
      "a misspelt nested field",
      yaml("board:", "  project: 3", "  colums:", "    done: Shipped"),
      {
        path: "board.colums",
        message: 'unknown field "colums" (did you mean "columns"?)',
        line: 3,
        column: 3,
      },
    ],
    [
      "an unknown field with no close name",
      yaml("frobnicate: true"),
      { path: "frobnicate", message: 'unknown field "frobnicate"', line: 1 },
    ],
    [
      "YAML syntax",
      yaml("budget:", "  attempts: [1, 2"),
      {
        path: "",
        message:
          "YAML syntax error: Flow sequence in block collection must be sufficiently indented and end with a ]",
        line: 3,
        column: 1,
      },
    ],
    [
      "a tab-indented key",
      yaml("budget:", "\tattempts: 2"),
      {
        path: "",
        message: "YAML syntax error: Tabs are not allowed as indentation",
        line: 2,
        column: 1,
      },
    ],
    [
      "a duplicate key",
      yaml("branchPrefix: a/", "branchPrefix: b/"),
      { path: "", message: "YAML syntax error: Map keys must be unique", line: 2, column: 1 },
    ],
    [
      "a list where a mapping belongs",
      yaml("- agents", "- budget"),
      {
        path: "",
        message: "expected a mapping of fields (name: value lines), got a list",
        line: 1,
      },
    ],
    [
      "a scalar section",
      yaml("budget: 5"),
      {
        path: "budget",
        message: "expected a mapping of fields (name: value lines), got 5",
        line: 1,
        column: 9,
      },
    ],
    [
      "a misspelt permission",
      yaml("minimumPermission: writer"),
      {
        path: "minimumPermission",
        message:
          'expected one of read, triage, write, maintain, admin, got "writer" (did you mean "write"?)',
        line: 1,
      },
    ],
    [
      "yes for a boolean",
      yaml("merge:", "  auto: yes"),
      { path: "merge.auto", message: 'expected true or false, got "yes"', line: 2 },
    ],
    [
      "a word where a list of words belongs",
      yaml("agents:", "  rules:", "    - match: css", "      agent: codex"),
      {
        path: "agents.rules[0].match",
        message: 'expected a list of words, such as [css, frontend], got "css"',
        line: 3,
      },
    ],
    [
      "a keyword rule without an agent",
      yaml("agents:", "  rules:", "    - match: [css]"),
      {
        path: "agents.rules[0].agent",
        message: "expected an agent name (one word), got nothing",
        line: 3,
      },
    ],
    [
      "a copied file outside the repository",
      yaml("setup:", "  copyFiles: [.env, ../../.ssh/id_rsa]"),
      {
        path: "setup.copyFiles[1]",
        message:
          'expected a path inside the repository (relative, without a leading "/", any ".." or ".git"), got "../../.ssh/id_rsa"',
        line: 2,
        column: 21,
      },
    ],
    [
      "an absolute copied file",
      yaml("setup:", "  copyFiles: [/etc/passwd]"),
      {
        path: "setup.copyFiles[0]",
        message:
          'expected a path inside the repository (relative, without a leading "/", any ".." or ".git"), got "/etc/passwd"',
      },
    ],
    [
      "a copied file from git's own directory",
      yaml("setup:", "  copyFiles: [.git/config]"),
      {
        path: "setup.copyFiles[0]",
        message:
          'expected a path inside the repository (relative, without a leading "/", any ".." or ".git"), got ".git/config"',
      },
    ],
    [
      "a command that is a list",
      yaml("validation:", "  commands:", "    - [npm, test]"),
      {
        path: "validation.commands[0]",
        message: "expected a command (one line, run from the repository root), got a list",
        line: 3,
      },
    ],
    [
      "too many validation rounds",
      yaml("validation:", "  rounds: 50"),
      { path: "validation.rounds", message: "expected at most 10 rounds", line: 2 },
    ],
    [
      "an empty list of required checks",
      yaml("checks:", "  required: []"),
      {
        path: "checks.required",
        message: "expected at least one check name; remove the field to use the default",
        line: 2,
      },
    ],
    [
      "a branch prefix git refuses",
      yaml("branchPrefix: my bots/"),
      {
        path: "branchPrefix",
        message:
          'expected a branch name prefix (characters valid in a git branch name), got "my bots/"',
      },
    ],
    [
      "a label used twice",
      yaml("labels:", "  queued: agent:ready"),
      {
        path: "labels.queued",
        message:
          'label "agent:ready" is also used by labels.trigger; every state and the trigger need their own label',
        line: 2,
      },
    ],
    [
      "a label longer than GitHub allows",
      yaml(`labels:`, `  done: ${"x".repeat(51)}`),
      {
        path: "labels.done",
        message: `expected a label name of at most 50 characters, got "${"x".repeat(51)}"`,
      },
    ],
    [
      "a project number that is not a number",
      yaml("board:", "  project: '#3'"),
      { path: "board.project", message: 'expected a whole number ≥ 1, got "#3"', line: 2 },
    ],
    [
      "a merge method typo",
      yaml("merge:", "  method: sqash"),
      {
        path: "merge.method",
        message: 'expected one of squash, merge, rebase, got "sqash" (did you mean "squash"?)',
      },
    ],
  ])("%s", (_label, text, expected) => {
    const errors = errorsOf(parseRepoConfig(text, options));

    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject(expected);
  });

  it("knows the agents registered runners offer", () => {
    const text = yaml("agents:", "  default: local-llm");

    const withRunner = parseRepoConfig(text, { knownAgents: ["local-llm"] });
    const without = errorsOf(parseRepoConfig(text, options));

    expect(withRunner.ok).toBe(true);
    expect(without[0]?.message).toBe(
      'unknown agent "local-llm"; known: aider, claude, codex, gemini, opencode',
    );
  });

  it("lists runner agents among the known ones, sorted and without duplicates", () => {
    const errors = errorsOf(
      parseRepoConfig(yaml("agents:", "  default: nope"), {
        knownAgents: ["zed", "claude", "alpha"],
      }),
    );

    expect(errors[0]?.message).toBe(
      'unknown agent "nope"; known: aider, alpha, claude, codex, gemini, opencode, zed',
    );
  });

  it("reports every problem at once, in file order", () => {
    const text = yaml(
      "minimumPermission: writer",
      "agnets:",
      "  default: claude",
      "budget:",
      "  attempts: three",
      "  usd: 0",
      "agents:",
      "  default: cladue",
    );

    const errors = errorsOf(parseRepoConfig(text, options));

    expect(errors.map((error) => [error.line, error.path])).toEqual([
      [1, "minimumPermission"],
      [2, "agnets"],
      [5, "budget.attempts"],
      [6, "budget.usd"],
      [8, "agents.default"],
    ]);
  });

  it("refuses a huge file before parsing it", () => {
    const errors = errorsOf(parseRepoConfig(`# ${"x".repeat(300 * 1024)}\n`, options));

    expect(errors).toEqual([{ path: "", message: "the file is larger than 256 KiB" }]);
  });

  it("refuses an alias bomb", () => {
    const text = yaml(
      "a: &a [x, x, x, x, x, x, x, x, x, x]",
      "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]",
      "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]",
      "d: [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]",
    );

    const errors = errorsOf(parseRepoConfig(text, options));

    expect(errors[0]?.message).toMatch(/^the YAML could not be read: .*alias/i);
  });
});

describe("formatRepoConfigErrors", () => {
  const errors: RepoConfigError[] = [
    {
      path: "agents.default",
      message:
        'unknown agent "cladue"; known: aider, claude, codex, gemini, opencode; did you mean "claude"?',
      line: 2,
      column: 12,
    },
    { path: "", message: "YAML syntax error: Map keys must be unique", line: 5, column: 1 },
    { path: "budget", message: "expected a mapping of fields (name: value lines), got 5" },
  ];

  it("names the file, each problem with its line, and how to fix it", () => {
    const markdown = formatRepoConfigErrors(errors);

    expect(markdown).toContain("### kanbot cannot use `.github/kanbot.yml`");
    expect(markdown).toContain("kanbot found 3 problems in `.github/kanbot.yml`");
    expect(markdown).toContain(
      '```text\n.github/kanbot.yml:2:12: agents.default: unknown agent "cladue"; known: aider, claude, codex, gemini, opencode; did you mean "claude"?\n' +
        ".github/kanbot.yml:5:1: YAML syntax error: Map keys must be unique\n" +
        ".github/kanbot.yml: budget: expected a mapping of fields (name: value lines), got 5\n```",
    );
    expect(markdown).toContain("Fix the file on the default branch");
    expect(markdown).toContain("docs/configuration.md");
  });

  it("uses the given file, branch and docs link", () => {
    const markdown = formatRepoConfigErrors(errors.slice(0, 1), {
      file: ".github/kanbot.yaml",
      ref: "main",
      docsUrl: "https://example.com/docs/configuration",
    });

    expect(markdown).toContain("kanbot found 1 problem in `.github/kanbot.yaml`");
    expect(markdown).toContain(".github/kanbot.yaml:2:12: agents.default");
    expect(markdown).toContain("Fix the file on `main`");
    expect(markdown).toContain("[configuration reference](https://example.com/docs/configuration)");
  });

  it("keeps text from the file inside the code block", () => {
    const sneaky: RepoConfigError[] = [
      { path: "x", message: 'unknown field "```\n@everyone <img src=x>"', line: 1, column: 1 },
    ];

    const markdown = formatRepoConfigErrors(sneaky);

    expect(markdown).toContain("````text\n");
    expect(markdown).toMatch(/\n````\n/);
  });

  it("lists at most 30 problems", () => {
    const many = Array.from({ length: 35 }, (_, index) => ({
      path: `f${index}`,
      message: "bad",
      line: index + 1,
      column: 1,
    }));

    const markdown = formatRepoConfigErrors(many);

    expect(markdown).toContain(".github/kanbot.yml:30:1: f29: bad\n… and 5 more");
    expect(markdown).not.toContain("f30:");
  });
});
