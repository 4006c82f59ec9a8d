import { readFileSync } from "node:fs";
import { join } from "node:path";

import { describe, expect, it } from "vitest";

import { adapterFor, BUILT_IN_ADAPTERS } from "../../../runner/agents/index.js";
import { AgentConfigError, substitutePlaceholders } from "../../../runner/agents/command.js";
import type { AgentAdapter, AgentExit, AgentInvocation } from "../../../runner/agents/types.js";

const FIXTURES = join(import.meta.dirname, "../../fixtures/agents");
const invocation: AgentInvocation = {
  prompt: "Fix the parser",
  promptFile: "/tmp/kanbot/job-1/prompt.md",
  workdir: "/work/trees/job-1",
};
const cleanExit: AgentExit = { exitCode: 0, signal: null, reason: "exit", stderrTail: "" };
const failedExit: AgentExit = { exitCode: 1, signal: null, reason: "exit", stderrTail: "boom" };

function parseFixture(adapter: AgentAdapter, file: string, exit: AgentExit) {
  const parser = adapter.createParser();
  for (const line of readFileSync(join(FIXTURES, file), "utf8").split("\n"))
    parser.line(line, "stdout");
  return parser.finish(exit);
}

describe("argv building", () => {
  it.each([
    [
      "claude",
      {},
      [
        "-p",
        "--output-format",
        "stream-json",
        "--verbose",
        "--permission-mode",
        "acceptEdits",
        "--allowedTools",
        "Bash,Edit,Write,Read,Glob,Grep,NotebookEdit,TodoWrite",
      ],
    ],
    ["codex", {}, ["exec", "--json", "--sandbox", "workspace-write", "--skip-git-repo-check", "-"]],
    ["gemini", {}, ["--skip-trust", "--output-format", "stream-json", "--approval-mode", "yolo"]],
    ["opencode", {}, ["run", "--format", "json", "--auto"]],
  ] as const)("%s reads the prompt from stdin with its default flags", (name, config, args) => {
    const command = BUILT_IN_ADAPTERS[name].buildCommand(invocation, config);

    expect(command.command).toBe(name);
    expect(command.args).toEqual(args);
    expect(command.stdinFile).toBe(invocation.promptFile);
  });

  it.each([
    ["claude", ["--model", "opus", "--resume", "sess-1"]],
    [
      "codex",
      [
        "exec",
        "resume",
        "--json",
        "--skip-git-repo-check",
        "-c",
        'sandbox_mode="workspace-write"',
        "--model",
        "opus",
        "sess-1",
        "-",
      ],
    ],
    ["gemini", ["--model", "opus", "--resume", "sess-1"]],
    ["opencode", ["--model", "opus", "--session", "sess-1"]],
  ] as const)("%s passes the model and resumes a session", (name, expected) => {
    const command = BUILT_IN_ADAPTERS[name].buildCommand(
      { ...invocation, sessionId: "sess-1" },
      { model: "opus" },
    );

    expect(command.args.join(" ")).toContain(expected.join(" "));
  });

  it("claude never asks to skip permissions (refused as root) and passes the budget", () => {
    const command = BUILT_IN_ADAPTERS.claude.buildCommand({ ...invocation, maxBudgetUsd: 2.5 });

    expect(command.args).not.toContain("--dangerously-skip-permissions");
    expect(command.args).not.toContain("bypassPermissions");
    expect(command.args.join(" ")).toContain("--max-budget-usd 2.5");
    expect(command.credentials).toContain("ANTHROPIC_API_KEY");
  });

  it("aider reads the prompt file and keeps its history outside the worktree", () => {
    const command = BUILT_IN_ADAPTERS.aider.buildCommand(invocation, { model: "sonnet" });

    expect(command.args.slice(0, 2)).toEqual(["--message-file", invocation.promptFile]);
    expect(command.args).toEqual(
      expect.arrayContaining(["--yes-always", "--no-auto-commits", "--no-gitignore"]),
    );
    expect(command.args).toContain("/tmp/kanbot/job-1/aider.chat.history.md");
    expect(command.args.slice(-2)).toEqual(["--model", "sonnet"]);
    expect(command.stdinFile).toBeUndefined();
  });

  it("appends configured extra args and uses a configured program", () => {
    const command = BUILT_IN_ADAPTERS.codex.buildCommand(invocation, {
      command: "/opt/codex/bin/codex",
      extraArgs: ["--oss"],
      sandbox: "danger-full-access",
    });

    expect(command.command).toBe("/opt/codex/bin/codex");
    expect(command.args).toEqual([
      "exec",
      "--json",
      "--sandbox",
      "danger-full-access",
      "--skip-git-repo-check",
      "--oss",
      "-",
    ]);
  });
});

