/**
 * Continuing an agent's session in a new job (issue 14, part 2: an `answer` job resumes the
 * conversation of the job that asked). Each job has its own worktree, so the answer job's working
 * directory differs from the asker's, and a CLI that files its sessions by directory must find
 * the session where it will look. The runner prepares that before the agent starts; the agent is
 * not running then (the asking job's processes are gone, the answer job's not started yet).
 *
 * - **Claude Code** (2.1.197, the bundled `claude` binary): a session is
 *   `<config dir>/projects/<project>/<session id>.jsonl`, the config dir `$CLAUDE_CONFIG_DIR` or
 *   `~/.claude`, `<project>` the working directory with every character outside `[a-zA-Z0-9]`
 *   made `-` (past 200 characters: the first 200, `-`, and the base-36 of the path's 32-bit
 *   string hash). `-p --resume <id>` looks only in the current directory's project (and the
 *   other git worktrees' ones) and fails with "No conversation found with session ID: <id>".
 *   The runner copies the session file into the new directory's project.
 * - **Codex** (0.169.0): `codex exec resume <id>` finds a session by id under
 *   `$CODEX_HOME/sessions/YYYY/MM/DD/rollout-…-<id>.jsonl`, whatever the directory; the runner only
 *   checks that it is there.
 * - Gemini CLI and OpenCode keep their sessions per project too, in layouts kanbot does not copy:
 *   their answer jobs start a fresh session with the agent's summary, as every runner but the
 *   asker's does.
 *
 * The session files live where the agent can write (its per-task state folder), so they are the
 * agent's text: a symbolic link, or a folder that leads out of the state folder, is refused (the
 * runner would otherwise copy a file the agent cannot read, or write where it points).
 */
import { constants } from "node:fs";
import { copyFile, lstat, mkdir, readdir, realpath, unlink } from "node:fs/promises";
import { join, sep } from "node:path";

/** What the runner knows when it prepares a resume. */
export interface ResumeContext {
  /** The adapter's name (`claude`, `codex`…). */
  adapter: string;
  /** The session to continue (from the app's job description). */
  sessionId: string;
  /** The new job's worktree: the agent's working directory. */
  workdir: string;
  /** HOME as the agent sees its state: the per-task state folder's parent in the sandbox, else HOME. */
  stateHome: string;
  /** Variables the agent gets from its config (`CLAUDE_CONFIG_DIR`, `CODEX_HOME`). */
  env: Readonly<Record<string, string>>;
}

/** Whether the session can be continued, and why not. */
export type ResumePlan = { resume: true } | { resume: false; reason: string };

/** A session id the runner will put in a path: letters, digits, `-` and `_` only. */
const SESSION_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,199}$/;

/**
 * Whether a resumed run failed because the CLI did not find the session: Claude Code's
 * "No conversation found with session ID: <id>" (2.1.197 prints it and exits 1). Codex's wording
 * is not checked: its resume is prepared only when the rollout file is there.
 */
export function sessionNotFound(result: { error?: string; summary: string }): boolean {
  const text = `${result.error ?? ""}\n${result.summary}`;
  return /No conversation found with session ID/i.test(text);
}

/** Claude Code's project folder name for a working directory. */
export function claudeProjectName(cwd: string): string {
  const name = cwd.replace(/[^a-zA-Z0-9]/g, "-");
  if (name.length <= 200) return name;
  let hash = 0;
  for (let index = 0; index < cwd.length; index++) {
    hash = ((hash << 5) - hash + cwd.charCodeAt(index)) | 0;
  }
  return `${name.slice(0, 200)}-${Math.abs(hash).toString(36)}`;
}

/** Makes the session findable by the CLI in `workdir`, where the adapter needs it. */
export async function prepareResume(context: ResumeContext): Promise<ResumePlan> {
  if (!SESSION_ID.test(context.sessionId)) {
    return { resume: false, reason: "the session id is not one the runner accepts" };
  }
  if (context.adapter === "claude") return prepareClaude(context);
  if (context.adapter === "codex") return prepareCodex(context);
  return {
    resume: false,
    reason: `the ${context.adapter} adapter does not carry a session to a new worktree`,
  };
}

async function prepareClaude(context: ResumeContext): Promise<ResumePlan> {
  const configDir = context.env.CLAUDE_CONFIG_DIR ?? join(context.stateHome, ".claude");
  const root = await realpath(configDir).catch(() => undefined);
  if (root === undefined) return { resume: false, reason: `${configDir} is missing` };
  const projects = join(root, "projects");
  if (!(await isRealFolderInside(projects, root))) {
    return { resume: false, reason: "Claude Code's projects folder is missing" };
  }
  const file = `${context.sessionId}.jsonl`;
  let source: string | undefined;
  for (const project of await readdir(projects).catch(() => [])) {
    const folder = join(projects, project);
    if (!(await isRealFolderInside(folder, root))) continue;
    const candidate = join(folder, file);
    if ((await lstat(candidate).catch(() => undefined))?.isFile() === true) {
      source = candidate;
      break;
    }
  }
  if (source === undefined) {
    return { resume: false, reason: `no file of session ${context.sessionId} under ${projects}` };
  }
  const forms = new Set([context.workdir, await realpath(context.workdir).catch(() => undefined)]);
  for (const cwd of forms) {
    if (cwd === undefined) continue;
    const folder = join(projects, claudeProjectName(cwd));
    if (folder === join(source, "..")) continue;
    await mkdir(folder, { recursive: true, mode: 0o700 });
    if (!(await isRealFolderInside(folder, root))) {
      return { resume: false, reason: `${folder} leads out of Claude Code's config folder` };
    }
    const target = join(folder, file);
    // Whatever is there (a link the agent left) goes; the copy never follows a link.
    await unlink(target).catch(() => undefined);
    await copyFile(source, target, constants.COPYFILE_EXCL);
  }
  return { resume: true };
}

async function prepareCodex(context: ResumeContext): Promise<ResumePlan> {
  const home = context.env.CODEX_HOME ?? join(context.stateHome, ".codex");
  const root = await realpath(home).catch(() => undefined);
  if (root === undefined) return { resume: false, reason: `${home} is missing` };
  const found = await findFile(join(root, "sessions"), root, (name) =>
    name.endsWith(`-${context.sessionId}.jsonl`),
  );
  return found
    ? { resume: true }
    : { resume: false, reason: `no file of session ${context.sessionId} under ${home}/sessions` };
}

/** Whether a file whose name passes `match` is under `folder` (real folders only, 4 levels). */
async function findFile(
  folder: string,
  root: string,
  match: (name: string) => boolean,
  depth = 0,
): Promise<boolean> {
  if (depth > 4 || !(await isRealFolderInside(folder, root))) return false;
  for (const entry of await readdir(folder, { withFileTypes: true }).catch(() => [])) {
    if (entry.isFile() && match(entry.name)) return true;
    if (entry.isDirectory() && (await findFile(join(folder, entry.name), root, match, depth + 1))) {
      return true;
    }
  }
  return false;
}

/** A folder that is not a link and whose real path is `root` or inside it. */
async function isRealFolderInside(folder: string, root: string): Promise<boolean> {
  const stats = await lstat(folder).catch(() => undefined);
  if (stats === undefined || !stats.isDirectory()) return false;
  const real = await realpath(folder).catch(() => undefined);
  return real !== undefined && (real === root || real.startsWith(root + sep));
}
