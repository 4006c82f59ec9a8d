/**
 * A runner killed during a git fetch or ref update leaves `*.lock` files in its mirror, and every
 * later git command there failed until someone deleted them by hand (found by the runner chaos
 * scenario, test/chaos/runners-killed.test.ts). The runner removes them at start.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { removeStaleGitLocks } from "../../../runner/workspace/stale-locks.js";

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe("stale git locks in the runner's mirrors", () => {
  it("are removed, and git works in the mirror again; other files stay", async () => {
    const mirrors = mkdtempSync(join(tmpdir(), "kanbot-locks-"));
    dirs.push(mirrors);
    const mirror = join(mirrors, "octo-org", "widgets.git");
    mkdirSync(mirror, { recursive: true });
    execFileSync("git", ["init", "--bare", "-q", mirror]);
    const git = (...args: string[]) =>
      execFileSync("git", ["-C", mirror, ...args], { encoding: "utf8", stdio: "pipe" });
    // What a killed `git fetch` leaves: a ref lock and the packed-refs lock.
    mkdirSync(join(mirror, "refs", "remotes", "origin"), { recursive: true });
    writeFileSync(join(mirror, "refs", "remotes", "origin", "main.lock"), "");
    writeFileSync(join(mirror, "packed-refs.lock"), "");
    const tree = git("mktree").trim();
    const commit = git("commit-tree", tree, "-m", "x").trim();
    expect(() => git("update-ref", "refs/remotes/origin/main", commit)).toThrow(/lock/);

    const removed = await removeStaleGitLocks(mirrors);

    expect(removed.sort()).toEqual(
      [
        join(mirror, "packed-refs.lock"),
        join(mirror, "refs", "remotes", "origin", "main.lock"),
      ].sort(),
    );
    git("update-ref", "refs/remotes/origin/main", commit);
    expect(git("rev-parse", "refs/remotes/origin/main").trim()).toBe(commit);
    expect(existsSync(join(mirror, "HEAD"))).toBe(true);
  });

  it("finds nothing to do when there are no mirrors yet", async () => {
    expect(await removeStaleGitLocks(join(tmpdir(), "kanbot-no-such-folder"))).toEqual([]);
  });
});
