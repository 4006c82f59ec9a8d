/**
 * Benchmark 2: orchestration overhead per task. A real runner process (kanbot-runner start,
 * `command` agent that writes one file: a no-op agent that leaves a change to commit) works tasks
 * queued in the app against the GitHub simulator: claim, job token, mirror fetch, worktree,
 * agent, commit, push, complete; then the app opens the pull request. Per task: the job's
 * claim-to-completion time as the app records it (started_at to finished_at), and the time from
 * completion to the PR existing in the simulator; and N tasks through 4 runner slots end to end.
 */
import { performance } from "node:perf_hooks";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { cpuSeconds, startBenchApp, type BenchApp } from "./lib/app.js";
import { newestProfile, printProfile, summarizeProfile } from "./lib/profile.js";
import { queueTasks, startRunner } from "./lib/runner.js";
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
const TASKS = quick ? 20 : 100;
const SLOTS = 4;
/** How long to keep watching for PRs after the last job finished. */
const PR_WATCH_MS = quick ? 20_000 : 45_000;

/** `--profile`: the runner under `node --cpu-prof` (written to bench/results/overhead-profile.json). */
const profile = process.argv.includes("--profile");

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface JobTimes {
  issue: number;
  status: string;
  claimToCompleteMs: number;
  finishedAt: number;
  /** From the app's audit log: claim, each job token issued, finish (ms after the claim). */
  auditMs: Record<string, number[]>;
}

async function jobTimes(app: BenchApp): Promise<JobTimes[]> {
  const out: JobTimes[] = [];
  for (const task of await app.store.listTasks()) {
    for (const job of await app.store.listJobs(task.id)) {
      if (job.finishedAt === undefined || job.startedAt === undefined) continue;
      const auditMs: Record<string, number[]> = {};
      for (const entry of await app.store.listAudit({ jobId: job.id })) {
        const list = auditMs[entry.action] ?? [];
        list.push(entry.at.getTime() - job.startedAt.getTime());
        auditMs[entry.action] = list;
      }
      out.push({
        issue: task.issueNumber,
        status: job.status,
        claimToCompleteMs: job.finishedAt.getTime() - job.startedAt.getTime(),
        finishedAt: job.finishedAt.getTime(),
        auditMs,
      });
    }
  }
  return out;
}

/** The git log written by the runner's git wrapper: commands by subcommand. */
function gitCommandSummary(file: string, jobs: number) {
  const lines = existsSync(file) ? readFileSync(file, "utf8").trim().split("\n") : [];
  const byCommand = new Map<string, { count: number; ms: number }>();
  let totalMs = 0;
  for (const line of lines) {
    const [ms, ...args] = line.split(" ");
    // The subcommand: the first argument that is not an option or an option's value.
    let command = "?";
    for (let i = 0; i < args.length; i++) {
      const arg = args[i] as string;
      if (arg === "-c" || arg === "-C" || arg === "--git-dir" || arg === "--work-tree") {
        i++;
        continue;
      }
      if (!arg.startsWith("-")) {
        command = arg;
        break;
      }
    }
    const row = byCommand.get(command) ?? { count: 0, ms: 0 };
    row.count++;
    row.ms += Number(ms);
    totalMs += Number(ms);
    byCommand.set(command, row);
  }
  return {
    commands: lines.length,
    perJob: Number((lines.length / Math.max(1, jobs)).toFixed(1)),
    msPerJob: Math.round(totalMs / Math.max(1, jobs)),
    byCommand: [...byCommand.entries()]
      .map(([command, row]) => ({ command, ...row }))
      .sort((a, b) => b.ms - a.ms),
  };
}

