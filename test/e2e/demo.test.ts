/**
 * `npm run demo` as a person runs it: a child process, judged by its exit code and its story.
 */
import { spawn } from "node:child_process";

import { describe, expect, it } from "vitest";

import { REPO_ROOT } from "./harness.js";

function runDemo(args: string[] = []): Promise<{ code: number | null; out: string }> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && !key.startsWith("VITEST") && key !== "NODE_OPTIONS")
      env[key] = value;
  }
  return new Promise((resolve, reject) => {
    const child = spawn("npm", ["run", "--silent", "demo", "--", ...args], {
      cwd: REPO_ROOT,
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (out += chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (out += chunk));
    child.once("error", reject);
    child.once("exit", (code) => resolve({ code, out }));
  });
}

describe("npm run demo", () => {
  it("takes three issues, one depending on another, to merged PRs and exits 0", async () => {
    const { code, out } = await runDemo();

    expect(out).toMatch(/@maintainer filed #3 "Add negate" \(body says: Depends on #2\)/);
    expect(out).toMatch(/#3 Add negate: label agent:waiting/);
    for (const issue of ["#1 Add multiply", "#2 Add subtract", "#3 Add negate"]) {
      expect(out).toMatch(new RegExp(`${issue}: kanbot opened draft PR #\\d+ from kanbot/`));
      expect(out).toMatch(new RegExp(`${issue}: check test: success`));
      expect(out).toMatch(new RegExp(`${issue}: kanbot requested a review from @maintainer`));
      expect(out).toMatch(new RegExp(`${issue}: card moved to Done`));
      expect(out).toMatch(new RegExp(`${issue}: issue closed`));
    }
    // #3 starts only after #2's PR is merged.
    const merged2 = out.search(/#2 Add subtract: PR #\d+ merged/);
    const working3 = out.search(/#3 Add negate: label agent:working/);
    expect(merged2).toBeGreaterThan(-1);
    expect(working3).toBeGreaterThan(merged2);
    expect(out).toMatch(/every task is done: 3 issues closed by merged PRs, cards in Done/);
    expect(code, out).toBe(0);
  });

  it("exits non-zero, saying so, when the named agent CLI is not installed", async () => {
    const { code, out } = await runDemo(["--agent", "opencode"]);

    expect(out).toMatch(/the opencode CLI is not installed/);
    expect(code).toBe(2);
  });
});
