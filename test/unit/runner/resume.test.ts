/**
 * Carrying an agent's session to a new worktree (runner/agents/resume.ts, issue 14 part 2).
 * The layouts are Claude Code 2.1.197's (its bundled binary: `projects/<cwd, non-alphanumerics
 * as "-">/<id>.jsonl`, the real CLI's own `memory_paths` in test/fixtures/agents/claude/success.jsonl
 * shows `/work/worktrees/acme-widgets-42` → `-work-worktrees-acme-widgets-42`) and Codex
 * 0.169.0's (`sessions/YYYY/MM/DD/rollout-<time>-<id>.jsonl`). The agent can write its state
 * folder, so links it leaves there must not make the runner read or write elsewhere.
 */
import { readFileSync } from "node:fs";
import { mkdir, mkdtemp, readFile, readdir, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { afterEach, beforeEach, describe, expect, it } from "vitest";

import { claudeAdapter } from "../../../runner/agents/claude.js";
import {
  claudeProjectName,
  prepareResume,
  sessionNotFound,
} from "../../../runner/agents/resume.js";

const ID = "5d6b3a52-2b1e-4a3e-9c55-0f8d7f1c2a10";
const FIXTURES = join(import.meta.dirname, "../../fixtures/agents");

let root: string;
let home: string;
let oldTree: string;
let newTree: string;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "kanbot-resume-"));
  home = join(root, "agent-home", "7");
  oldTree = join(root, "worktrees", "41");
  newTree = join(root, "worktrees", "42");
  await mkdir(oldTree, { recursive: true });
  await mkdir(newTree, { recursive: true });
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

async function claudeSession(cwd: string, text = '{"type":"user"}\n'): Promise<string> {
  const folder = join(home, ".claude", "projects", claudeProjectName(cwd));
  await mkdir(folder, { recursive: true });
  const file = join(folder, `${ID}.jsonl`);
  await writeFile(file, text);
  return file;
}

const context = () => ({
  adapter: "claude",
  sessionId: ID,
  workdir: newTree,
  stateHome: home,
  env: {},
});

describe("Claude Code's project folder name", () => {
  it("turns every character outside [a-zA-Z0-9] into '-', as the real CLI's memory path shows", () => {
    const init = JSON.parse(
      readFileSync(join(FIXTURES, "claude/success.jsonl"), "utf8").split("\n")[0] ?? "{}",
    ) as { cwd: string; memory_paths: { auto: string } };
    expect(init.memory_paths.auto).toContain(`/projects/${claudeProjectName(init.cwd)}/`);
    expect(claudeProjectName("/work/kanbot_runner/worktrees/12")).toBe(
      "-work-kanbot-runner-worktrees-12",
    );
  });

  it("cuts a path over 200 characters and adds the base-36 of its string hash", () => {
    const long = `/work/${"a".repeat(250)}`;
    const name = claudeProjectName(long);
    expect(name.startsWith(`-work-${"a".repeat(194)}-`)).toBe(true);
    expect(name.slice(0, 200)).toBe(`-work-${"a".repeat(194)}`);
    expect(name.slice(201)).toMatch(/^[0-9a-z]+$/);
    expect(claudeProjectName(`${long}b`)).not.toBe(name);
  });
});

