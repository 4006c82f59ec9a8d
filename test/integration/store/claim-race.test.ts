import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openStore } from "../../../src/store/index.js";
import { startClaimers, type Claimers } from "../../helpers/store-claim-race.js";
import {
  beforeAllOrFailEach,
  createTestDatabase,
  STORE_ENGINES,
  type TestDatabase,
} from "../../helpers/store-databases.js";
import { newTask } from "../../helpers/store-fixtures.js";

const CLAIMERS = 8;
const JOBS_PER_TASK = 10;
const TASKS = 40;
const JOBS = TASKS * JOBS_PER_TASK;
/** The naive claim only has to be caught once; a smaller queue keeps its slow rounds short. */
const NAIVE_TASKS = 20;

/**
 * Ceilings, not timing assertions: compiling the claimer and starting eight plain `node`
 * processes takes about 4 s of CPU, which a busy two-core machine can stretch many times.
 */
const STARTUP_CEILING_MS = 180_000;
const ROUND_CEILING_MS = 120_000;

// One set of claimer processes serves every round: starting processes is the slow part, and
// each round still opens a fresh connection per process.
let claimers: Claimers;
beforeAll(async () => {
  claimers = startClaimers(CLAIMERS);
  await claimers.started;
}, STARTUP_CEILING_MS);
afterAll(async () => {
  await claimers?.stop();
});

describe.each(STORE_ENGINES)("claims from separate processes on %s", (engine) => {
  let database: TestDatabase;

  beforeAllOrFailEach(async () => {
    database = await createTestDatabase(engine);
  });
  afterAll(async () => {
    await database?.drop();
  });

  async function seedQueue(tasks: number): Promise<number[]> {
    await database.reset();
    const store = await openStore({ url: database.url });
    const jobIds: number[] = [];
    for (let issue = 1; issue <= tasks; issue += 1) {
      const { task } = await store.upsertTask(newTask({ issueNumber: issue }));
      for (let i = 0; i < JOBS_PER_TASK; i += 1) {
        jobIds.push((await store.enqueueJob({ taskId: task.id, kind: "implement" })).id);
      }
    }
    await store.close();
    return jobIds;
  }

  it(
    `never hands the same job to two of ${CLAIMERS} claimers and loses none of ${JOBS}`,
    async () => {
      const jobIds = await seedQueue(TASKS);

      const race = await claimers.race(database.url, "atomic");

      const rows = await database.raw
        .selectFrom("jobs")
        .select(["id", "status", "runner_id"])
        .orderBy("id")
        .execute();
      expect(race.claimedTwice).toEqual([]);
      expect(race.claims.map(([, jobId]) => jobId).sort((a, b) => a - b)).toEqual(jobIds);
      expect(rows.filter((row) => row.status !== "leased")).toEqual([]);
      const holder = new Map(race.claims.map(([claimer, jobId]) => [jobId, claimer]));
      expect(rows.filter((row) => row.runner_id !== holder.get(row.id))).toEqual([]);
      // Not a timing assertion: it only checks that the race had more than one contestant.
      expect(new Set(race.claims.map(([claimer]) => claimer)).size).toBeGreaterThan(1);
    },
    ROUND_CEILING_MS,
  );

  it(
    `detects double claims among ${NAIVE_TASKS * JOBS_PER_TASK} jobs when the claim is a naive select-then-update`,
    async () => {
      await seedQueue(NAIVE_TASKS);

      const race = await claimers.race(database.url, "naive");

      expect(race.claimedTwice.length).toBeGreaterThan(0);
    },
    ROUND_CEILING_MS,
  );

  it(
    `migrates a brand-new database once when ${CLAIMERS} processes open it together`,
    async () => {
      const fresh = await createTestDatabase(engine, { migrate: false });
      try {
        const race = await claimers.race(fresh.url, "atomic");

        const applied = await sql<{ name: string }>`select name from kysely_migration`.execute(
          fresh.raw,
        );
        expect(race.claims).toEqual([]);
        expect(applied.rows.map((row) => row.name)).toEqual([
          "0001_initial",
          "0002_jobs_agent_queue_idx",
          "0003_deliveries_pending_idx",
          "0004_task_outbox",
          "0005_task_record",
          "0006_delivery_holder",
          "0007_job_tokens",
          "0008_question_due",
          "0009_preferred_runner",
        ]);
      } finally {
        await fresh.drop();
      }
    },
    ROUND_CEILING_MS,
  );
});
