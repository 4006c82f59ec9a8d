/**
 * Benchmark 4: webhook intake. Deliveries per second the app accepts (verify the signature,
 * record in the inbox, answer) with concurrent senders, their response times, and a check of the
 * inbox table afterwards: every delivery recorded exactly once, including the redeliveries (the
 * same X-GitHub-Delivery sent again) mixed in.
 *
 * The app runs as a child process (`kanbot start`, SQLite); its inbox worker runs as usual and
 * works the deliveries against the GitHub simulator while they arrive.
 */
import Database from "better-sqlite3";
import { randomUUID } from "node:crypto";
import { performance } from "node:perf_hooks";
import { Worker } from "node:worker_threads";
import {
  cpuSeconds,
  MAINTAINER,
  REPO,
  startBenchApp,
  type BenchApp,
  WEBHOOK_SECRET,
} from "./lib/app.js";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { monotonicUs, newestProfile, printProfile, summarizeProfile } from "./lib/profile.js";
import {
  machine,
  printTargets,
  quickMode,
  RESULTS_DIR,
  writeResults,
  type Target,
} from "./lib/results.js";
import { summarize, type Summary } from "./lib/stats.js";

const quick = quickMode();
const DELIVERIES = quick ? 1500 : 3000;
const CONCURRENCY_LEVELS = quick ? [16] : [16, 64];
/** One delivery in this many is sent a second time with the same id (a redelivery). */
const REDELIVER_EVERY = 50;
const WARMUP = 200;
const ISSUES = 200;

interface Run {
  /** `issues` (labeled `bug`: the worker loads the repository's config from GitHub) or `star`
   * (no handler: the worker only takes it from the inbox and marks it done). */
  event: string;
  concurrency: number;
  deliveries: number;
  redeliveries: number;
  seconds: number;
  perSecond: number;
  responseMs: Summary;
  statuses: Record<string, number>;
  inbox: { rows: number; distinct: number; missing: number; duplicated: number };
  /** The app process's CPU time per delivery while they were sent (the worker included). */
  appCpuMsPerDeliveryWhileSending: number;
  /** The app's CPU per delivery until the inbox was worked off (recording + processing). */
  appCpuMsPerDeliveryToDrain: number;
  /** Seconds from the last answer until no delivery was pending. */
  drainSeconds: number;
}

