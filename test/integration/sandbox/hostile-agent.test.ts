// A hostile agent against the real runner (`kanbot-runner start` in a child process, real
// bubblewrap, real git): it tries to read the runner's config and token, the runner's environment
// through /proc, the runner user's HOME, another job's worktree and prompt running at the same
// time, another repository's mirror, and it leaves processes behind (plain, nohup, a setsid
// double fork that drops the job marker). What it saw is pushed in a report file.
//
// The same agent first runs with `sandbox: none` as a control: it must see every secret there,
// or the sandboxed run below would prove nothing. In the sandbox it must see none of them, and
// nothing it started may outlive its job.
import { execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { appendFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";

import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

import { probeSandboxNow } from "../../../runner/sandbox/index.js";
import {
  isGone,
  jobProcesses,
  startLoop,
  testGitEnv,
  type Loop,
} from "../runner-daemon/harness.js";

const ROOT = resolve(import.meta.dirname, "../../..");
const HOSTILE = join(ROOT, "test/fixtures/agents/hostile-agent.sh");
const WAIT = { timeout: 45_000, interval: 50 };

let loop: Loop;

beforeEach(async () => {
  loop = await startLoop();
});

afterEach(async () => {
  await loop.close();
});

/** Live processes whose command line holds `text`, seen from outside any sandbox. */
function processesWith(text: string): number[] {
  const found: number[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const cmdline = readFileSync(`/proc/${name}/cmdline`, "utf8").replaceAll("\0", " ");
      if (cmdline.includes(text) && !isGone(Number(name))) found.push(Number(name));
    } catch {
      // Gone.
    }
  }
  return found;
}

interface Scenario {
  report: string;
  setupSaw: string;
  validationSaw: string;
  secrets: Record<string, string>;
  marker: string;
  hostileJob: number;
  configFile: string;
}

/**
 * Runs a victim job and the hostile job side by side on one runner (concurrency 2) whose config
 * ends with `extraYaml`, and returns what the hostile agent and the repository's commands saw.
 */
async function runHostile(extraYaml: string): Promise<Scenario> {
  const tag = randomBytes(6).toString("hex");
  const secrets: Record<string, string> = {
    envSecret: `kbtestsecret-env-${tag}`,
    homeSecret: `kbtestsecret-home-${tag}`,
    sshKey: `kbtestsecret-ssh-${tag}`,
    otherMirror: `kbtestsecret-mirror-${tag}`,
    victimFile: `kbtestsecret-worktree-${tag}`,
    victimPrompt: `kbtestsecret-prompt-${tag}`,
  };
  const marker = `kbhostile-${tag}`;
  const home = join(loop.dir, `home-${tag}`);
  mkdirSync(join(home, ".ssh"), { recursive: true });
  writeFileSync(join(home, "secret.txt"), `${secrets.homeSecret}\n`);
  writeFileSync(join(home, ".ssh", "id_ed25519"), `${secrets.sshKey}\n`);
  const ready = join(loop.shared, `victim-ready-${tag}`);
  const release = join(loop.shared, `victim-release-${tag}`);

  const victimJob = await loop.queueJob({
    agent: "victim",
    title: `Victim ${secrets.victimPrompt}`,
  });
  const hostileJob = await loop.queueJob({ agent: "hostile" });
  const victimScript = `echo ${secrets.victimFile} > victim-secret.txt && touch ${ready} && while [ ! -e ${release} ]; do sleep 0.1; done`;
  const runner = await loop.addRunner(
    [
      "  victim:",
      "    command: /bin/sh",
      `    args: ["-c", ${JSON.stringify(victimScript)}]`,
      "  hostile:",
      "    command: /bin/sh",
      `    args: [${JSON.stringify(HOSTILE)}]`,
      `    env: { HOSTILE_MARKER: ${marker}, HOSTILE_WAIT_FOR: ${JSON.stringify(ready)}, HOSTILE_GREP: "kbtestsecret|kbr_" }`,
      "",
    ].join("\n"),
    `concurrency: 2\nlogLevel: warn\n${extraYaml}`,
  );
  secrets.runnerToken = runner.token;
  // Another repository's mirror, in the same work directory.
  const otherMirror = join(runner.workDir, "mirrors", "other", "private.git");
  mkdirSync(otherMirror, { recursive: true });
  execFileSync("git", ["init", "--quiet", "--bare", otherMirror], { env: testGitEnv() });
  appendFileSync(
    join(otherMirror, "config"),
    `[remote "origin"]\n\turl = https://example.invalid/${secrets.otherMirror}.git\n`,
  );
  // The repository's own commands try the same, from setup and from validation.
  loop.workspace.setupCommands = [`cat ${runner.configFile} > setup-saw.txt 2>&1; true`];
  loop.workspace.validationCommands = [`cat ${runner.configFile} > validation-saw.txt 2>&1; true`];

  const child = spawn(
    process.execPath,
    ["--import", "tsx", "runner/cli.ts", "start", "--max-jobs", "2", "--config", runner.configFile],
    {
      cwd: ROOT,
      env: { PATH: process.env.PATH, HOME: home, KANBOT_TEST_RUNNER_SECRET: secrets.envSecret },
      stdio: ["ignore", "ignore", "pipe"],
    },
  );
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((done) => child.once("exit", (code) => done(code)));
  try {
    await vi.waitFor(async () => {
      if (child.exitCode !== null) throw new Error(`the runner exited early: ${stderr}`);
      const job = await loop.store.getJob(hostileJob);
      if (job?.status !== "succeeded") throw new Error(`the hostile job is ${job?.status}`);
    }, WAIT);
  } catch (error) {
    // A failed run must not leave its runner (and, through it, the victim's sandbox) behind for
    // the tests that run after it: they look for live processes by job id.
    child.kill("SIGKILL");
    throw error;
  } finally {
    writeFileSync(release, "go");
  }
  expect(await exited).toBe(0);
  expect((await loop.store.getJob(victimJob))?.status).toBe("succeeded");

  const head = ((await loop.store.getJob(hostileJob))?.result as { headSha: string }).headSha;
  return {
    report: loop.show(head, "hostile-report.txt"),
    setupSaw: loop.show(head, "setup-saw.txt"),
    validationSaw: loop.show(head, "validation-saw.txt"),
    secrets,
    marker,
    hostileJob,
    configFile: runner.configFile,
  };
}

describe("a hostile agent", () => {
  it("without the sandbox (the control), reads the runner's secrets and other jobs' files", async () => {
    // `sandbox: none` on purpose: this shows that the agent's probes work, so that the sandboxed
    // run seeing nothing means something.
    const scenario = await runHostile("sandbox: none\n");
    try {
      const { report, secrets } = scenario;

      expect(report).toContain("== done");
      expect(report).toContain(secrets.runnerToken);
      expect(report).toContain(secrets.envSecret);
      expect(report).toContain(secrets.homeSecret);
      expect(report).toContain(secrets.sshKey);
      expect(report).toContain(secrets.otherMirror);
      expect(report).toContain(secrets.victimFile);
      expect(report).toContain(secrets.victimPrompt);
      expect(report).toMatch(/^proc \d+ runner-or-app$/m);
      expect(scenario.setupSaw).toContain(secrets.runnerToken);
      expect(scenario.validationSaw).toContain(secrets.runnerToken);
    } finally {
      for (const pid of processesWith(scenario.marker)) process.kill(pid, "SIGKILL");
    }
  });

  it("in the sandbox, reads none of them, and nothing it started outlives its job", async () => {
    const probe = await probeSandboxNow({
      mode: "bwrap",
      network: true,
      pathEnv: process.env.PATH ?? "",
    });
    expect(probe, "bubblewrap must start here (install bubblewrap)").toMatchObject({
      kind: "bwrap",
    });

    const scenario = await runHostile("");
    const { report, secrets } = scenario;

    // It ran to its end, and looked.
    expect(report).toContain("== done");
    // The config file is there, empty.
    expect(report).toMatch(/^== read \S+\/kanbot-runner\.yml\n\n== read/m);
    expect(report).toMatch(/^proc \d+$/m);
    for (const [name, secret] of Object.entries(secrets)) {
      expect(report.includes(secret), `the hostile agent saw ${name}`).toBe(false);
      expect(scenario.setupSaw.includes(secret), `a setup command saw ${name}`).toBe(false);
      expect(scenario.validationSaw.includes(secret), `validation saw ${name}`).toBe(false);
    }
    // It saw no process outside its sandbox, the runner least of all.
    expect(report).not.toMatch(/runner-or-app/);
    // Its own mirror's config shows no remote.
    expect(report).not.toContain(loop.git.url);
    // Nothing it left behind is alive: not by its command line, not by the job's marker.
    expect(processesWith(scenario.marker)).toEqual([]);
    expect(jobProcesses(scenario.hostileJob)).toEqual([]);
  });
});