describe("generic command adapter", () => {
  it("substitutes placeholders per argument, in one pass, without a shell", () => {
    const tricky = { ...invocation, prompt: "say {workdir} and $(rm -rf ~); `x`" };

    const command = adapterFor("my-agent").buildCommand(tricky, {
      command: "my-agent",
      args: ["--prompt={prompt}", "--file", "{promptFile}", "-C", "{workdir}"],
    });

    expect(command.args).toEqual([
      "--prompt=say {workdir} and $(rm -rf ~); `x`",
      "--file",
      invocation.promptFile,
      "-C",
      invocation.workdir,
    ]);
  });

  it("needs a command", () => {
    expect(() => adapterFor("my-agent").buildCommand(invocation, {})).toThrow(AgentConfigError);
  });

  it("leaves unknown braces alone", () => {
    expect(substitutePlaceholders("{other} {prompt}", invocation)).toBe("{other} Fix the parser");
  });

  it("summarises plain output and fails on a non-zero exit", () => {
    const parser = adapterFor("my-agent").createParser();
    parser.line("did the thing", "stdout");
    parser.line("noise", "stderr");

    expect(parser.finish(cleanExit)).toEqual({
      success: true,
      summary: "did the thing",
      error: undefined,
    });
    expect(parser.finish(failedExit).error).toContain("exited with code 1");
  });
});

