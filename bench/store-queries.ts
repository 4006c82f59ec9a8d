/**
 * The store queries the fixes of docs/BENCHMARKS.md changed, timed in this process on a SQLite
 * file, with the index the fix added and with the schema as it was before (the new index dropped,
 * the old one recreated):
 * - a claim that matches nothing while 10,000 jobs for another agent are queued;
 * - the inbox worker's `nextDeliveries({ limit: 4 })` with 3,000 deliveries pending.
 */
import Database from "better-sqlite3";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { openStore, type JobStore } from "../src/store/index.js";
import { AGENT, seedOtherJobs } from "./lib/app.js";
import { printTargets, quickMode, writeResults } from "./lib/results.js";
import { summarize, type Summary } from "./lib/stats.js";

const quick = quickMode();
const ROUNDS = quick ? 50 : 200;

async function time(rounds: number, work: () => Promise<unknown>): Promise<Summary> {
  const out: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const start = performance.now();
    await work();
    out.push(performance.now() - start);
  }
  return summarize(out, 3);
}

/** Runs `sql` on the file with a separate connection, then reopens the store (fresh plans). */
async function alter(file: string, store: JobStore, sql: string): Promise<JobStore> {
  await store.close();
  const raw = new Database(file);
  raw.exec(sql);
  raw.close();
  return openStore({ url: file });
}

async function main(): Promise<void> {
  console.log(`store-queries${quick ? " (quick)" : ""}`);
  const dir = mkdtempSync(path.join(tmpdir(), "kanbot-bench-store-"));
  try {
    const file = path.join(dir, "kanbot.sqlite");
    let store = await openStore({ url: file });
    await seedOtherJobs(store, 10_000, 1, 1);
    const payload = { action: "labeled", issue: { number: 1 }, padding: "x".repeat(8000) };
    for (let i = 0; i < 3000; i++) {
      await store.recordDelivery({
        deliveryId: `bench-${i}`,
        event: "issues",
        action: "labeled",
        installationId: 1,
        payload,
        orderingKey: `octo-org/widgets#${i % 200}`,
      });
    }
    const claim = () =>
      store.claimJob({ runnerId: "bench", agents: [AGENT], labels: [], repos: [] }, 60_000);
    // holdMs 0: the deliveries taken are due again at once, so every round sees 3,000 pending.
    const next = () => store.nextDeliveries({ limit: 4, holdMs: 0 });
    const claimWithIndex = await time(ROUNDS, claim);
    const nextWithIndex = await time(ROUNDS, next);
    store = await alter(
      file,
      store,
      "DROP INDEX jobs_agent_queue_idx; DROP INDEX deliveries_pending_idx; " +
        "CREATE INDEX deliveries_due_idx ON deliveries(status, next_attempt_at);",
    );
    const claimBefore = await time(ROUNDS, claim);
    const nextBefore = await time(ROUNDS, next);
    await store.close();
    console.log(
      `  claim matching none of 10,000 queued: p50 ${claimBefore.p50} ms before, ${claimWithIndex.p50} ms with jobs_agent_queue_idx`,
    );
    console.log(
      `  nextDeliveries with 3,000 pending: p50 ${nextBefore.p50} ms before, ${nextWithIndex.p50} ms with deliveries_pending_idx`,
    );
    const targets = [
      {
        name: "claim with the agent index faster than before (p50)",
        met: claimWithIndex.p50 < claimBefore.p50,
        value: claimWithIndex.p50,
        limit: claimBefore.p50,
        unit: "ms",
      },
      {
        name: "nextDeliveries with the pending index faster than before (p50)",
        met: nextWithIndex.p50 < nextBefore.p50,
        value: nextWithIndex.p50,
        limit: nextBefore.p50,
        unit: "ms",
      },
    ];
    printTargets(targets);
    const written = writeResults(
      "store-queries",
      {
        method:
          "the store's own calls in the benchmark process on a SQLite file: claimJob for agent claude with 10,000 jobs queued for codex, and nextDeliveries({ limit: 4, holdMs: 0 }) with 3,000 pending deliveries (8 KB payloads, the size of a GitHub issues event) over 200 ordering keys; first with migrations 0002/0003 applied, then with their indexes dropped and deliveries_due_idx recreated (the schema before them), store reopened each time",
        rounds: ROUNDS,
        claimNoMatch10000Ms: { withIndex: claimWithIndex, before: claimBefore },
        nextDeliveries3000PendingMs: { withIndex: nextWithIndex, before: nextBefore },
      },
      targets,
    );
    console.log(`  wrote ${written}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