async function drained(app: BenchApp): Promise<void> {
  const deadline = Date.now() + 300_000;
  while ((await app.store.listDeliveries({ statuses: ["pending"], limit: 1 })).length > 0) {
    if (Date.now() > deadline) throw new Error("the inbox did not drain in 300 s");
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** A labeled-issue payload as the simulator builds it, with the label changed to `bug`. */
async function templatePayload(app: BenchApp): Promise<Record<string, unknown>> {
  const actor = app.sim.actAs(MAINTAINER);
  const issue = await actor.createIssue(REPO, { title: "intake" });
  await actor.labelIssue(REPO, issue, "bug");
  const recorded = app.sim.deliveries.findLast(
    (entry) => entry.event === "issues" && entry.action === "labeled",
  );
  if (recorded === undefined) throw new Error("the simulator recorded no labeled event");
  return recorded.payload;
}

function bodies(template: Record<string, unknown>, count: number): { id: string; body: string }[] {
  const issue = template.issue as Record<string, unknown>;
  const out: { id: string; body: string }[] = [];
  for (let i = 0; i < count; i++) {
    const payload = { ...template, issue: { ...issue, number: 1000 + (i % ISSUES) } };
    out.push({ id: randomUUID(), body: JSON.stringify(payload) });
  }
  return out;
}

/**
 * The senders run on a worker thread, apart from the simulator on this thread (which answers the
 * app's GitHub calls meanwhile), so a busy simulator does not slow the sending down. Plain
 * JavaScript: worker threads do not go through tsx.
 */
const SENDER_CODE = `
const { parentPort, workerData } = require("node:worker_threads");
const { createHmac } = require("node:crypto");
const { performance } = require("node:perf_hooks");
const { url, list, concurrency, event, secret } = workerData;
const latencies = [];
const statuses = {};
let next = 0;
async function post(item) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fetch(url, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "user-agent": "GitHub-Hookshot/bench",
          "x-github-event": event,
          "x-github-delivery": item.id,
          "x-hub-signature-256": "sha256=" + createHmac("sha256", secret).update(item.body).digest("hex"),
        },
        body: item.body,
      });
    } catch (error) {
      const code = error && error.cause && error.cause.code;
      if (attempt >= 3 || (code !== "UND_ERR_SOCKET" && code !== "ECONNRESET")) throw error;
    }
  }
}
async function sender() {
  for (;;) {
    const item = list[next++];
    if (item === undefined) return;
    const at = performance.now();
    const response = await post(item);
    await response.arrayBuffer();
    latencies.push(performance.now() - at);
    statuses[response.status] = (statuses[response.status] || 0) + 1;
  }
}
const started = performance.now();
Promise.all(Array.from({ length: concurrency }, sender)).then(() =>
  parentPort.postMessage({ seconds: (performance.now() - started) / 1000, latencies, statuses }),
);
`;

function send(
  app: BenchApp,
  list: { id: string; body: string }[],
  concurrency: number,
  event = "issues",
): Promise<{ seconds: number; latencies: number[]; statuses: Record<string, number> }> {
  const worker = new Worker(SENDER_CODE, {
    eval: true,
    workerData: { url: app.webhookUrl, list, concurrency, event, secret: WEBHOOK_SECRET },
  });
  return new Promise((resolve, reject) => {
    worker.once("message", (result) => {
      resolve(result as { seconds: number; latencies: number[]; statuses: Record<string, number> });
      void worker.terminate();
    });
    worker.once("error", reject);
  });
}

function checkInbox(dbPath: string, ids: readonly string[]): Run["inbox"] {
  const db = new Database(dbPath, { readonly: true });
  try {
    const counts = new Map<string, number>();
    const rows = db.prepare("SELECT delivery_id FROM deliveries").all() as {
      delivery_id: string;
    }[];
    for (const row of rows) counts.set(row.delivery_id, (counts.get(row.delivery_id) ?? 0) + 1);
    let missing = 0;
    let duplicated = 0;
    for (const id of ids) {
      const count = counts.get(id) ?? 0;
      if (count === 0) missing++;
      if (count > 1) duplicated++;
    }
    return {
      rows: ids.filter((id) => counts.has(id)).length,
      distinct: ids.length,
      missing,
      duplicated,
    };
  } finally {
    db.close();
  }
}

/** `--profile`: the app under `node --cpu-prof` while 16 senders deliver; the window's samples. */
async function profileRun(): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), "kanbot-bench-prof-"));
  const app = await startBenchApp({ nodeFlags: ["--cpu-prof", `--cpu-prof-dir=${dir}`] });
  let window: { fromUs: number; toUs: number };
  let perSecond: number;
  try {
    const template = await templatePayload(app);
    await send(app, bodies(template, WARMUP), 8);
    const list = bodies(template, 3000);
    const fromUs = monotonicUs();
    const sent = await send(app, list, 16);
    window = { fromUs, toUs: monotonicUs() };
    perSecond = Math.round(list.length / sent.seconds);
  } finally {
    await app.stop();
  }
  const file = newestProfile(dir);
  if (file === undefined) throw new Error("the app wrote no CPU profile");
  const summary = summarizeProfile(file, 25, window);
  console.log(`  ${perSecond} deliveries/s under the profiler`);
  printProfile(summary, 15);
  writeFileSync(
    path.join(RESULTS_DIR, "webhook-intake-profile.json"),
    `${JSON.stringify({ benchmark: "webhook-intake --profile", at: new Date().toISOString(), machine: machine(), method: "app under node --cpu-prof; 3,000 deliveries from 16 senders; only the samples taken while they were sent are summarized (the inbox worker runs meanwhile and is included)", perSecond, profile: summary }, null, 2)}\n`,
  );
  rmSync(dir, { recursive: true, force: true });
}

