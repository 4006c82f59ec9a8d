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
import { deliver, MAINTAINER, REPO, startBenchApp, type BenchApp } from "./lib/app.js";
import { printTargets, quickMode, writeResults, type Target } from "./lib/results.js";
import { summarize, type Summary } from "./lib/stats.js";

const quick = quickMode();
const DELIVERIES = quick ? 1500 : 6000;
const CONCURRENCY_LEVELS = quick ? [16] : [4, 16, 64];
/** One delivery in this many is sent a second time with the same id (a redelivery). */
const REDELIVER_EVERY = 50;
const WARMUP = 200;
const ISSUES = 200;

interface Run {
  concurrency: number;
  deliveries: number;
  redeliveries: number;
  seconds: number;
  perSecond: number;
  responseMs: Summary;
  statuses: Record<string, number>;
  inbox: { rows: number; distinct: number; missing: number; duplicated: number };
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

async function send(
  app: BenchApp,
  list: { id: string; body: string }[],
  concurrency: number,
): Promise<{ seconds: number; latencies: number[]; statuses: Record<string, number> }> {
  const latencies: number[] = [];
  const statuses: Record<string, number> = {};
  let next = 0;
  const started = performance.now();
  async function sender(): Promise<void> {
    for (;;) {
      const index = next++;
      const item = list[index];
      if (item === undefined) return;
      const at = performance.now();
      const status = await deliver(app, { id: item.id, event: "issues", body: item.body });
      latencies.push(performance.now() - at);
      statuses[status] = (statuses[status] ?? 0) + 1;
    }
  }
  await Promise.all(Array.from({ length: concurrency }, sender));
  return { seconds: (performance.now() - started) / 1000, latencies, statuses };
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

async function main(): Promise<void> {
  console.log(`webhook-intake${quick ? " (quick)" : ""}`);
  const app = await startBenchApp();
  try {
    const template = await templatePayload(app);
    await send(app, bodies(template, WARMUP), 8);
    const runs: Run[] = [];
    for (const concurrency of CONCURRENCY_LEVELS) {
      const list = bodies(template, DELIVERIES);
      const redeliveries = list.filter((_, i) => i % REDELIVER_EVERY === REDELIVER_EVERY - 1);
      // Redeliveries go out interleaved with the rest, a little after their first delivery.
      const schedule = [...list];
      redeliveries.forEach((item, i) => schedule.splice((i + 1) * (REDELIVER_EVERY + 1), 0, item));
      const sent = await send(app, schedule, concurrency);
      const inbox = checkInbox(
        app.dbPath,
        list.map((item) => item.id),
      );
      const run: Run = {
        concurrency,
        deliveries: list.length,
        redeliveries: redeliveries.length,
        seconds: Number(sent.seconds.toFixed(2)),
        perSecond: Math.round(schedule.length / sent.seconds),
        responseMs: summarize(sent.latencies),
        statuses: sent.statuses,
        inbox,
      };
      runs.push(run);
      console.log(
        `  ${String(concurrency).padStart(2)} senders: ${run.perSecond} deliveries/s, response p50 ${run.responseMs.p50} ms p99 ${run.responseMs.p99} ms, ` +
          `statuses ${JSON.stringify(run.statuses)}; inbox: ${inbox.rows}/${inbox.distinct} recorded, ${inbox.missing} missing, ${inbox.duplicated} duplicated`,
      );
    }
    const best = runs.reduce((a, b) => (b.perSecond > a.perSecond ? b : a));
    const lossless = runs.every(
      (run) =>
        run.inbox.missing === 0 &&
        run.inbox.duplicated === 0 &&
        Object.keys(run.statuses).every((status) => status.startsWith("2")),
    );
    const targets: Target[] = [
      {
        name: ">= 500 webhooks/s accepted (best concurrency)",
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
          "app as a child process (kanbot start via tsx, SQLite file, inbox worker running against the GitHub simulator); the benchmark process POSTs signed issues.labeled deliveries (label `bug`, 200 issues) from N concurrent senders over keep-alive connections; one delivery in 50 is sent twice with the same X-GitHub-Delivery; afterwards the deliveries table is read directly",
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
