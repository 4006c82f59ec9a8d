/**
 * The typed task record (issue 12, src/store/task-record.ts): every typed field round-trips
 * through the store on SQLite and Postgres; facts recorded by effects leave the version, the
 * update time and the audit log alone; and migration 0005 moves the newest legacy audit entry of
 * each kind into the new columns.
 */
import { Migrator } from "kysely";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { migrateDatabase, openDatabase } from "../../../src/store/database.js";
import { openStore, type TaskChanges, type TaskFactChanges } from "../../../src/store/index.js";
import { storeMigrations } from "../../../src/store/migrations.js";
import { parseStoreUrl } from "../../../src/store/store-url.js";
import {
  createTestDatabase,
  STORE_ENGINES,
  useEngineStore,
  type TestDatabase,
} from "../../helpers/store-databases.js";
import { manualClock, newTask, type ManualClock } from "../../helpers/store-fixtures.js";

const ENTERED = new Date("2026-03-01T10:00:00.000Z");
const SINCE = new Date("2026-03-01T10:05:00.000Z");
const RECHECK = new Date("2026-03-01T10:15:00.000Z");

/** Every typed field a transition decides, with values unlike any default. */
const DECIDED: TaskChanges = {
  state: "blocked",
  enteredAt: ENTERED,
  used: { attempts: 2, minutes: 7.5, usd: 1.25, lostLeases: 1 },
  spent: { attempts: 4, minutes: 19.25, usd: 3.5, lostLeases: 2 },
  prDraft: false,
  routing: {
    agent: "codex",
    reason: "label agent:codex",
    priorityReason: "label priority:P1",
    notes: ["agent:gemini: no runner offers it"],
  },
  dependencies: {
    blockers: [{ owner: "acme", repo: "widgets", number: 7 }],
    cycle: [
      { owner: "acme", repo: "widgets", number: 1 },
      { owner: "acme", repo: "lib", number: 2 },
    ],
    unknown: [{ owner: "acme", repo: "secret", number: 3 }],
  },
  blocker: { cause: "usd-spent", message: "the USD budget is spent", error: "exit 1: boom" },
};

/** Every typed field an effect records. */
const RECORDED: TaskFactChanges = {
  pullRequest: {
    number: 42,
    url: "https://github.com/acme/widgets/pull/42",
    nodeId: "PR_kwDOAbc",
    base: "develop",
  },
  checkRun: { id: 9_000_000_001, url: "https://github.com/acme/widgets/runs/9000000001" },
  gate: {
    headSha: "a".repeat(40),
    since: SINCE,
    recheckAt: RECHECK,
    verdict: "pending",
    reason: "waiting for ci/test",
    noChecks: true,
    rerunRunIds: [11, 12],
    waiting: "ci/test (queued)",
  },
  progressCommentId: 8_000_000_002,
};

describe.each(STORE_ENGINES)("the typed task record on %s", (engine) => {
  const clock: ManualClock = manualClock();
  const engineStore = useEngineStore(engine, clock);

  it("starts a new task with no facts, nothing spent, a draft PR flag and entered now", async () => {
    const { task } = await engineStore.store.upsertTask(newTask());
    expect(task).toMatchObject({
      enteredAt: clock.now(),
      spent: { attempts: 0, minutes: 0, usd: 0, lostLeases: 0 },
      prDraft: true,
      pullRequest: undefined,
      checkRun: undefined,
      gate: undefined,
      progressCommentId: undefined,
      routing: undefined,
      dependencies: undefined,
      blocker: undefined,
    });
  });

  it("round-trips every typed field a transition decides and an effect records", async () => {
    const store = engineStore.store;
    const { task } = await store.upsertTask(newTask());
    await store.commitTransition(task.id, DECIDED, { expectedVersion: task.version });
    await store.recordTaskFacts(task.id, RECORDED);

    const stored = await store.getTask(task.id);
    const { state: _state, ...decided } = DECIDED;
    expect(stored).toMatchObject({ ...decided, ...RECORDED, prNumber: 42, state: "blocked" });
    // Read back as the same types, not as strings: dates are Dates, ids are numbers.
    expect(stored?.gate?.since).toBeInstanceOf(Date);
    expect(typeof stored?.checkRun?.id).toBe("number");
    // Listing reads the same record.
    expect((await store.listTasks({ states: ["blocked"] }))[0]).toEqual(stored);
  });

  it("clears each fact with null", async () => {
    const store = engineStore.store;
    const { task } = await store.upsertTask(newTask());
    await store.commitTransition(task.id, DECIDED, { expectedVersion: task.version });
    await store.recordTaskFacts(task.id, RECORDED);
    await store.updateTask(task.id, {
      state: "queued",
      blocker: null,
      routing: null,
      dependencies: null,
      pullRequest: null,
      checkRun: null,
      gate: null,
      progressCommentId: null,
    });
    expect(await store.getTask(task.id)).toMatchObject({
      blocker: undefined,
      routing: undefined,
      dependencies: undefined,
      pullRequest: undefined,
      checkRun: undefined,
      gate: undefined,
      progressCommentId: undefined,
    });
  });

  it("records an effect's facts without a new version, update time or audit entry", async () => {
    const store = engineStore.store;
    const { task } = await store.upsertTask(newTask());
    const auditBefore = await store.listAudit({ taskId: task.id });
    clock.advance(5_000);

    const recorded = await store.recordTaskFacts(task.id, RECORDED);

    expect(recorded.version).toBe(task.version);
    expect(recorded.updatedAt).toEqual(task.updatedAt);
    expect(await store.listAudit({ taskId: task.id })).toEqual(auditBefore);
    expect(recorded.gate).toEqual(RECORDED.gate);
  });

  it("refuses a routing column this version cannot read, naming the column", async () => {
    const store = engineStore.store;
    const { task } = await store.upsertTask(newTask());
    await engineStore.database.raw
      .updateTable("tasks")
      .set({ routing: JSON.stringify({ agent: 3 }) })
      .where("id", "=", task.id)
      .execute();
    await expect(store.getTask(task.id)).rejects.toThrow(/tasks\.routing.*cannot read/);
  });
});

