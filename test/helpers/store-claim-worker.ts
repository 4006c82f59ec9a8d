/**
 * One claimer process of the multi-process claim race (compiled to JavaScript and run with plain
 * `node` by `store-claim-race.ts`). Started once and reused for several rounds, because starting
 * a process is the slow part. It prints `started` once its modules are loaded. A round, driven
 * over stdin/stdout one line at a time:
 *
 *   parent: `round <atomic|naive> <url>`   worker opens its own connection, answers `ready`
 *   parent: `go`                          worker claims until the queue is empty, printing
 *                                         `claimed <jobId>` per job it believes it holds, then `done`
 *   parent: `exit` (or end of stdin)      worker exits 0
 *
 * `atomic` claims with the store's `claimJob`. `naive` is a deliberately broken
 * select-then-update claim with a short sleep in between, to prove the race test can fail.
 */
import { randomBytes } from "node:crypto";
import { createInterface } from "node:readline";
import { setTimeout as sleep } from "node:timers/promises";
import { pino } from "pino";
import { migrateDatabase, openDatabase } from "../../src/store/database.js";
import { openStore } from "../../src/store/open-store.js";
import { parseStoreUrl } from "../../src/store/store-url.js";

const LEASE_MS = 10 * 60_000;
/** The window in which another naive claimer can read the same row. */
const NAIVE_GAP_MS = 3;

const runnerId = process.argv[2];
if (runnerId === undefined) {
  process.stderr.write("usage: store-claim-worker.ts <runnerId>\n");
  process.exit(2);
}

const commands = createInterface({ input: process.stdin })[Symbol.asyncIterator]();

async function nextCommand(): Promise<string> {
  const next = await commands.next();
  return next.done ? "exit" : next.value.trim();
}

function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

async function expectGo(): Promise<void> {
  const command = await nextCommand();
  if (command !== "go") throw new Error(`expected "go", got "${command}"`);
}

async function claimAtomically(url: string, id: string): Promise<void> {
  const store = await openStore({ url, postgresPoolSize: 1 });
  try {
    say("ready");
    await expectGo();
    const capabilities = { runnerId: id, agents: ["claude"], labels: [], repos: [] };
    for (;;) {
      const claimed = await store.claimJob(capabilities, LEASE_MS);
      if (!claimed) break;
      say(`claimed ${claimed.job.id}`);
    }
  } finally {
    await store.close();
  }
}

async function claimNaively(url: string, id: string): Promise<void> {
  const handle = openDatabase(parseStoreUrl(url), { postgresPoolSize: 1 });
  const { db } = handle;
  try {
    await migrateDatabase(handle, pino({ level: "silent" }));
    say("ready");
    await expectGo();
    for (;;) {
      // BROKEN ON PURPOSE: nothing stops another claimer from picking the same row in the gap.
      const next = await db
        .selectFrom("jobs")
        .select("id")
        .where("status", "=", "queued")
        .orderBy("priority")
        .orderBy("enqueued_at")
        .orderBy("id")
        .limit(1)
        .executeTakeFirst();
      if (!next) break;
      await sleep(NAIVE_GAP_MS);
      const now = Date.now();
      await db
        .updateTable("jobs")
        .set({
          status: "leased",
          lease_token: randomBytes(16).toString("hex"),
          lease_expires_at: now + LEASE_MS,
          runner_id: id,
          started_at: now,
        })
        .where("id", "=", next.id)
        .execute();
      say(`claimed ${next.id}`);
    }
  } finally {
    await db.destroy();
  }
}

// Loading the modules is the slow part of a claimer's life: tell the parent when it is over.
say("started");
for (;;) {
  const command = await nextCommand();
  if (command === "exit") break;
  const round = /^round (atomic|naive) (\S+)$/.exec(command);
  if (!round) throw new Error(`unknown command "${command}"`);
  const [, mode, url = ""] = round;
  await (mode === "atomic" ? claimAtomically(url, runnerId) : claimNaively(url, runnerId));
  say("done");
}
process.exit(0);
