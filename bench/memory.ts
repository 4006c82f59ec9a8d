/**
 * Benchmark 5: memory. The app's RSS with 10,000 queued jobs (after the queue is loaded and a
 * claim pass ran); the runner's RSS and CPU while 10 agents run (command agents that sleep a few
 * seconds, then write a file), sampled from /proc.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import {
  claim,
  cpuSeconds,
  deliver,
  MAINTAINER,
  OTHER_AGENT,
  REPO,
  registerRunner,
  rssMiB,
  seedOtherJobs,
  startBenchApp,
  type BenchApp,
} from "./lib/app.js";
import { queueTasks, startRunner } from "./lib/runner.js";
import { newestProfile, printProfile, summarizeProfile } from "./lib/profile.js";
import {
  machine,
  printTargets,
  quickMode,
  RESULTS_DIR,
  writeResults,
  type Target,
} from "./lib/results.js";
import { summarize } from "./lib/stats.js";

const quick = quickMode();
const QUEUED = 10_000;
const AGENTS = 10;
const AGENT_SECONDS = quick ? 6 : 10;

/** `--profile`: the runner under `node --cpu-prof`, summarized in memory-runner-profile.json. */
const profile = process.argv.includes("--profile");

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Pids of `root` and all its descendants, from /proc. */
function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      const list = children.get(ppid) ?? [];
      list.push(Number(entry));
      children.set(ppid, list);
    } catch {
      // the process ended meanwhile
    }
  }
  const out: number[] = [];
  const stack = [root];
  while (stack.length > 0) {
    const pid = stack.pop() as number;
    out.push(pid);
    stack.push(...(children.get(pid) ?? []));
  }
  return out;
}

function safe(read: () => number): number {
  try {
    return read();
  } catch {
    return 0;
  }
}

async function peakRss(pid: number, ms: number): Promise<number> {
  let peak = 0;
  const end = performance.now() + ms;
  while (performance.now() < end) {
    peak = Math.max(peak, rssMiB(pid));
    await sleep(100);
  }
  return peak;
}

async function appMemory(): Promise<Record<string, unknown>> {
  const app = await startBenchApp();
  try {
    const pid = app.child.pid as number;
    await sleep(1000);
    const idle = await peakRss(pid, 1000);
    const seedStart = performance.now();
    await seedOtherJobs(app.store, QUEUED, 1, app.installationId);
    const seedSeconds = (performance.now() - seedStart) / 1000;
    // A claim pass: runners that cannot take the queued jobs claim (the store looks at the
    // queue each time), a runner of their agent reads them, and one real label is worked.
    const tokens = await Promise.all(
      Array.from({ length: 20 }, (_, i) => registerRunner(app, `mem-claude-${i}`)),
    );
    for (let round = 0; round < 5; round++) {
      await Promise.all(tokens.map((token) => claim(app, token, 0)));
    }
    const other = await registerRunner(app, "mem-other", [OTHER_AGENT]);
    const matched = await claim(app, other, 0);
    const actor = app.sim.actAs(MAINTAINER);
    const issue = await actor.createIssue(REPO, { title: "Memory benchmark task" });
    await actor.labelIssue(REPO, issue, "agent:ready");
    const recorded = app.sim.deliveries.findLast(
      (entry) => entry.event === "issues" && entry.action === "labeled",
    );
    if (recorded === undefined) throw new Error("no labeled event recorded");
    const longPoll = claim(app, tokens[0] as string, 25);
    await sleep(50);
    await deliver(app, {
      id: recorded.id,
      event: "issues",
      body: JSON.stringify(recorded.payload),
    });
    const claimed = await longPoll;
    await sleep(2000);
    const loaded = await peakRss(pid, 2000);
    const queued = (await app.store.listQueue()).length;
    console.log(
      `  app: RSS ${idle} MiB idle, ${loaded} MiB with ${queued} queued after the claim pass (seeded in ${seedSeconds.toFixed(1)} s; label claimed: ${claimed.status === 200}, other-agent claim: ${matched.status})`,
    );
    return {
      idleRssMiB: idle,
      loadedRssMiB: loaded,
      queued,
      claimPass: {
        noMatchClaims: tokens.length * 5,
        otherAgentClaimStatus: matched.status,
        labelClaimed: claimed.status === 200,
      },
    };
  } finally {
    await app.stop();
  }
}

