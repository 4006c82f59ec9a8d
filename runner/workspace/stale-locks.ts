/**
 * Git lock files a killed runner left in its mirrors. Git takes `<ref>.lock`, `index.lock`,
 * `packed-refs.lock`… for the length of one command and removes them when it ends; a runner
 * killed during a fetch or a ref update leaves them behind, and every later git command on that
 * mirror fails ("Unable to create '….lock': File exists") until someone deletes them by hand.
 * At the start of the runner no git command of its own runs yet, so every lock under its mirrors
 * is stale and is removed (the mirrors belong to this runner alone: docs/workspaces.md).
 */
import { readdir, rm } from "node:fs/promises";
import { join } from "node:path";

/** Removes every `*.lock` file under `mirrorsDir`; returns their paths. */
export async function removeStaleGitLocks(mirrorsDir: string): Promise<string[]> {
  const stale: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch {
      return; // No mirrors yet (a first start), or the folder went away.
    }
    for (const entry of entries) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) await walk(path);
      else if (entry.isFile() && entry.name.endsWith(".lock")) stale.push(path);
    }
  };
  await walk(mirrorsDir);
  for (const path of stale) await rm(path, { force: true });
  return stale;
}
