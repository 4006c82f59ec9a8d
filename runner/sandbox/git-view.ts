/**
 * What of the job's mirror the sandbox shows, so that git works inside the worktree (`git
 * status`, `git diff`, `git commit`, branches, stash) and nothing more. A linked worktree's `.git`
 * file points into the mirror (`<mirror>/worktrees/<name>`), whose common folder holds the objects,
 * refs and config (runner/workspace/mirror.ts). Inside the sandbox:
 *
 * - the mirror is read-only as a whole: its `hooks/`, `info/` (grafts, attributes), `shallow`,
 *   `packed-refs` and top-level files cannot be written;
 * - its `config` is replaced by a copy holding only the repository format (`core.*` basics and
 *   `extensions.*`), kanbot's identity for the agent's commits and `gc.auto = 0`: the remote's
 *   URL and anything else written there stay out of sight, and the shared config cannot be
 *   changed from inside;
 * - `objects/`, `refs/` and `logs/` are writable (a commit writes objects, moves the branch,
 *   appends to the reflog); replace refs an agent plants there are neutralised by the runner's
 *   own git (runner/workspace/git.ts), not here;
 * - of `worktrees/`, only this worktree's own folder is there: other jobs' indexes and HEADs are
 *   not.
 *
 * Which `worktrees/<name>` folder is this worktree's is decided from the runner's own paths, never
 * from the worktree's `.git` file, which the agent can rewrite between two commands.
 */
import { mkdir, readFile, readdir, realpath, stat, writeFile } from "node:fs/promises";
import { basename, join } from "node:path";

import { execa } from "execa";

import { bind, clean, type Mount } from "./plan.js";

/** Who the agent's own commits are by (the runner's are by the same identity). */
export interface CommitIdentity {
  name: string;
  email: string;
}

/** Config keys copied from the mirror's config into the sandbox's copy (lower case, as git lists them). */
const KEPT_KEYS =
  /^(core\.(repositoryformatversion|filemode|bare|ignorecase|precomposeunicode|symlinks|logallrefupdates)|extensions\.[a-z0-9]+)$/;

/**
 * The text of the config file the sandbox shows instead of the mirror's: the kept keys of
 * `entries` (`git config --list` pairs), kanbot's identity, no automatic gc (it would write the
 * read-only top of the mirror). Pure.
 */
export function sandboxGitConfigText(
  entries: readonly (readonly [string, string])[],
  identity: CommitIdentity,
): string {
  const sections = new Map<string, [string, string][]>();
  for (const [key, value] of entries) {
    const lower = key.toLowerCase();
    if (!KEPT_KEYS.test(lower)) continue;
    const dot = lower.indexOf(".");
    const section = lower.slice(0, dot);
    const name = lower.slice(dot + 1);
    const list = sections.get(section) ?? [];
    list.push([name, value]);
    sections.set(section, list);
  }
  const core = sections.get("core") ?? [];
  if (!core.some(([name]) => name === "repositoryformatversion")) {
    core.unshift(["repositoryformatversion", "0"]);
  }
  if (!core.some(([name]) => name === "bare")) core.push(["bare", "true"]);
  sections.set("core", core);
  sections.set("user", [
    ["name", identity.name],
    ["email", identity.email],
  ]);
  sections.set("gc", [["auto", "0"]]);
  sections.set("maintenance", [["auto", "false"]]);
  const lines: string[] = [];
  for (const [section, values] of sections) {
    lines.push(`[${section}]`);
    for (const [name, value] of values) lines.push(`\t${name} = ${quote(value)}`);
  }
  return `${lines.join("\n")}\n`;
}

/** Parses `git config --list -z` output into pairs. Pure. */
export function parseConfigList(output: string): [string, string][] {
  return output
    .split("\0")
    .filter((entry) => entry !== "")
    .map((entry) => {
      const newline = entry.indexOf("\n");
      return newline === -1 ? [entry, "true"] : [entry.slice(0, newline), entry.slice(newline + 1)];
    });
}

export interface GitViewOptions {
  /** The job's mirror (the runner's path for it). */
  mirror: string;
  /** The job's worktree (the runner's path for it). */
  worktree: string;
  /** Where to write the sandbox's copy of the mirror config (a file of the job's own). */
  configCopy: string;
  identity: CommitIdentity;
  /** PATH to find git with. */
  pathEnv: string;
}

/** The mounts that make git work inside the worktree; none while the mirror does not exist. */
export async function gitViewMounts(options: GitViewOptions): Promise<Mount[]> {
  const { mirror } = options;
  if (!(await isFile(join(mirror, "HEAD")))) return [];
  await mkdir(join(mirror, "logs"), { recursive: true });
  await writeFile(
    options.configCopy,
    sandboxGitConfigText(await mirrorConfigEntries(mirror, options.pathEnv), options.identity),
    { mode: 0o644 },
  );
  const admin = await adminFolderOf(mirror, options.worktree);
  const source = await realpath(mirror);
  const mounts: Mount[] = [];
  for (const dest of await pathForms(mirror)) {
    mounts.push(bind(source, dest, false));
    mounts.push(bind(options.configCopy, join(dest, "config"), false));
    for (const part of ["objects", "refs", "logs"]) {
      mounts.push(bind(join(source, part), join(dest, part), true));
    }
    mounts.push(bind(join(source, "reftable"), join(dest, "reftable"), true, true));
    mounts.push({ kind: "hide", dest: join(dest, "worktrees") });
    if (admin !== undefined) {
      mounts.push(bind(join(source, "worktrees", admin), join(dest, "worktrees", admin), true));
    }
  }
  return mounts;
}

/**
 * The name of the worktree's folder under `<mirror>/worktrees/`: git names it after the
 * worktree's folder (`12` for `worktrees/12`), adding a number only when that name is taken. The
 * name git would choose is preferred; another is accepted only when it alone records this
 * worktree.
 */
export async function adminFolderOf(mirror: string, worktree: string): Promise<string | undefined> {
  const wanted = new Set((await pathForms(worktree)).map((path) => join(path, ".git")));
  const records = async (name: string): Promise<boolean> => {
    const text = await readFile(join(mirror, "worktrees", name, "gitdir"), "utf8").catch(
      () => undefined,
    );
    return text !== undefined && wanted.has(clean(text.trim()));
  };
  const own = basename(worktree);
  if (await records(own)) return own;
  const names = await readdir(join(mirror, "worktrees")).catch(() => [] as string[]);
  const matches: string[] = [];
  for (const name of names) if (await records(name)) matches.push(name);
  return matches.length === 1 ? matches[0] : undefined;
}

/** The path as given and its real path (they differ when a folder on the way is a symlink). */
export async function pathForms(path: string): Promise<string[]> {
  const real = await realpath(path).catch(() => path);
  return [...new Set([clean(path), clean(real)])];
}

async function mirrorConfigEntries(mirror: string, pathEnv: string): Promise<[string, string][]> {
  const result = await execa("git", ["config", "--file", join(mirror, "config"), "--list", "-z"], {
    env: { PATH: pathEnv, GIT_CONFIG_NOSYSTEM: "1", GIT_CONFIG_GLOBAL: "/dev/null", LANG: "C" },
    extendEnv: false,
    reject: false,
    stdin: "ignore",
  });
  return result.exitCode === 0 ? parseConfigList(String(result.stdout)) : [];
}

function quote(value: string): string {
  return `"${value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`;
}

async function isFile(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.isFile() ?? false;
}
