import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { openStore, StaleLeaseError } from "../../../src/store/index.js";
import {
  beforeAllOrFailEach,
  createTestDatabase,
  STORE_ENGINES,
  type TestDatabase,
} from "../../helpers/store-databases.js";
import { manualClock, newTask, runner } from "../../helpers/store-fixtures.js";

const LEASE_MS = 60_000;

describe.each(STORE_ENGINES)("restarting the store on %s", (engine) => {
  let database: TestDatabase;

  beforeAllOrFailEach(async () => {
    database = await createTestDatabase(engine);
  });
  afterAll(async () => {
    await database?.drop();
  });

  it("keeps every task, job, lease, log, runner, inbox entry and audit entry", async () => {
    const clock = manualClock();
    const before = await openStore({ url: database.url, now: clock.now });
    const { task } = await before.upsertTask(newTask({ issueNumber: 12 }));
    const leasedJob = await before.enqueueJob({ taskId: task.id, kind: "implement" });
    const claimed = await before.claimJob(runner(), LEASE_MS);
    const queuedJob = await before.enqueueJob({ taskId: task.id, kind: "revise", input: { n: 1 } });
    await before.appendLog(leasedJob.id, claimed?.leaseToken ?? "", 1, "hello\n");
    const grant = await before.createRegistrationToken(60_000);
    const registered = await before.registerRunner({
      registrationToken: grant.token,
      name: "laptop",
      agents: ["claude"],
      labels: [],
      repos: [],
    });
    await before.recordDelivery({
      deliveryId: "d-1",
      event: "issues",
      action: "labeled",
      installationId: 4242,
      payload: { issue: { number: 12 } },
      orderingKey: "acme/widgets#12",
    });
    await before.recordDelivery({
      deliveryId: "d-2",
      event: "issue_comment",
      payload: { comment: { body: "/kanbot status" } },
      orderingKey: "acme/widgets#12",
    });
    await before.markDeliveryDone("d-1");
    const snapshot = {
      task: await before.getTask(task.id),
      jobs: await before.listJobs(task.id),
      log: await before.readLog(leasedJob.id),
      deliveries: await before.listDeliveries(),
      audit: await before.listAudit(),
      runners: await before.listRunners(),
    };
    await before.close();
    clock.advance(1_000);

    const after = await openStore({ url: database.url, now: clock.now });

    expect(await after.getTask(task.id)).toEqual(snapshot.task);
    expect(await after.listJobs(task.id)).toEqual(snapshot.jobs);
    expect(snapshot.jobs.map((job) => [job.id, job.status])).toEqual([
      [leasedJob.id, "leased"],
      [queuedJob.id, "queued"],
    ]);
    expect(await after.readLog(leasedJob.id)).toEqual(snapshot.log);
    expect(await after.listDeliveries()).toEqual(snapshot.deliveries);
    expect(await after.listAudit()).toEqual(snapshot.audit);
    expect(await after.listRunners()).toEqual(snapshot.runners);
    // The lease itself survived: its holder can go on, anyone else is still fenced out.
    const beat = await after.heartbeat(leasedJob.id, claimed?.leaseToken ?? "", {
      leaseMs: LEASE_MS,
    });
    expect(beat.canceled).toBe(false);
    await expect(after.heartbeat(leasedJob.id, "kbl_other", { leaseMs: 1 })).rejects.toBeInstanceOf(
      StaleLeaseError,
    );
    expect((await after.authenticateRunner(registered.token))?.id).toBe(registered.runner.id);
    expect((await after.nextDeliveries({ limit: 10 })).map((d) => d.deliveryId)).toEqual(["d-2"]);
    expect((await after.claimJob(runner(), LEASE_MS))?.job.id).toBe(queuedJob.id);
    await after.close();
  });
});

describe("opening a SQLite store", () => {
  it("creates the database file's folder, as for the default ./data/kanbot.sqlite", async () => {
    const dir = await mkdtemp(join(tmpdir(), "kanbot-store-open-"));
    const path = join(dir, "data", "nested", "kanbot.sqlite");
    try {
      const store = await openStore({ url: path });
      await store.upsertTask(newTask());
      await store.close();

      const reopened = await openStore({ url: `sqlite:${path}` });
      expect(await reopened.findTask("acme/widgets", 1)).toMatchObject({ title: "Add a widget" });
      await reopened.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
