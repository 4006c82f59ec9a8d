/**
 * Copies configured git-ignored files (such as `.env`) from a local source folder the runner's
 * config names into a new worktree. Paths are relative, without `..` or `.git`; neither the source
 * nor the destination may lead outside its folder through a symbolic link (a repository can hold a
 * symlink named like a folder).
 */
import { cp, lstat, mkdir, realpath, rm } from "node:fs/promises";
import { dirname, isAbsolute, join, relative, sep } from "node:path";

import { WorkspaceError } from "./errors.js";

/**
 * Checks a configured path and returns it with `/` separators and no `./`. Throws
 * {@link WorkspaceError} for an absolute path, `..`, `.git` or an empty path.
 */
export function checkRepoRelativePath(path: string): string {
  const normalised = path
    .replace(/\\/g, "/")
    .replace(/^(\.\/)+/, "")
    .replace(/\/+$/, "");
  const parts = normalised.split("/");
  if (normalised === "" || isAbsolute(path) || /^[A-Za-z]:/.test(path) || path.startsWith("~")) {
    throw new WorkspaceError(
      `copy file "${path}" is not a relative path inside the repository; use a path such as ".env"`,
    );
  }
  if (parts.some((part) => part === ".." || part === ".git" || part === "")) {
    throw new WorkspaceError(
      `copy file "${path}" may not contain "..", ".git" or empty parts; use a path such as "config/.env"`,
    );
  }
  return parts.filter((part) => part !== ".").join("/");
}

export interface CopyFilesOptions {
  /** The folder the files come from (the runner's local copy of the repository). */
  from: string;
  /** The worktree. */
  to: string;
  paths: readonly string[];
}

export interface CopyFilesResult {
  /** Paths copied, as configured (normalised). */
  copied: string[];
  /** Paths that do not exist in the source folder (skipped). */
  missing: string[];
}

/** Copies each path from `from` to `to`; a path missing in `from` is reported, not an error. */
export async function copyIgnoredFiles(options: CopyFilesOptions): Promise<CopyFilesResult> {
  const paths = options.paths.map(checkRepoRelativePath);
  const fromRoot = await realpath(options.from);
  const toRoot = await realpath(options.to);
  const result: CopyFilesResult = { copied: [], missing: [] };
  for (const path of paths) {
    const source = join(fromRoot, path);
    const real = await realpath(source).catch(() => undefined);
    if (real === undefined) {
      result.missing.push(path);
      continue;
    }
    if (!isInside(fromRoot, real)) {
      throw new WorkspaceError(
        `copy file "${path}" leads outside ${options.from} through a symbolic link; copy the file itself there`,
      );
    }
    const destination = join(toRoot, path);
    await ensureParentInside(toRoot, destination, path);
    const existing = await lstat(destination).catch(() => undefined);
    if (existing?.isSymbolicLink()) await rm(destination);
    await cp(real, destination, { recursive: true, force: true });
    result.copied.push(path);
  }
  return result;
}

/** Creates the parent folders of `destination`, refusing when an existing one leads outside `root`. */
async function ensureParentInside(root: string, destination: string, path: string): Promise<void> {
  let ancestor = dirname(destination);
  while (!(await exists(ancestor))) ancestor = dirname(ancestor);
  const real = await realpath(ancestor);
  if (!isInside(root, real)) {
    throw new WorkspaceError(
      `copy file "${path}" would be written outside the worktree through a symbolic link in the repository; remove that path from setup.copyFiles`,
    );
  }
  await mkdir(dirname(destination), { recursive: true });
}

async function exists(path: string): Promise<boolean> {
  return (await lstat(path).catch(() => undefined)) !== undefined;
}

function isInside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel === "" || (!rel.startsWith(`..${sep}`) && rel !== ".." && !isAbsolute(rel));
}
