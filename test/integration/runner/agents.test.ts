// Each adapter run for real through runAgent, with the fake agent standing in for the CLI: it
// reads the prompt the way the real CLI would (stdin, or --message-file for aider), edits a file
// in the worktree and prints that CLI's output format.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { afterEach, beforeEach, describe, expect, it } from "vitest";

import { BUILT_IN_ADAPTERS, adapterFor, runAgent } from "../../../runner/agents/index.js";
import type { AgentInvocation } from "../../../runner/agents/types.js";

const FAKE_AGENT = join(import.meta.dirname, "../../fixtures/agents/fake-agent.mjs");
const LIMITS = { timeoutMs: 60_000, graceMs: 2_000 };

let scratch: string;
let invocation: AgentInvocation;

beforeEach(() => {
  scratch = mkdtempSync(join(tmpdir(), "kanbot-agents-"));
  const workdir = mkdtempSync(join(tmpdir(), "kanbot-worktree-"));
  const prompt = "Implement issue #42: parser returns null\nmore detail";
  const promptFile = join(scratch, "prompt.md");
  writeFileSync(promptFile, prompt);
  invocation = { prompt, promptFile, workdir };
});

afterEach(() => {
  rmSync(scratch, { recursive: true, force: true });
  rmSync(invocation.workdir, { recursive: true, force: true });
});

describe("runAgent", () => {
  it.each([
    ["claude", { costUsd: 0.0842, sessionId: "5d6b3a52-2b1e-4a3e-9c55-0f8d7f1c2a10" }],
    ["codex", { sessionId: "019a2b3c-4d5e-7f60-8a9b-0c1d2e3f4a5b" }],
    ["gemini", { sessionId: "8c1f2e3d-4b5a-4c6d-9e8f-7a6b5c4d3e2f" }],
    ["opencode", { sessionId: "ses_4c2a9e1b7ffeR2kQ8mW3nX5yZ1" }],
    ["aider", { costUsd: 0.02 }],
  ] as const)(
    "%s: the agent gets the prompt, edits the worktree and its output is parsed",
    async (name, expected) => {
      const logs: string[] = [];

      const result = await runAgent({
        jobId: `agents-test-${name}-${process.pid}`,
        adapter: BUILT_IN_ADAPTERS[name],
        invocation,
        config: { command: FAKE_AGENT, env: { FAKE_AGENT_MODE: name } },
        limits: LIMITS,
        onLog: (text) => logs.push(text),
      });

      expect(result).toMatchObject({ success: true, ...expected });
      expect(result.summary).toContain("undefined");
      expect(readFileSync(join(invocation.workdir, "kanbot-fake-edit.txt"), "utf8")).toBe(
        "Implement issue #42: parser returns null\n",
      );
      const argv = JSON.parse(
        readFileSync(join(invocation.workdir, "fake-agent-argv.json"), "utf8"),
      ) as string[];
      expect(argv).toEqual(BUILT_IN_ADAPTERS[name].buildCommand(invocation).args);
      expect(logs.join("").length).toBeGreaterThan(0);
    },
  );

  it("a failing agent is a failure with its stderr", async () => {
    const result = await runAgent({
      jobId: `agents-test-fail-${process.pid}`,
      adapter: BUILT_IN_ADAPTERS.claude,
      invocation,
      config: { command: FAKE_AGENT, env: { FAKE_AGENT_MODE: "fail" } },
      limits: LIMITS,
    });

    expect(result.success).toBe(false);
    expect(result.run.exitCode).toBe(3);
    expect(result.error).toContain("something went wrong");
  });

  it("the generic command adapter substitutes placeholders and never uses a shell", async () => {
    const result = await runAgent({
      jobId: `agents-test-command-${process.pid}`,
      adapter: adapterFor("echo-agent"),
      invocation: { ...invocation, prompt: "$(touch pwned) {workdir}" },
      config: { command: "node", args: ["-e", "console.log(process.argv[1])", "{prompt}"] },
      limits: LIMITS,
    });

    expect(result).toMatchObject({ success: true, summary: "$(touch pwned) {workdir}" });
  });

  it("the agent's environment holds no token, only its own credentials", async () => {
    const before = { ...process.env };
    process.env.GITHUB_TOKEN = "ghs_abcdefghijklmnopqrstuvwxyz0123456789";
    process.env.GH_TOKEN = "gho_abcdefghijklmnopqrstuvwxyz0123456789";
    process.env.ANTHROPIC_API_KEY = "sk-ant-test";
    let summary = "";
    try {
      const result = await runAgent({
        jobId: `agents-test-env-${process.pid}`,
        adapter: adapterFor("env-dump"),
        invocation,
        config: {
          command: FAKE_AGENT,
          env: { FAKE_AGENT_MODE: "env" },
          credentials: ["ANTHROPIC_API_KEY"],
        },
        limits: LIMITS,
      });
      summary = result.summary;
    } finally {
      process.env = before;
    }

    const env = JSON.parse(summary) as Record<string, string>;
    expect(env.ANTHROPIC_API_KEY).toBe("sk-ant-test");
    expect(env).not.toHaveProperty("GITHUB_TOKEN");
    expect(env).not.toHaveProperty("GH_TOKEN");
    expect(summary).not.toMatch(/gh[pousr]_/);
  });
});