async function main(): Promise<void> {
  console.log(`webhook-intake${quick ? " (quick)" : ""}`);
  if (process.argv.includes("--profile")) {
    await profileRun();
    return;
  }
  const app = await startBenchApp();
  try {
    const template = await templatePayload(app);
    await send(app, bodies(template, WARMUP), 8);
    const runs: Run[] = [];
    const plan = [
      ...CONCURRENCY_LEVELS.map((concurrency) => ({ concurrency, event: "issues" })),
      { concurrency: 16, event: "star" },
    ];
    for (const { concurrency, event } of plan) {
      const list = bodies(template, DELIVERIES);
      const redeliveries = list.filter((_, i) => i % REDELIVER_EVERY === REDELIVER_EVERY - 1);
      // Redeliveries go out interleaved with the rest, a little after their first delivery.
      const schedule = [...list];
      redeliveries.forEach((item, i) => schedule.splice((i + 1) * (REDELIVER_EVERY + 1), 0, item));
      await drained(app);
      const pid = app.child.pid as number;
      const cpuBefore = cpuSeconds(pid);
      const sent = await send(app, schedule, concurrency, event);
      const cpuSent = cpuSeconds(pid);
      const drainStart = performance.now();
      await drained(app);
      const drainSeconds = (performance.now() - drainStart) / 1000;
      const cpuDrained = cpuSeconds(pid);
      const inbox = checkInbox(
        app.dbPath,
        list.map((item) => item.id),
      );
      const run: Run = {
        event,
        concurrency,
        deliveries: list.length,
        redeliveries: redeliveries.length,
        seconds: Number(sent.seconds.toFixed(2)),
        perSecond: Math.round(schedule.length / sent.seconds),
        responseMs: summarize(sent.latencies),
        statuses: sent.statuses,
        inbox,
        appCpuMsPerDeliveryWhileSending: Number(
          (((cpuSent - cpuBefore) * 1000) / schedule.length).toFixed(2),
        ),
        appCpuMsPerDeliveryToDrain: Number(
          (((cpuDrained - cpuBefore) * 1000) / schedule.length).toFixed(2),
        ),
        drainSeconds: Number(drainSeconds.toFixed(1)),
      };
      runs.push(run);
      console.log(
        `  ${event.padEnd(6)} ${String(concurrency).padStart(2)} senders: ${run.perSecond} deliveries/s, response p50 ${run.responseMs.p50} ms p99 ${run.responseMs.p99} ms, ` +
          `statuses ${JSON.stringify(run.statuses)}; inbox: ${inbox.rows}/${inbox.distinct} recorded, ${inbox.missing} missing, ${inbox.duplicated} duplicated; ` +
          `app CPU ${run.appCpuMsPerDeliveryWhileSending} ms/delivery while sending, ${run.appCpuMsPerDeliveryToDrain} ms to drain (${run.drainSeconds} s)`,
      );
    }
    const best = runs
      .filter((run) => run.event === "issues")
      .reduce((a, b) => (b.perSecond > a.perSecond ? b : a));
    const lossless = runs.every(
      (run) =>
        run.inbox.missing === 0 &&
        run.inbox.duplicated === 0 &&
        Object.keys(run.statuses).every((status) => status.startsWith("2")),
    );
    const targets: Target[] = [
      {
        name: ">= 500 webhooks/s accepted (issues.labeled, best concurrency)",
        met: best.perSecond >= 500,
        value: best.perSecond,
        limit: 500,
        unit: "deliveries/s",
      },
      {
        name: "nothing lost or duplicated in the inbox (missing + duplicated + non-2xx)",
        met: lossless,
        value: runs.reduce(
          (sum, run) =>
            sum +
            run.inbox.missing +
            run.inbox.duplicated +
            Object.entries(run.statuses)
              .filter(([status]) => !status.startsWith("2"))
              .reduce((n, [, count]) => n + count, 0),
          0,
        ),
        limit: 0,
        unit: "deliveries",
      },
    ];
    printTargets(targets);
    const file = writeResults(
      "webhook-intake",
      {
        method:
          "app as a child process (kanbot start via tsx, SQLite file, inbox worker running against the GitHub simulator); the benchmark process POSTs signed issues.labeled deliveries (label `bug`, 200 issues) from N concurrent senders over keep-alive connections; one delivery in 50 is sent twice with the same X-GitHub-Delivery; a last run sends the same body as star events, which no handler takes (intake and inbox bookkeeping only); afterwards the deliveries table is read directly",
        warmupDeliveries: WARMUP,
        runs,
      },
      targets,
    );
    console.log(`  wrote ${file}`);
  } finally {
    await app.stop();
  }
}

await main();