describe.each(STORE_ENGINES)("migration 0005_task_record on %s", (engine) => {
  let database: TestDatabase | undefined;
  afterEach(async () => {
    await database?.drop();
    database = undefined;
  });

  it("moves the newest legacy audit entry of each kind into the typed columns", async () => {
    database = await createTestDatabase(engine, { migrate: false });
    const db = database.raw;
    const migrator = new Migrator({ db, provider: storeMigrations(engine) });
    const before = await migrator.migrateTo("0004_task_outbox");
    expect(before.error).toBeUndefined();

    const row = {
      installation_id: 1,
      title: "t",
      body: "b",
      agent: "claude",
      priority: 2,
      budget_attempts: 5,
      budget_minutes: 60,
      budget_usd: 10,
      used_attempts: 3,
      used_minutes: 12.5,
      used_usd: 0.75,
      used_lost_leases: 1,
      branch: "kanbot/1-t",
      created_at: 1_000,
      updated_at: 2_000,
    };
    const [blocked, review] = await db
      .insertInto("tasks")
      .values([
        { ...row, repo: "acme/widgets", issue_number: 1, state: "blocked" },
        {
          ...row,
          repo: "acme/widgets",
          issue_number: 2,
          state: "review",
          pr_number: 5,
          head_sha: "b".repeat(40),
        },
      ] as never)
      .returning("id")
      .execute();
    const audit = (taskId: number, action: string, detail: unknown) => ({
      at: 3_000,
      task_id: taskId,
      actor: "kanbot",
      action,
      detail: JSON.stringify(detail),
    });
    const blockedId = Number(blocked?.id);
    const reviewId = Number(review?.id);
    await db
      .insertInto("audit_log")
      .values([
        audit(blockedId, "task.blocked", { message: "older", error: null }),
        audit(blockedId, "task.blocked", { message: "budget spent", error: "exit 2" }),
        audit(blockedId, "task.routed", {
          agent: "claude",
          reason: "default",
          priorityReason: "default P2",
          notes: [],
        }),
        audit(blockedId, "task.dependencies", {
          blockers: [{ owner: "acme", repo: "widgets", number: 9 }],
          cycle: null,
          unknown: [],
        }),
        audit(reviewId, "progress.comment", { commentId: 77 }),
        audit(reviewId, "task.pull-request", {
          number: 5,
          url: "https://github.com/acme/widgets/pull/5",
          nodeId: "PR_5",
          base: "main",
          checkRunId: 66,
          checkRunUrl: "https://github.com/acme/widgets/runs/66",
        }),
        audit(reviewId, "task.gate", {
          headSha: "b".repeat(40),
          since: "2026-03-01T10:05:00.000Z",
          recheckAt: null,
          verdict: "passed",
          reason: "all checks passed",
          rerunRunIds: [4],
          noChecks: false,
        }),
        // Unreadable: moves nothing, breaks nothing.
        audit(reviewId, "task.routed", { agent: 1 }),
      ] as never)
      .execute();

    const handle = openDatabase(parseStoreUrl(database.url), { postgresPoolSize: 2 });
    await migrateDatabase(handle, pino({ level: "silent" }));
    await handle.db.destroy();
    const store = await openStore({ url: database.url, postgresPoolSize: 2 });
    try {
      expect(await store.getTask(blockedId)).toMatchObject({
        enteredAt: new Date(2_000),
        spent: { attempts: 3, minutes: 12.5, usd: 0.75, lostLeases: 1 },
        prDraft: true,
        blocker: { cause: "needs-human", message: "budget spent", error: "exit 2" },
        routing: { agent: "claude", reason: "default", priorityReason: "default P2", notes: [] },
        dependencies: {
          blockers: [{ owner: "acme", repo: "widgets", number: 9 }],
          cycle: null,
          unknown: [],
        },
        pullRequest: undefined,
        gate: undefined,
      });
      expect(await store.getTask(reviewId)).toMatchObject({
        prDraft: false,
        progressCommentId: 77,
        pullRequest: {
          number: 5,
          url: "https://github.com/acme/widgets/pull/5",
          nodeId: "PR_5",
          base: "main",
        },
        checkRun: { id: 66, url: "https://github.com/acme/widgets/runs/66" },
        gate: {
          headSha: "b".repeat(40),
          since: new Date("2026-03-01T10:05:00.000Z"),
          recheckAt: null,
          verdict: "passed",
          noChecks: false,
          rerunRunIds: [4],
          waiting: null,
        },
        routing: undefined,
        blocker: undefined,
      });
      // The audit entries stay, as history.
      expect(await store.listAudit({ taskId: blockedId, action: "task.blocked" })).toHaveLength(2);
    } finally {
      await store.close();
    }
  });
});