describe("preparing a Claude Code resume", () => {
  it("copies the asking job's session into the new worktree's project", async () => {
    await claudeSession(oldTree, '{"type":"user","n":1}\n');
    expect(await prepareResume(context())).toEqual({ resume: true });
    const copied = join(home, ".claude", "projects", claudeProjectName(newTree), `${ID}.jsonl`);
    expect(await readFile(copied, "utf8")).toBe('{"type":"user","n":1}\n');
  });

  it("uses CLAUDE_CONFIG_DIR when the agent's config sets it", async () => {
    const configDir = join(root, "claude-config");
    await mkdir(join(configDir, "projects", "-elsewhere"), { recursive: true });
    await writeFile(join(configDir, "projects", "-elsewhere", `${ID}.jsonl`), "{}\n");
    const plan = await prepareResume({ ...context(), env: { CLAUDE_CONFIG_DIR: configDir } });
    expect(plan).toEqual({ resume: true });
    expect(await readdir(join(configDir, "projects"))).toContain(claudeProjectName(newTree));
  });

  it("starts fresh when the session file is gone (the state folder was swept)", async () => {
    await mkdir(join(home, ".claude", "projects"), { recursive: true });
    const plan = await prepareResume(context());
    expect(plan.resume).toBe(false);
    expect(plan.resume === false && plan.reason).toContain(`no file of session ${ID}`);
  });

  it("refuses a session id that is not a plain name", async () => {
    await claudeSession(oldTree);
    for (const sessionId of ["../../etc/passwd", "a/b", "", ".hidden", "x".repeat(201)]) {
      expect((await prepareResume({ ...context(), sessionId })).resume).toBe(false);
    }
  });

  it("never copies a session file that is a link the agent left (a runner secret)", async () => {
    const secret = join(root, "runner-token");
    await writeFile(secret, "kbr_secret\n");
    const folder = join(home, ".claude", "projects", claudeProjectName(oldTree));
    await mkdir(folder, { recursive: true });
    await symlink(secret, join(folder, `${ID}.jsonl`));
    expect((await prepareResume(context())).resume).toBe(false);
    const target = join(home, ".claude", "projects", claudeProjectName(newTree));
    expect(await readdir(target).catch(() => [])).toEqual([]);
  });

  it("never reads through a project folder that links out of the config folder", async () => {
    const outside = join(root, "outside");
    await mkdir(outside, { recursive: true });
    await writeFile(join(outside, `${ID}.jsonl`), "runner's own file\n");
    await mkdir(join(home, ".claude", "projects"), { recursive: true });
    await symlink(outside, join(home, ".claude", "projects", "-linked"));
    expect((await prepareResume(context())).resume).toBe(false);
  });

  it("never writes through a link at the new worktree's project folder", async () => {
    await claudeSession(oldTree);
    const outside = join(root, "autostart");
    await mkdir(outside, { recursive: true });
    await symlink(outside, join(home, ".claude", "projects", claudeProjectName(newTree)));
    const plan = await prepareResume(context());
    expect(plan.resume).toBe(false);
    expect(await readdir(outside)).toEqual([]);
  });

  it("replaces a link at the target file instead of writing through it", async () => {
    await claudeSession(oldTree, "the session\n");
    const victim = join(root, "victim");
    await writeFile(victim, "untouched\n");
    const folder = join(home, ".claude", "projects", claudeProjectName(newTree));
    await mkdir(folder, { recursive: true });
    await symlink(victim, join(folder, `${ID}.jsonl`));
    expect(await prepareResume(context())).toEqual({ resume: true });
    expect(await readFile(victim, "utf8")).toBe("untouched\n");
    expect(await readFile(join(folder, `${ID}.jsonl`), "utf8")).toBe("the session\n");
  });

  it("refuses a projects folder that is itself a link", async () => {
    const outside = join(root, "elsewhere");
    await mkdir(join(outside, "-x"), { recursive: true });
    await writeFile(join(outside, "-x", `${ID}.jsonl`), "{}\n");
    await mkdir(join(home, ".claude"), { recursive: true });
    await symlink(outside, join(home, ".claude", "projects"));
    expect((await prepareResume(context())).resume).toBe(false);
  });
});

describe("preparing a Codex resume", () => {
  it("needs only the rollout file, wherever its date folder is", async () => {
    const day = join(home, ".codex", "sessions", "2026", "12", "07");
    await mkdir(day, { recursive: true });
    const codex = { ...context(), adapter: "codex" };
    expect((await prepareResume(codex)).resume).toBe(false);
    await writeFile(join(day, `rollout-2026-12-07T10-00-00-${ID}.jsonl`), "{}\n");
    expect(await prepareResume(codex)).toEqual({ resume: true });
  });

  it("ignores a rollout reached only through a link", async () => {
    const outside = join(root, "outside");
    await mkdir(outside, { recursive: true });
    await writeFile(join(outside, `rollout-x-${ID}.jsonl`), "{}\n");
    await mkdir(join(home, ".codex", "sessions"), { recursive: true });
    await symlink(outside, join(home, ".codex", "sessions", "2026"));
    expect((await prepareResume({ ...context(), adapter: "codex" })).resume).toBe(false);
  });
});

describe("other agents", () => {
  it.each(["gemini", "opencode", "command"])("%s starts a fresh session", async (adapter) => {
    await claudeSession(oldTree);
    const plan = await prepareResume({ ...context(), adapter });
    expect(plan.resume).toBe(false);
  });
});

/** Claude Code's parser over a captured fixture, as the runner reads a failed run. */
function parseClaude(fixture: string) {
  const parser = claudeAdapter.createParser();
  for (const line of readFileSync(join(FIXTURES, fixture), "utf8").split("\n")) {
    parser.line(line, "stdout");
  }
  return parser.finish({ exitCode: 1, signal: null, reason: "exit", stderrTail: "" });
}

describe("a session the CLI did not find", () => {
  it("is recognised in Claude Code's real output (captured from 2.1.197)", () => {
    const result = parseClaude("claude/error-resume-not-found.jsonl");
    expect(result.success).toBe(false);
    expect(sessionNotFound(result)).toBe(true);
  });

  it("is not claimed for another failure", () => {
    expect(sessionNotFound(parseClaude("claude/error-not-logged-in.jsonl"))).toBe(false);
  });
});
