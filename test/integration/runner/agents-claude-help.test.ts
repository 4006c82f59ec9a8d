// The Claude Code adapter against the real CLI (devDependency @anthropic-ai/claude-code): every
// flag the adapter passes must be one `claude --help` documents, and the permission settings
// must be ones it accepts when the runner runs as root.
import { execFileSync } from "node:child_process";
import { join } from "node:path";

import { describe, expect, it } from "vitest";

import { buildClaudeCommand } from "../../../runner/agents/claude.js";

const CLAUDE = join(import.meta.dirname, "../../../node_modules/.bin/claude");
const help = execFileSync(CLAUDE, ["--help"], {
  encoding: "utf8",
  env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp" },
});

/** Flags `claude --help` lists, with their aliases (`-p, --print`, `--allowedTools, --allowed-tools`). */
function documentedFlags(text: string): Set<string> {
  return new Set(text.match(/(?<=^\s+|, )--?[a-zA-Z][\w-]*/gm) ?? []);
}

describe("Claude Code adapter vs claude --help", () => {
  const flags = documentedFlags(help);
  const every = buildClaudeCommand(
    {
      prompt: "p",
      promptFile: "/tmp/p.md",
      workdir: "/tmp",
      sessionId: "0b9f6a3e-8d2c-4f7e-a1b0-3c4d5e6f7a80",
      maxBudgetUsd: 1,
    },
    { model: "sonnet" },
  );

  it("finds the documented flags", () => {
    expect(flags).toContain("--print");
    expect(flags.size).toBeGreaterThan(30);
  });

  it.each(every.args.filter((arg) => arg.startsWith("-")))(
    "passes %s, which claude --help documents",
    (flag) => {
      expect(flags).toContain(flag);
    },
  );

  it("uses values the CLI lists as choices", () => {
    expect(help).toMatch(/--output-format <format>[\s\S]*?"stream-json"/);
    expect(help).toMatch(/--permission-mode <mode>[\s\S]*?"acceptEdits"/);
  });

  it("never passes the flags Claude Code refuses as root", () => {
    expect(every.args).not.toContain("--dangerously-skip-permissions");
    expect(every.args).not.toContain("--allow-dangerously-skip-permissions");
    expect(every.args).not.toContain("bypassPermissions");
  });
});
