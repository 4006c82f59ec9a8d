/**
 * The forbidden-path check cannot be fooled, end to end: the real app (`kanbot start`) and a real
 * runner (`kanbot-runner start`, sandbox `auto`, so bubblewrap) against the simulator. The agent
 * (test/fixtures/agents/replace-trick-agent.sh) commits `secrets/token.txt` (forbidden by the
 * repository's `.github/kanbot.yml`) and then `git replace`s the job's starting commit in the
 * shared mirror so that a check honouring replace refs sees a harmless change. The runner must
 * refuse the push, name the file, leave no replace ref in the mirror, and a later job of the same
 * repository must not be affected.
 */
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";

import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { REPO, REPO_ROOT, SAMPLE_FILES, startE2E, type E2E } from "./harness.js";
import { progressComment } from "./steps.js";

const AGENT = join(REPO_ROOT, "test/fixtures/agents/replace-trick-agent.sh");

/** Every bare mirror below `dir` (`<workDir>/mirrors/<owner>/<repo>.git`). */
function mirrorsBelow(dir: string): string[] {
  const root = join(dir, "work", "mirrors");
  if (!existsSync(root)) return [];
  return readdirSync(root).flatMap((owner) =>
    readdirSync(join(root, owner)).map((repo) => join(root, owner, repo)),
  );
}

function replaceRefs(mirror: string): string {
  return execFileSync("git", ["--git-dir", mirror, "for-each-ref", "refs/replace/"], {
    encoding: "utf8",
  });
}

describe("end to end: a git replace trick does not get a forbidden path pushed", () => {
  let e2e: E2E;

  beforeAll(async () => {
    e2e = await startE2E({
      files: {
        ...SAMPLE_FILES,
        ".github/kanbot.yml":
          "agents:\n  default: fake\nforbiddenPaths: [secrets/**]\nbudget:\n  attempts: 1\n",
      },
      agentsYaml: [
        "  fake:",
        "    adapter: command",
        "    command: /bin/sh",
        `    args: [${JSON.stringify(AGENT)}, "{promptFile}"]`,
        "    timeoutMinutes: 2",
        "",
      ].join("\n"),
    });
  });

  afterAll(async () => {
    await e2e?.stop();
  });

  it("refuses the push, names the file, cleans the mirror, and the next job is unaffected", async () => {
    const tricky = await e2e.fileIssue(
      "Store the token",
      "REPLACE-TRICK: keep the token in secrets/.",
    );

    await e2e.maintainer.labelIssue(REPO, tricky, "agent:ready");
    await e2e.waitFor(
      "the tricky task to be blocked",
      () => e2e.hasLabel(tricky, "agent:blocked"),
      {
        timeoutMs: 120_000,
      },
    );

    // The trick itself worked inside the sandbox (the job log shows it) ...
    const db = new Database(join(e2e.dir, "kanbot.sqlite"), { readonly: true });
    const log = (
      db.prepare("select text from log_chunks order by job_id, seq").all() as { text: string }[]
    )
      .map((row) => row.text)
      .join("");
    db.close();
    expect(log).toContain("replace-ok");
    expect(log).toMatch(/replaced view: src\/trick\.js\s*$/m);
    // ... and still the runner refused: the file is named, nothing was pushed, no PR.
    // The blocked label and the progress comment are separate writes: wait for the comment.
    await e2e.waitFor("the progress comment to name the file", () =>
      progressComment(e2e, tricky).includes("secrets/token.txt"),
    );
    expect(await e2e.branchExists(`kanbot/${tricky}-store-the-token`)).toBe(false);
    expect(e2e.pullFor(tricky)).toBeUndefined();
    // The replace ref the agent planted is gone from the runner's mirror.
    const mirrors = mirrorsBelow(e2e.runners.get("runner-1")?.dir ?? "");
    expect(mirrors).toHaveLength(1);
    expect(replaceRefs(mirrors[0] as string)).toBe("");

    // A later job of the same repository works from the real history.
    const plain = await e2e.fileIssue("Add plain", "Add src/plain.js.");
    await e2e.maintainer.labelIssue(REPO, plain, "agent:ready");
    await e2e.waitFor("the plain task's PR", () => e2e.pullFor(plain) !== undefined);
    const gitDir = e2e.sim.state.mustRepo(REPO).gitDir;
    const pushed = execFileSync(
      "git",
      ["--git-dir", gitDir, "ls-tree", "-r", "--name-only", e2e.pullFor(plain)?.headSha ?? ""],
      { encoding: "utf8" },
    );
    expect(pushed).toContain("src/plain.js");
    expect(pushed).not.toContain("secrets/");
    expect(e2e.sim.violations).toEqual([]);
  });
});