async function main(): Promise<void> {
  console.log(`overhead${quick ? " (quick)" : ""}`);
  // The simulator sends its webhooks to the app, so PRs, labels and checks go the real way.
  const app = await startBenchApp({ deliverWebhooks: true });
  try {
    const issues = await queueTasks(app, TASKS, "Overhead task");
    const prSeen = new Map<number, number>();
    const repo = app.sim.state.mustRepo("octo-org/widgets");
    const watchPulls = () => {
      for (const pull of repo.pulls.values()) {
        const match = /^kanbot\/(\d+)-/.exec(pull.head);
        if (match && !prSeen.has(Number(match[1]))) prSeen.set(Number(match[1]), Date.now());
      }
    };
    const watcher = setInterval(watchPulls, 50);
    const started = performance.now();
    const benchCpu = process.cpuUsage();
    const appCpu = cpuSeconds(app.child.pid as number);
    const profileDir = profile ? mkdtempSync(path.join(tmpdir(), "kanbot-bench-prof-")) : "";
    const runner = await startRunner(app, {
      name: "overhead-runner",
      concurrency: SLOTS,
      command: "sh",
      args: ["-c", 'date > "$0/bench-agent.txt"', "{workdir}"],
      ...(profile
        ? {
            nodeFlags: ["--cpu-prof", `--cpu-prof-dir=${profileDir}`],
            gitLog: path.join(profileDir, "git.log"),
          }
        : {}),
    });
    let runnerCpu = 0;
    const deadline = started + (quick ? 180_000 : 600_000);
    let times: JobTimes[] = [];
    for (;;) {
      times = await jobTimes(app);
      runnerCpu = cpuSeconds(runner.child.pid as number);
      if (times.length >= TASKS || performance.now() > deadline) break;
      await sleep(100);
    }
    const endToEndSeconds = (performance.now() - started) / 1000;
    const used = process.cpuUsage(benchCpu);
    const cpuSecondsDuringRun = {
      app: Number((cpuSeconds(app.child.pid as number) - appCpu).toFixed(1)),
      runner: Number(runnerCpu.toFixed(1)),
      benchmarkAndSimulator: Number(((used.user + used.system) / 1e6).toFixed(1)),
    };
    const lastFinished = Math.max(...times.map((t) => t.finishedAt));
    // PRs: the app opens them through its inbox after each completion; watch for a while.
    const watchUntil = Date.now() + PR_WATCH_MS;
    while (prSeen.size < TASKS && Date.now() < watchUntil) await sleep(100);
    clearInterval(watcher);
    watchPulls();
    await runner.stop();
    if (profile) {
      const file = newestProfile(profileDir);
      if (file !== undefined) {
        const summary = summarizeProfile(file, 25);
        printProfile(summary);
        const gitCommands = gitCommandSummary(path.join(profileDir, "git.log"), times.length);
        console.log(
          `  git commands run by the runner: ${gitCommands.perJob} per job, ${gitCommands.msPerJob} ms per job summed`,
        );
        for (const row of gitCommands.byCommand.slice(0, 12)) {
          console.log(`    ${String(row.count).padStart(5)} x ${row.command} (${row.ms} ms total)`);
        }
        writeFileSync(
          path.join(RESULTS_DIR, "overhead-profile.json"),
          `${JSON.stringify({ benchmark: "overhead --profile", at: new Date().toISOString(), machine: machine(), method: "the runner process under node --cpu-prof for the whole run (start to stop); a git wrapper first on the runner's PATH logs every git command and its wall time", tasks: TASKS, jobs: times.length, profile: summary, gitCommands }, null, 2)}\n`,
        );
      }
      rmSync(profileDir, { recursive: true, force: true });
    }
    const succeeded = times.filter((t) => t.status === "succeeded");
    const prLatency = times
      .filter((t) => prSeen.has(t.issue))
      .map((t) => (prSeen.get(t.issue) as number) - t.finishedAt);
    const firstFinished = Math.min(...times.map((t) => t.finishedAt));
    const prsOpenedSeconds =
      prSeen.size > 1
        ? (Math.max(...prSeen.values()) - Math.min(...prSeen.values())) / 1000
        : Number.NaN;
    const perTask = summarize(times.map((t) => t.claimToCompleteMs));
    // The job's timeline from the audit log: the first job token is asked for the fetch, the
    // last one for the push.
    const tokens = times.map((t) =>
      [...(t.auditMs["job.token-issued"] ?? [])].sort((a, b) => a - b),
    );
    const breakdown = {
      claimToFetchTokenMs: summarize(tokens.map((list) => list[0] ?? Number.NaN)),
      fetchTokenToPushTokenMs: summarize(
        tokens.map((list) => (list.at(-1) ?? Number.NaN) - (list[0] ?? Number.NaN)),
      ),
      pushTokenToCompleteMs: summarize(
        times.map((t, i) => t.claimToCompleteMs - (tokens[i]?.at(-1) ?? Number.NaN)),
      ),
      tokensPerJob: summarize(tokens.map((list) => list.length)),
    };
    const result = {
      tasks: TASKS,
      issues: issues.length,
      slots: SLOTS,
      jobsFinished: times.length,
      jobsSucceeded: succeeded.length,
      claimToCompleteMs: perTask,
      breakdown,
      cpuSecondsDuringRun,
      endToEndSeconds: Number(endToEndSeconds.toFixed(1)),
      tasksPerMinute: Number(((times.length / endToEndSeconds) * 60).toFixed(1)),
      completionsSpanSeconds: Number(((lastFinished - firstFinished) / 1000).toFixed(1)),
      prsOpened: prSeen.size,
      prWatchAfterLastJobSeconds: PR_WATCH_MS / 1000,
      completeToPrMs: summarize(prLatency),
      prsPerMinute: Number(((prSeen.size / prsOpenedSeconds) * 60).toFixed(1)),
    };
    console.log(
      `  ${times.length}/${TASKS} jobs finished (${succeeded.length} succeeded) through ${SLOTS} slots in ${result.endToEndSeconds} s ` +
        `(${result.tasksPerMinute} tasks/min); claim->complete p50 ${perTask.p50} ms, p99 ${perTask.p99} ms`,
    );
    console.log(
      `  claim->fetch token p50 ${breakdown.claimToFetchTokenMs.p50} ms, fetch token->push token (fetch, worktree, agent, commit) p50 ${breakdown.fetchTokenToPushTokenMs.p50} ms, ` +
        `push token->complete (push, complete) p50 ${breakdown.pushTokenToCompleteMs.p50} ms; ${breakdown.tokensPerJob.p50} tokens per job`,
    );
    console.log(
      `  CPU seconds during the run: app ${cpuSecondsDuringRun.app}, runner ${cpuSecondsDuringRun.runner}, benchmark process with the simulator ${cpuSecondsDuringRun.benchmarkAndSimulator} (git children not counted)`,
    );
    console.log(
      `  PRs: ${prSeen.size}/${TASKS} opened within ${PR_WATCH_MS / 1000} s of the last completion; complete->PR p50 ${result.completeToPrMs.p50} ms, max ${result.completeToPrMs.max} ms (${result.prsPerMinute} PRs/min)`,
    );
    if (succeeded.length < times.length || times.length < TASKS) {
      console.log(runner.output().slice(-3000));
    }
    const targets: Target[] = [
      {
        name: "runner-side overhead per task (claim to completion, no-op agent) < 1 s, median",
        met: perTask.p50 < 1000,
        value: perTask.p50,
        limit: 1000,
        unit: "ms",
      },
      {
        name: "overhead per task including the PR (claim to completion + completion to PR), median",
        met: perTask.p50 + result.completeToPrMs.p50 < 1000,
        value: Number((perTask.p50 + result.completeToPrMs.p50).toFixed(1)),
        limit: 1000,
        unit: "ms",
      },
    ];
    printTargets(targets);
    if (profile) return; // a profiled run's timings are not the benchmark's figures
    const file = writeResults(
      "overhead",
      {
        method:
          "app as a child process (kanbot start via tsx, SQLite) with the GitHub simulator in the benchmark process delivering its webhooks to the app; tasks for real simulator issues queued in the store; one real runner process (kanbot-runner start via tsx, concurrency 4, command agent `sh -c 'date > file'`); per job: started_at to finished_at from the store (claim, job token, fetch, worktree, agent, commit, push, complete); PRs watched in the simulator's state every 50 ms",
        ...result,
      },
      targets,
    );
    console.log(`  wrote ${file}`);
  } finally {
    await app.stop();
  }
}

await main();
