/**
 * What test/chaos/runners-killed.test.ts needs beside the harness: a seeded chaos loop that
 * SIGKILLs and SIGSTOPs real runner processes at random, and the readings its invariants are
 * checked on (live jobs per task from the store's job rows, every push GitHub took on a task
 * branch attributed to the job whose commit it carries, the runners' own log lines).
 */
import { execFile } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";

import type { Job, JobStore } from "../../src/store/index.js";
import { REPO, type E2E } from "../e2e/harness.js";

const run = promisify(execFile);

/** A small seeded PRNG (mulberry32): the same seed strikes the same way (timing aside). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** One strike of the chaos loop. */
export interface Strike {
  action: "kill" | "stop";
  runner: string;
  /** When the signal was sent, and when the runner was started again / continued (ms). */
  at: number;
  until: number | undefined;
  /** The job the runner held in the store when it was struck (and its task), if any. */
  jobId: number | undefined;
  taskId: number | undefined;
}

export interface RunnerChaosOptions {
  random: () => number;
  /** Pause between strikes, ms (uniform). */
  intervalMs: [number, number];
  /** How long a SIGKILLed runner stays down before it is started again, ms (uniform). */
  downMs: [number, number];
  /** How long a SIGSTOPped runner stays stopped, ms (uniform): past its lease. */
  pauseMs: [number, number];
  /** Chance that a strike picks a runner holding a job, when one is healthy. */
  busyBias: number;
  /**
   * Strikes at runners holding a job of one task, at most: every task's job is lost a bounded
   * number of times, so the last tasks finish even while the strikes go on.
   */
  strikesPerTask: number;
}

export interface RunnerChaos {
  readonly strikes: readonly Strike[];
  /** Runner exits nobody asked for (a crash of the runner itself), as `name: code`. */
  readonly unexpectedExits: readonly string[];
  /** The most queued or leased jobs one task had at one sample of the store. */
  readonly maxSampledLiveJobs: number;
  /**
   * Ends the strikes: killed runners start again at once; stopped ones stay stopped until
   * `wake()` (they wake to a world that moved on).
   */
  stop(): Promise<void>;
  /** SIGCONT for every runner still stopped; returns the strikes it ended. */
  wake(): Strike[];
  /** Ends everything without restoring anything (the harness kills what is left); idempotent. */
  dispose(): Promise<void>;
}

/**
 * `recovering`: continued, but not struck again before it has given up the job it held when it
 * was stopped (its log says so), or for `RECOVERY_MS` at most.
 */
type RunnerState = "up" | "stopped" | "recovering" | "dead";

const RECOVERY_MS = 20_000;

/** A woken runner gives its job up with one of these (pushed before, or not at all). */
export const GAVE_UP = [
  "lease lost: the job is not reported and nothing was pushed",
  "lease lost after the push: the job is not reported",
  "job not reported: the lease ended before the app answered",
];

function between(random: () => number, [low, high]: [number, number]): number {
  return low + Math.floor(random() * (high - low + 1));
}

/**
 * Starts striking `e2e`'s runners: every `intervalMs` one healthy runner (preferably one that
 * holds a job) is SIGKILLed (its process group, agent included; started again after `downMs`)
 * or SIGSTOPped (its process group; SIGCONT after `pauseMs`). At least one runner always stays
 * healthy, so tasks progress. The store is sampled at every strike and every 250 ms for the
 * largest number of live (queued or leased) jobs of one task.
 */