async function runnerUsage(): Promise<Record<string, unknown>> {
  const app = await startBenchApp();
  try {
    await queueTasks(app, AGENTS, "Runner memory task");
    const profileDir = profile ? mkdtempSync(path.join(tmpdir(), "kanbot-bench-prof-")) : "";
    const runner = await startRunner(app, {
      name: "mem-runner",
      concurrency: AGENTS,
      command: "sh",
      args: ["-c", `sleep ${AGENT_SECONDS}; date > "$0/bench-agent.txt"`, "{workdir}"],
      ...(profile ? { nodeFlags: ["--cpu-prof", `--cpu-prof-dir=${profileDir}`] } : {}),
    });
    const pid = runner.child.pid as number;
    const samples: { t: number; rss: number; treeRss: number; cpu: number; agents: number }[] = [];
    const started = performance.now();
    const deadline = started + 120_000;
    for (;;) {
      const tree = processTree(pid);
      const agents = tree.filter((child) => {
        try {
          return readFileSync(`/proc/${child}/comm`, "utf8").trim() === "sleep";
        } catch {
          return false;
        }
      }).length;
      samples.push({
        t: performance.now() - started,
        rss: safe(() => rssMiB(pid)),
        // Kernel threads and zombies have no VmRSS (NaN): they count 0.
        treeRss: tree.reduce((sum, child) => sum + (safe(() => rssMiB(child)) || 0), 0),
        cpu: safe(() => cpuSeconds(pid)),
        agents,
      });
      const jobs = await app.store.listQueue();
      const done = (await app.store.listTasks()).length > 0 && jobs.length === 0;
      const finished = await finishedJobs(app);
      if ((done && finished >= AGENTS) || performance.now() > deadline) break;
      await sleep(250);
    }
    const total = (performance.now() - started) / 1000;
    await runner.stop();
    if (profile) {
      const file = newestProfile(profileDir);
      if (file !== undefined) {
        const summary = summarizeProfile(file, 25);
        printProfile(summary);
        writeFileSync(
          path.join(RESULTS_DIR, "memory-runner-profile.json"),
          `${JSON.stringify({ benchmark: "memory --profile", at: new Date().toISOString(), machine: machine(), method: "the runner process (10 slots, 10 sleeping command agents) under node --cpu-prof for its whole run", profile: summary }, null, 2)}\n`,
        );
      }
      rmSync(profileDir, { recursive: true, force: true });
    }
    const finished = await finishedJobs(app);
    const maxAgents = Math.max(...samples.map((sample) => sample.agents));
    // The window where the most agents ran at once (all 10 unless their starts were staggered
    // by more than an agent's run).
    const busy = samples.filter((sample) => sample.agents >= maxAgents && maxAgents > 0);
    const cpuDuring =
      busy.length >= 2
        ? ((busy.at(-1) as (typeof busy)[0]).cpu - (busy[0] as (typeof busy)[0]).cpu) /
          (((busy.at(-1) as (typeof busy)[0]).t - (busy[0] as (typeof busy)[0]).t) / 1000)
        : Number.NaN;
    const last = samples.at(-1) as (typeof samples)[0];
    const result = {
      agents: AGENTS,
      agentSeconds: AGENT_SECONDS,
      jobsFinished: finished,
      wallSeconds: Number(total.toFixed(1)),
      samples: samples.length,
      maxAgentsRunningAtOnce: maxAgents,
      samplesAtThatCount: busy.length,
      runnerRssMiB: summarize(samples.map((sample) => sample.rss)),
      runnerRssWhileMostAgentsRunMiB: summarize(busy.map((sample) => sample.rss)),
      processTreeRssPeakMiB: Number(Math.max(...samples.map((s) => s.treeRss)).toFixed(1)),
      runnerCpuWhileMostAgentsRunPercent: Number((cpuDuring * 100).toFixed(1)),
      runnerCpuWholeRunPercent: Number(((last.cpu / total) * 100).toFixed(1)),
      runnerCpuSeconds: last.cpu,
    };
    console.log(
      `  runner: ${finished}/${AGENTS} jobs finished in ${result.wallSeconds} s; RSS p50 ${result.runnerRssMiB.p50} MiB, max ${result.runnerRssMiB.max} MiB; ` +
        `CPU ${result.runnerCpuWhileMostAgentsRunPercent}% of a core while ${maxAgents} agents ran at once (${busy.length} samples), ${result.runnerCpuWholeRunPercent}% over the run`,
    );
    if (finished < AGENTS) console.log(runner.output().slice(-3000));
    return result;
  } finally {
    await app.stop();
  }
}

async function finishedJobs(app: BenchApp): Promise<number> {
  let count = 0;
  for (const task of await app.store.listTasks()) {
    for (const job of await app.store.listJobs(task.id)) {
      if (job.status === "succeeded" || job.status === "failed") count++;
    }
  }
  return count;
}

async function main(): Promise<void> {
  console.log(`memory${quick ? " (quick)" : ""}`);
  if (profile) {
    await runnerUsage();
    return;
  }
  const app = await appMemory();
  const runner = await runnerUsage();
  const appPeakMB = Math.max(app.idleRssMiB as number, app.loadedRssMiB as number) * 1.048576;
  const targets: Target[] = [
    {
      name: "app RSS < 200 MB with 10,000 queued jobs (the higher of idle and loaded)",
      met: appPeakMB < 200,
      value: Number(appPeakMB.toFixed(1)),
      limit: 200,
      unit: "MB",
    },
  ];
  printTargets(targets);
  const file = writeResults(
    "memory",
    {
      method:
        "RSS (VmRSS) and CPU (utime+stime) read from /proc of the app process (kanbot start via tsx, SQLite) and the runner process (kanbot-runner start via tsx, concurrency 10, command agent `sh -c 'sleep N; date > file'`); app: 10,000 jobs for another agent seeded through the store, 100 claims that match none, one claim by their agent, one real label worked to a claim, then the peak over 2 s; runner: sampled every 250 ms until the 10 jobs finished (fetch, worktree, agent, commit, push, complete)",
      app,
      runner,
    },
    targets,
  );
  console.log(`  wrote ${file}`);
}

await main();
