// `npm run demo` stops everything it started on SIGTERM and on Ctrl-C (SIGINT): the real demo is
// started through npm (npm → sh → node, as a person runs it), and once its app and runner are up
// the test signals npm only. When npm has exited, the demo, its app and its runner have too (the
// demo left alone would finish its story and clean up by itself half a minute later), nothing
// they started (esbuild, an agent's sandbox) is left, and the demo's temporary folder is gone.
import { spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync, readlinkSync } from "node:fs";
import { resolve } from "node:path";

import { describe, expect, it, vi } from "vitest";

const ROOT = resolve(import.meta.dirname, "../../..");

interface Proc {
  pid: number;
  ppid: number;
  /** Start time in clock ticks since boot: with the pid, names one process for good. */
  start: string;
  cmdline: string;
}

function readProc(pid: number): Proc | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (fields[0] === "Z") return undefined;
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ").trim();
    return { pid, ppid: Number(fields[1]), start: fields[19] ?? "", cmdline };
  } catch {
    return undefined;
  }
}

function allProcs(): Proc[] {
  return readdirSync("/proc")
    .filter((name) => /^\d+$/.test(name))
    .map((name) => readProc(Number(name)))
    .filter((proc): proc is Proc => proc !== undefined);
}

function descendants(root: number): Proc[] {
  const procs = allProcs();
  const found: Proc[] = [];
  const parents = new Set([root]);
  for (let grew = true; grew;) {
    grew = false;
    for (const proc of procs) {
      if (parents.has(proc.ppid) && !parents.has(proc.pid)) {
        parents.add(proc.pid);
        found.push(proc);
        grew = true;
      }
    }
  }
  return found;
}

function alive(proc: Proc): boolean {
  return readProc(proc.pid)?.start === proc.start;
}

/** Processes whose working directory lies in `dir` (the demo's app, runner, agents). */
function processesIn(dir: string): number[] {
  return allProcs()
    .filter((proc) => {
      try {
        return readlinkSync(`/proc/${proc.pid}/cwd`).startsWith(dir);
      } catch {
        return false;
      }
    })
    .map((proc) => proc.pid);
}

const UP = { timeout: 90_000, interval: 100 };
const GONE = { timeout: 10_000, interval: 50 };

describe("npm run demo", () => {
  it.each(["SIGTERM", "SIGINT"] as const)(
    "%s stops its runner, app and agents, and removes its folder",
    async (signal) => {
      const npm = spawn("npm", ["run", "demo"], {
        cwd: ROOT,
        env: { PATH: process.env.PATH, HOME: process.env.HOME, LANG: "C.UTF-8" },
        stdio: ["ignore", "pipe", "pipe"],
        // Its own group, so the test can clean up if it fails; the signal goes to npm only.
        detached: true,
      });
      let output = "";
      npm.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
      npm.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
      const exited = new Promise<number | null>((done) => npm.once("exit", (code) => done(code)));
      try {
        await vi.waitFor(() => {
          if (npm.exitCode !== null) throw new Error(`the demo ended early:\n${output}`);
          expect(output).toContain('runner "runner-1" registered');
        }, UP);
        const started = descendants(npm.pid ?? 0);
        const runner = started.find((proc) => proc.cmdline.includes("runner/cli.ts start"));
        const app = started.find((proc) => proc.cmdline.includes("src/cli.ts start"));
        expect(runner).toBeDefined();
        expect(app).toBeDefined();
        const dir = /--config (\S*kanbot-e2e-[^/]+)\//.exec(runner?.cmdline ?? "")?.[1] ?? "";
        expect(dir).toMatch(/kanbot-e2e-/);

        const demo = started.find((proc) => proc.cmdline.includes("demo/demo.ts"));
        expect(demo).toBeDefined();

        npm.kill(signal);
        await exited;

        // npm ends only after the demo did, and the demo only after its runner and app.
        expect([demo, runner, app].filter((proc) => proc !== undefined && alive(proc))).toEqual([]);
        // What they ran (esbuild, the agents' sandboxes) goes with them.
        await vi.waitFor(() => {
          expect(started.filter(alive).map((proc) => proc.cmdline)).toEqual([]);
          expect(processesIn(dir)).toEqual([]);
        }, GONE);
        expect(existsSync(dir)).toBe(false);
        expect(output).toContain(`${signal}: stopping the runner, the app and the simulator...`);
      } finally {
        try {
          process.kill(-(npm.pid ?? 0), "SIGKILL");
        } catch {
          // Already gone.
        }
      }
    },
    180_000,
  );
});