export function startRunnerChaos(
  e2e: E2E,
  store: JobStore,
  options: RunnerChaosOptions,
): RunnerChaos {
  const { random } = options;
  const strikes: Strike[] = [];
  const unexpectedExits: string[] = [];
  const states = new Map<string, RunnerState>();
  const timers = new Map<string, NodeJS.Timeout>();
  const checks = new Set<NodeJS.Timeout>();
  const open = new Map<string, Strike>();
  const names = new Map<string, string>();
  const launchedAt = new Map<string, number>();
  const ending = new AbortController();
  let disposed = false;
  let maxSampledLiveJobs = 0;

  function watch(name: string): void {
    const runner = e2e.runners.get(name);
    if (runner === undefined) throw new Error(`no runner called ${name}`);
    states.set(name, "up");
    launchedAt.set(name, Date.now());
    void runner.exited.then((code) => {
      // Ours when we killed it (dead) or the harness is stopping (the test is over).
      if (e2e.runners.get(name) === runner && states.get(name) !== "dead" && !disposed)
        unexpectedExits.push(`${name}: ${String(code)}`);
    });
  }
  for (const name of e2e.runners.keys()) watch(name);

  /**
   * The job each runner process holds, by runner name (not one a killed process of the same
   * runner held: the store shows it leased until its lease ends); records the sample's live jobs
   * per task.
   */
  async function sample(): Promise<Map<string, Job>> {
    const live = await store.listQueue();
    const perTask = new Map<number, number>();
    for (const job of live) perTask.set(job.taskId, (perTask.get(job.taskId) ?? 0) + 1);
    maxSampledLiveJobs = Math.max(maxSampledLiveJobs, ...perTask.values());
    if (live.some((job) => job.runnerId !== undefined && !names.has(job.runnerId))) {
      for (const runner of await store.listRunners()) names.set(runner.id, runner.name);
    }
    const held = new Map<string, Job>();
    const now = Date.now();
    for (const job of live) {
      const name = job.runnerId === undefined ? undefined : names.get(job.runnerId);
      if (job.status !== "leased" || name === undefined) continue;
      if ((job.startedAt?.getTime() ?? 0) < (launchedAt.get(name) ?? 0)) continue;
      if ((job.leaseExpiresAt?.getTime() ?? 0) <= now) continue;
      held.set(name, job);
    }
    return held;
  }

  /** The strikes so far, in `e2e.dir` (kept with KANBOT_E2E_KEEP=1), for a failure's story. */
  function save(): void {
    writeFileSync(join(e2e.dir, "chaos-strikes.json"), `${JSON.stringify(strikes, null, 1)}\n`);
  }

  function restore(name: string): void {
    const state = states.get(name);
    const strike = open.get(name);
    open.delete(name);
    timers.delete(name);
    if (strike !== undefined) strike.until = Date.now();
    save();
    if (state === "dead") {
      e2e.restartRunner(name);
      watch(name);
    } else if (state === "stopped") {
      const pid = e2e.runners.get(name)?.child.pid;
      if (pid !== undefined) signalGroup(pid, "SIGCONT");
      states.set(name, "recovering");
      const woke = Date.now();
      const recovered = (): boolean =>
        strike?.jobId === undefined ||
        Date.now() - woke > RECOVERY_MS ||
        GAVE_UP.some((message) =>
          runnerLogLines(e2e, name, message).some((line) => line.jobId === strike.jobId),
        );
      const check = setInterval(() => {
        if (states.get(name) === "recovering" && !recovered()) return;
        clearInterval(check);
        if (states.get(name) === "recovering") states.set(name, "up");
      }, 250);
      checks.add(check);
    }
  }

  async function halt(): Promise<void> {
    ending.abort();
    clearInterval(sampler);
    await strikesDone;
    for (const timer of timers.values()) clearTimeout(timer);
    timers.clear();
    if (disposed) for (const check of checks) clearInterval(check);
  }

  async function strike(): Promise<void> {
    const healthy = [...states].filter(([, state]) => state === "up").map(([name]) => name);
    if (healthy.length < 2) return;
    const held = await sample();
    const struck = (name: string): number => {
      const taskId = held.get(name)?.taskId;
      return strikes.filter((entry) => taskId !== undefined && entry.taskId === taskId).length;
    };
    const busy = healthy.filter((name) => held.has(name) && struck(name) < options.strikesPerTask);
    const idle = healthy.filter((name) => !held.has(name));
    const pool =
      busy.length > 0 && (idle.length === 0 || random() < options.busyBias) ? busy : idle;
    const name = pool[Math.floor(random() * pool.length)];
    if (name === undefined) return;
    const action = random() < 0.5 ? "kill" : "stop";
    const job = held.get(name);
    const entry: Strike = {
      action,
      runner: name,
      at: Date.now(),
      until: undefined,
      jobId: job?.id,
      taskId: job?.taskId,
    };
    strikes.push(entry);
    open.set(name, entry);
    save();
    if (action === "kill") {
      states.set(name, "dead");
      await e2e.killRunner(name, "SIGKILL");
      timers.set(
        name,
        setTimeout(() => restore(name), between(random, options.downMs)),
      );
    } else {
      const pid = e2e.runners.get(name)?.child.pid;
      if (pid === undefined) throw new Error(`${name} has no process`);
      states.set(name, "stopped");
      signalGroup(pid, "SIGSTOP");
      timers.set(
        name,
        setTimeout(() => restore(name), between(random, options.pauseMs)),
      );
    }
  }

  const strikesDone = (async () => {
    while (!ending.signal.aborted) {
      try {
        await sleep(between(random, options.intervalMs), undefined, { signal: ending.signal });
      } catch {
        break;
      }
      await strike();
    }
  })();
  const sampler = setInterval(() => {
    sample().catch(() => undefined);
  }, 250);

  return {
    strikes,
    unexpectedExits,
    get maxSampledLiveJobs() {
      return maxSampledLiveJobs;
    },
    async stop() {
      await halt();
      await sample();
      for (const [name, state] of states) if (state === "dead") restore(name);
    },
    wake() {
      const woken: Strike[] = [];
      for (const [name, state] of states) {
        if (state !== "stopped") continue;
        const strike = open.get(name);
        restore(name);
        if (strike !== undefined) woken.push(strike);
      }
      return woken;
    },
    async dispose() {
      disposed = true;
      await halt();
    },
  };
}

