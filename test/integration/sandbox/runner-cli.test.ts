// What `kanbot-runner start` and `doctor` say about the sandbox: `auto` without a working
// bubblewrap refuses to start (no agent runs unsandboxed by accident); `sandbox: none` is warned
// about on every start and by doctor; doctor reports bubblewrap and runs the agent inside it.
import { readFileSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";

import { pino } from "pino";
import { afterEach, beforeEach, describe, expect, it } from "vitest";

import { loadRunnerConfig } from "../../../runner/config.js";
import { runnerMain } from "../../../runner/main.js";
import { startLoop, streams, type Loop } from "../runner-daemon/harness.js";

/** The real Claude Code CLI (a dev dependency): doctor runs its --version. */
const CLAUDE = resolve(import.meta.dirname, "../../../node_modules/.bin/claude");

let loop: Loop;

beforeEach(async () => {
  loop = await startLoop();
});

afterEach(async () => {
  await loop.close();
});

/** A PATH with node and git but without bwrap (a machine where bubblewrap is not installed). */
function pathWithoutBwrap(): string {
  return (process.env.PATH ?? "")
    .split(":")
    .filter((dir) => {
      try {
        readFileSync(`${dir}/bwrap`);
        return false;
      } catch {
        return true;
      }
    })
    .join(":");
}

async function runner(extraYaml = "") {
  const setup = await loop.addRunner(`  claude:\n    command: ${CLAUDE}\n`, extraYaml);
  return setup.configFile;
}

describe("the sandbox in kanbot-runner start and doctor", () => {
  it("start refuses to run agents when the sandbox cannot start and the config does not say none", async () => {
    const configFile = await runner();
    const { out, io } = streams();

    const code = await runnerMain(["start", "--config", configFile], io, {
      env: { PATH: pathWithoutBwrap(), HOME: loop.dir },
      stop: new AbortController().signal,
      log: pino({ level: "silent" }),
    });

    expect(code).toBe(2);
    expect(out.stderr).toContain("the sandbox cannot start on this machine: bwrap was not found");
    expect(out.stderr).toContain("sandbox: none");
    expect(loop.claims).toEqual([]);
  });

  it("start with sandbox: none warns, every time, that agents can read the runner's secrets", async () => {
    const configFile = await runner("sandbox: none\n");

    for (let start = 0; start < 2; start++) {
      const { out, io } = streams();
      const stopped = new AbortController();
      stopped.abort();

      const code = await runnerMain(["start", "--config", configFile], io, {
        env: { PATH: pathWithoutBwrap(), HOME: loop.dir },
        stop: stopped.signal,
        log: pino({ level: "silent" }),
      });

      expect(code).toBe(0);
      expect(out.stderr).toContain("WARNING: sandbox: none");
      expect(out.stderr).toContain("can read this config file with the runner token");
    }
  });

  it("start refuses a writable sandbox path that holds the runner's own files", async () => {
    const configFile = await runner();
    const config = readFileSync(configFile, "utf8").replace(
      /^sandboxWritable: .*$/m,
      `sandboxWritable: [${JSON.stringify(loop.dir)}]`,
    );
    writeFileSync(configFile, config);
    const { out, io } = streams();

    const code = await runnerMain(["start", "--config", configFile], io, {
      env: { PATH: process.env.PATH, HOME: loop.dir },
      stop: new AbortController().signal,
      log: pino({ level: "silent" }),
    });

    expect(code).toBe(2);
    expect(out.stderr).toContain(`${loop.dir} cannot be shown in the sandbox`);
  });

  it("doctor reports bubblewrap and runs the agent inside it; warns for none; fails without it", async () => {
    const configFile = await runner();
    const loaded = await loadRunnerConfig(configFile);
    const ok = streams();
    const missing = streams();
    const off = streams();

    // Claude Code's key: doctor checks it with `claude auth status` (not logged in fails).
    const key = { ANTHROPIC_API_KEY: "sk-ant-not-checked-by-auth-status" };
    const okCode = await runnerMain(["doctor", "--config", configFile], ok.io, {
      env: { PATH: process.env.PATH, HOME: loop.dir, ...key },
    });
    const missingCode = await runnerMain(["doctor", "--config", configFile], missing.io, {
      env: { PATH: pathWithoutBwrap(), HOME: loop.dir },
    });
    writeFileSync(configFile, `${readFileSync(configFile, "utf8")}\nsandbox: none\n`);
    const offCode = await runnerMain(["doctor", "--config", configFile], off.io, {
      env: { PATH: process.env.PATH, HOME: loop.dir, ...key },
    });

    expect(okCode).toBe(0);
    expect(ok.out.stdout).toMatch(
      /^OK {4}sandbox: bubblewrap \S+ \(\S*bwrap\): own PID namespace/m,
    );
    expect(ok.out.stdout).toMatch(/^OK {4}agent claude: .*, runs in the sandbox$/m);
    expect(missingCode).toBe(1);
    expect(missing.out.stdout).toMatch(/^FAIL {2}sandbox: the sandbox cannot start/m);
    expect(offCode).toBe(0);
    expect(off.out.stdout).toMatch(/^WARN {2}sandbox: sandbox: none \(/m);
    expect(loaded.config.sandbox).toBe("auto");
  });
});
