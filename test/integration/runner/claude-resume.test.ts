/**
 * An answer job's session resume against the real Claude Code CLI (devDependency
 * @anthropic-ai/claude-code 2.1.197), offline with no login: the CLI files its session under the
 * working directory's project even when it cannot reach a model, and looks a session up before it
 * checks the login. So with no model at all this shows that
 *
 * - a session started in the asking job's worktree is not found from the answer job's worktree
 *   ("No conversation found with session ID"), which is why the runner must carry it;
 * - after `prepareResume` copies it (runner/agents/resume.ts), `--resume <id>` finds it there:
 *   the CLI gets past the lookup to the login check, with the same session id.
 */
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { buildClaudeCommand, claudeAdapter } from "../../../runner/agents/claude.js";
import { prepareResume, sessionNotFound } from "../../../runner/agents/resume.js";
import type { AgentResult } from "../../../runner/agents/types.js";

const CLAUDE = join(import.meta.dirname, "../../../node_modules/.bin/claude");

let root: string;
let home: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "kanbot-claude-resume-"));
  home = join(root, "home");
  await mkdir(home, { recursive: true });
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** Runs the real CLI as the adapter would, in `cwd`, and parses its output with the adapter. */
async function runClaude(cwd: string, sessionId?: string): Promise<AgentResult> {
  const command = buildClaudeCommand({
    prompt: "Fix the parser.",
    promptFile: "/dev/null",
    workdir: cwd,
    ...(sessionId === undefined ? {} : { sessionId }),
  });
  const stdout = await new Promise<string>((resolve) => {
    const child = execFile(
      CLAUDE,
      command.args,
      {
        cwd,
        encoding: "utf8",
        timeout: 120_000,
        env: { PATH: process.env.PATH ?? "", HOME: home, LANG: "C.UTF-8", ...command.env },
      },
      (_error, out) => resolve(out),
    );
    child.stdin?.end("Fix the parser.\n");
  });
  const parser = claudeAdapter.createParser();
  for (const line of stdout.split("\n")) parser.line(line, "stdout");
  return parser.finish({ exitCode: 1, signal: null, reason: "exit", stderrTail: "" });
}

describe("resuming a Claude Code session in a new worktree (real CLI, offline)", () => {
  it("is found only after the runner carries the session file over", async () => {
    const asking = join(root, "worktrees", "41");
    const answering = join(root, "worktrees", "42");
    await mkdir(asking, { recursive: true });
    await mkdir(answering, { recursive: true });

    const first = await runClaude(asking);
    expect(first.error).toContain("Not logged in");
    const sessionId = first.sessionId ?? "";
    expect(sessionId).toMatch(/^[0-9a-f-]{36}$/);

    const lost = await runClaude(answering, sessionId);
    expect(sessionNotFound(lost)).toBe(true);

    const plan = await prepareResume({
      adapter: "claude",
      sessionId,
      workdir: answering,
      stateHome: home,
      env: {},
    });
    expect(plan).toEqual({ resume: true });

    const resumed = await runClaude(answering, sessionId);
    expect(sessionNotFound(resumed)).toBe(false);
    expect(resumed.error).toContain("Not logged in");
    expect(resumed.sessionId).toBe(sessionId);
  });
});