/** When a job stops counting as live: its end, or for a lost job its lease's end if earlier. */
/**
 * Signals a runner's process group; one already gone (the harness stopped the runners while a
 * strike was pending, as after a failed or timed-out run) is left alone.
 */
function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ESRCH") throw error;
  }
}

export function liveUntil(job: Job): number {
  const end = job.finishedAt?.getTime() ?? Number.POSITIVE_INFINITY;
  if (job.status !== "lost" || job.leaseExpiresAt === undefined) return end;
  return Math.min(end, job.leaseExpiresAt.getTime());
}

/** The most jobs of one task that were live (queued, leased) at the same moment. */
export function maxLiveAtOnce(jobs: readonly Job[]): number {
  const edges = jobs.flatMap((job) => [
    { at: job.enqueuedAt.getTime(), delta: 1 },
    { at: liveUntil(job), delta: -1 },
  ]);
  // An end and a start at the same millisecond do not overlap.
  edges.sort((a, b) => a.at - b.at || a.delta - b.delta);
  let live = 0;
  let most = 0;
  for (const edge of edges) {
    live += edge.delta;
    most = Math.max(most, live);
  }
  return most;
}

/** A push GitHub took on a task branch, with the job named by the commit's `Kanbot-Job` trailer. */
export interface LandedPush {
  branch: string;
  sha: string;
  /** When GitHub announced it (the `push` delivery): just after the ref moved. */
  at: number;
  taskId: number | undefined;
  jobId: number | undefined;
}

/** Every push that moved a `kanbot/…` branch (deletions left out), oldest first. */
export async function landedPushes(e2e: E2E): Promise<LandedPush[]> {
  const gitDir = e2e.sim.state.mustRepo(REPO).gitDir;
  const pushes: LandedPush[] = [];
  for (const delivery of e2e.sim.deliveries) {
    if (delivery.event !== "push" || delivery.redelivery) continue;
    const payload = delivery.payload as { ref?: string; after?: string; deleted?: boolean };
    if (payload.deleted === true || payload.after === undefined) continue;
    if (payload.ref?.startsWith("refs/heads/kanbot/") !== true) continue;
    const { stdout } = await run("git", [
      "--git-dir",
      gitDir,
      "log",
      "-1",
      "--format=%B",
      payload.after,
    ]);
    const trailer = (name: string): number | undefined => {
      const value = new RegExp(`^${name}: (\\d+)$`, "m").exec(stdout)?.[1];
      return value === undefined ? undefined : Number(value);
    };
    pushes.push({
      branch: payload.ref.slice("refs/heads/".length),
      sha: payload.after,
      at: delivery.deliveredAt.getTime(),
      taskId: trailer("Kanbot-Task"),
      jobId: trailer("Kanbot-Job"),
    });
  }
  return pushes;
}

/** A runner's log lines (JSON) with this message, as `{ jobId, time }`. */
export function runnerLogLines(
  e2e: E2E,
  runner: string,
  message: string,
): { jobId: number; time: number }[] {
  const text = readFileSync(join(e2e.dir, "logs", `${runner}.log`), "utf8");
  return text
    .split("\n")
    .filter((line) => line.startsWith("{") && line.includes(message))
    .map((line) => JSON.parse(line) as { msg?: string; jobId?: unknown; time?: unknown })
    .filter((entry) => entry.msg === message)
    .map((entry) => ({ jobId: Number(entry.jobId), time: Number(entry.time) }));
}

/** Git lock files left in the runners' work folders (a git killed while it held one). */
export async function leftoverLocks(e2e: E2E): Promise<string[]> {
  const { stdout } = await run("find", [join(e2e.dir, "runners"), "-name", "*.lock"]);
  return stdout.split("\n").filter((line) => line !== "");
}

/** What a stalled run looks like beyond GitHub's state: for the message of a failed wait. */
export async function stallReport(e2e: E2E, chaos: RunnerChaos): Promise<string> {
  const inFlight = e2e.sim.gitRequests.filter((request) => request.status === 0);
  return [
    `git requests the simulator is still answering: ${JSON.stringify(inFlight)}`,
    `git lock files in the runners' work folders: ${JSON.stringify(await leftoverLocks(e2e))}`,
    `strikes: ${JSON.stringify(chaos.strikes)}`,
  ].join("\n");
}
