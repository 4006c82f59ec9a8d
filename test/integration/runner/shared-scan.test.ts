// Two real commands on one scanner (runner/process/scanner.ts): when one ends first, the other's
// descendants are still recorded and killed. The grandchild under test called setsid, cleared
// its environment (no job marker) and was orphaned, so only the parent-chain record made by the
// shared scans can find it. Scans are counted through the injected reader; nothing is timed.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { afterEach, beforeEach, describe, expect, it } from "vitest";

import { buildChildEnv } from "../../../runner/process/env.js";
import { listProcesses } from "../../../runner/process/proc.js";
import { runCommand, type RunLimits } from "../../../runner/process/run-command.js";
import { ProcessScanner } from "../../../runner/process/scanner.js";

const HIDDEN_TREE = join(import.meta.dirname, "../../fixtures/runner/hidden-tree.mjs");
const GENEROUS: RunLimits = { timeoutMs: 60_000, graceMs: 2_000 };

let dirA: string;
let dirB: string;

beforeEach(() => {
  dirA = mkdtempSync(join(tmpdir(), "kanbot-shared-scan-a-"));
  dirB = mkdtempSync(join(tmpdir(), "kanbot-shared-scan-b-"));
});

afterEach(() => {
  rmSync(dirA, { recursive: true, force: true });
  rmSync(dirB, { recursive: true, force: true });
});

const pause = () => new Promise((resolve) => setTimeout(resolve, 20));

/** Running and not a zombie. */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}

async function waitForFile(path: string): Promise<string> {
  for (;;) {
    try {
      return readFileSync(path, "utf8");
    } catch {
      await pause();
    }
  }
}

describe("runCommand on a shared scanner", () => {
  it("a command's descendants are still found and killed when another command ends first", async () => {
    let completedScans = 0;
    const scanner = new ProcessScanner({
      listProcesses: async () => {
        const processes = await listProcesses();
        completedScans += 1;
        return processes;
      },
    });
    const controller = new AbortController();
    const a = runCommand({
      command: process.execPath,
      args: [HIDDEN_TREE],
      cwd: dirA,
      env: buildChildEnv({ source: process.env, jobId: `shared-scan-a-${process.pid}` }),
      limits: GENEROUS,
      signal: controller.signal,
      scanner,
    });
    const b = runCommand({
      command: process.execPath,
      args: ["-e", "process.stdout.write('b done\\n')"],
      cwd: dirB,
      env: buildChildEnv({ source: process.env, jobId: `shared-scan-b-${process.pid}` }),
      limits: GENEROUS,
      scanner,
    });
    const pids = JSON.parse(await waitForFile(join(dirA, "hidden-tree-pids.json"))) as {
      self: number;
      middle: number;
      grandchild: number;
    };

    const resultB = await b;
    expect(resultB).toMatchObject({ reason: "exit", exitCode: 0 });
    expect(scanner.running).toBe(true);

    // Scans are sequential: the second one to complete from now started after B had ended and
    // while the grandchild was still the middle process's child.
    const seen = completedScans;
    while (completedScans < seen + 2) await pause();
    writeFileSync(join(dirA, "hidden-tree-release"), "");
    while (isAlive(pids.middle)) await pause();
    expect(isAlive(pids.grandchild)).toBe(true);

    controller.abort();
    const resultA = await a;

    expect(resultA.reason).toBe("canceled");
    expect(resultA.sweptPids).toContain(pids.grandchild);
    for (const pid of [pids.self, pids.middle, pids.grandchild]) expect(isAlive(pid)).toBe(false);
    expect(scanner.running).toBe(false);
  });
});