describe("output parsing against fixtures", () => {
  it("claude: success result with cost and session", () => {
    const result = parseFixture(BUILT_IN_ADAPTERS.claude, "claude/success.jsonl", cleanExit);

    expect(result).toMatchObject({
      success: true,
      costUsd: 0.0842,
      sessionId: "5d6b3a52-2b1e-4a3e-9c55-0f8d7f1c2a10",
    });
    expect(result.summary).toContain("return `undefined`");
  });

  it.each([
    ["claude/error-not-logged-in.jsonl", "Not logged in"],
    ["claude/error-api-unreachable.jsonl", "Unable to connect to API"],
    ["claude/error-max-turns.jsonl", "Reached maximum number of turns"],
  ])("claude: %s is a failure (is_error / error subtype)", (file, message) => {
    const result = parseFixture(BUILT_IN_ADAPTERS.claude, file, { ...failedExit, stderrTail: "" });

    expect(result.success).toBe(false);
    expect(result.error).toContain(message);
    expect(result.sessionId).toBeDefined();
  });

  it("claude: is_error wins over a clean exit", () => {
    expect(
      parseFixture(BUILT_IN_ADAPTERS.claude, "claude/error-not-logged-in.jsonl", cleanExit).success,
    ).toBe(false);
  });

  it("claude: no result event is a failure that names the exit", () => {
    const parser = BUILT_IN_ADAPTERS.claude.createParser();

    const result = parser.finish({
      exitCode: null,
      signal: "SIGTERM",
      reason: "timeout",
      stderrTail: "",
    });

    expect(result.success).toBe(false);
    expect(result.error).toContain("time limit");
  });

  it("codex: success with the last agent message and the thread id", () => {
    expect(parseFixture(BUILT_IN_ADAPTERS.codex, "codex/success.jsonl", cleanExit)).toEqual({
      success: true,
      summary: "Updated `parse` to return `undefined` for empty input; tests pass.",
      sessionId: "019a2b3c-4d5e-7f60-8a9b-0c1d2e3f4a5b",
      error: undefined,
    });
  });

  it("codex: a failed turn is a failure with its message", () => {
    const result = parseFixture(BUILT_IN_ADAPTERS.codex, "codex/turn-failed.jsonl", failedExit);

    expect(result.success).toBe(false);
    expect(result.error).toContain("stream disconnected before completion");
  });

  it("codex: retries alone are not a result (captured run killed while reconnecting)", () => {
    const result = parseFixture(BUILT_IN_ADAPTERS.codex, "codex/reconnecting-no-network.jsonl", {
      exitCode: null,
      signal: "SIGTERM",
      reason: "timeout",
      stderrTail: "",
    });

    expect(result.success).toBe(false);
    expect(result.sessionId).toBe("01a202a7-d1a8-7792-a3ce-66c217519d4c");
    expect(result.error).toContain("time limit");
    expect(result.error).toContain("Reconnecting");
  });

  it("gemini: success joins the last message's deltas", () => {
    expect(parseFixture(BUILT_IN_ADAPTERS.gemini, "gemini/success.jsonl", cleanExit)).toEqual({
      success: true,
      summary: "Updated `parse` to return `undefined` for empty input.",
      sessionId: "8c1f2e3d-4b5a-4c6d-9e8f-7a6b5c4d3e2f",
      error: undefined,
    });
  });

  it("gemini: an error result carries its message", () => {
    const result = parseFixture(BUILT_IN_ADAPTERS.gemini, "gemini/error-max-turns.jsonl", {
      ...failedExit,
      exitCode: 53,
    });

    expect(result.success).toBe(false);
    expect(result.error).toContain("Reached max session turns");
  });

  it("gemini: the captured run without a result event is a failure", () => {
    const result = parseFixture(
      BUILT_IN_ADAPTERS.gemini,
      "gemini/no-result-killed.jsonl",
      cleanExit,
    );

    expect(result.success).toBe(false);
    expect(result.sessionId).toBe("a706f0ad-d4ff-4d54-a297-101b1b359d02");
    expect(result.error).toContain("no result event");
  });

  it("opencode: success sums step costs and keeps the last text", () => {
    const result = parseFixture(BUILT_IN_ADAPTERS.opencode, "opencode/success.jsonl", cleanExit);

    expect(result.success).toBe(true);
    expect(result.costUsd).toBeCloseTo(0.0317, 6);
    expect(result.summary).toBe(
      "Updated `parse` to return `undefined` for empty input; the tests pass.",
    );
    expect(result.sessionId).toBe("ses_4c2a9e1b7ffeR2kQ8mW3nX5yZ1");
  });

  it("opencode: the captured error event is a failure with its message", () => {
    const result = parseFixture(
      BUILT_IN_ADAPTERS.opencode,
      "opencode/error-unreachable.jsonl",
      failedExit,
    );

    expect(result.success).toBe(false);
    expect(result.error).toContain("Cannot connect to API");
    expect(result.sessionId).toBe("ses_dfd52e8beffelRiJX9H5Jz38y1");
  });

  it("aider: cost from the usage report, summary without it", () => {
    const result = parseFixture(BUILT_IN_ADAPTERS.aider, "aider/success.txt", cleanExit);

    expect(result.success).toBe(true);
    expect(result.costUsd).toBe(0.02);
    expect(result.summary).toContain("Applied edit to src/parse.ts");
    expect(result.summary).not.toContain("Tokens:");
  });
});

describe("fixtures name their source", () => {
  it.each([
    "claude/success.jsonl",
    "claude/error-not-logged-in.jsonl",
    "claude/error-api-unreachable.jsonl",
    "claude/error-max-turns.jsonl",
    "claude/error-resume-not-found.jsonl",
    "codex/success.jsonl",
    "codex/turn-failed.jsonl",
    "codex/reconnecting-no-network.jsonl",
    "gemini/success.jsonl",
    "gemini/error-max-turns.jsonl",
    "gemini/no-result-killed.jsonl",
    "opencode/success.jsonl",
    "opencode/error-unreachable.jsonl",
    "aider/success.txt",
  ])("%s has a .source.md with the CLI version and where it came from", (file) => {
    const source = readFileSync(join(FIXTURES, `${file}.source.md`), "utf8");

    expect(source).toMatch(/CLI: .*\d+\.\d+/);
    expect(source).toMatch(/Source: \*\*(captured|assembled)\*\*/);
  });
});
