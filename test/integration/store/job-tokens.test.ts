/**
 * Job tokens kept in the store (issue 13): sealed with AES-256-GCM before they reach it, kept
 * until the job's lease ends, listed as leftovers once the job holds no lease, and deleted once
 * (a second replica deleting the same tokens deletes nothing).
 */
import { generateKeyPairSync } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import type { JobStore } from "../../../src/store/index.js";
import { storeTokenKeeper } from "../../../src/tokens/token-keeper.js";
import {
  jobTokenKeyFromPrivateKey,
  openJobToken,
  sealJobToken,
  type JobTokenKey,
} from "../../../src/tokens/token-seal.js";
import { STORE_ENGINES, useEngineStore } from "../../helpers/store-databases.js";
import { manualClock, newTask, runner, type ManualClock } from "../../helpers/store-fixtures.js";

const LEASE_MS = 60_000;
const TOKEN = "ghs_jobtokenAAAAAAAAAAAAAAAAAAAAAAAAAAAA1";
const HOUR = new Date("2026-01-01T01:00:00.000Z");

let key: JobTokenKey;
let otherKey: JobTokenKey;

beforeAll(() => {
  const pair = generateKeyPairSync("rsa", { modulusLength: 2048 });
  key = jobTokenKeyFromPrivateKey(
    pair.privateKey.export({ format: "pem", type: "pkcs1" }).toString(),
  );
  const other = generateKeyPairSync("rsa", { modulusLength: 2048 });
  otherKey = jobTokenKeyFromPrivateKey(
    other.privateKey.export({ format: "pem", type: "pkcs8" }).toString(),
  );
});

describe("sealing a job token", () => {
  it("opens with the same key and job, and with no other", () => {
    const sealed = sealJobToken(key, 7, TOKEN);
    expect(sealed).not.toContain(TOKEN);
    expect(sealed).not.toContain(Buffer.from(TOKEN).toString("base64"));
    expect(openJobToken(key, 7, sealed)).toBe(TOKEN);
    expect(openJobToken(key, 8, sealed)).toBeUndefined();
    expect(openJobToken(otherKey, 7, sealed)).toBeUndefined();
    const [version, iv, tag, text = ""] = sealed.split(".");
    const bytes = Buffer.from(text, "base64url");
    bytes[0] = (bytes[0] ?? 0) ^ 1;
    const altered = [version, iv, tag, bytes.toString("base64url")].join(".");
    expect(openJobToken(key, 7, altered)).toBeUndefined();
    // A fresh IV each time: the same token never seals to the same text twice.
    expect(sealJobToken(key, 7, TOKEN)).not.toBe(sealed);
  });

  it("derives the same key from the App's key in PKCS#1 and PKCS#8 PEM, CRLF or not", () => {
    const pkcs8 = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey;
    const one = pkcs8.export({ format: "pem", type: "pkcs1" }).toString();
    const eight = pkcs8.export({ format: "pem", type: "pkcs8" }).toString();
    const derived = jobTokenKeyFromPrivateKey(one);
    expect(jobTokenKeyFromPrivateKey(eight).equals(derived)).toBe(true);
    expect(jobTokenKeyFromPrivateKey(one.replace(/\n/g, "\r\n")).equals(derived)).toBe(true);
    expect(derived).toHaveLength(32);
    expect(derived.equals(key)).toBe(false);
  });
});

describe.each(STORE_ENGINES)("job tokens in the store on %s", (engine) => {
  const clock: ManualClock = manualClock();
  const engineStore = useEngineStore(engine, clock);

  async function leasedJob(store: JobStore, issueNumber = 1) {
    const { task } = await store.upsertTask(newTask({ issueNumber }));
    const job = await store.enqueueJob({ taskId: task.id, kind: "implement" });
    const claimed = await store.claimJob(runner(), LEASE_MS);
    expect(claimed?.job.id).toBe(job.id);
    return { task, job, leaseToken: claimed?.leaseToken ?? "" };
  }

  it("keeps a job's token sealed, never in the clear, and opens it again", async () => {
    const store = engineStore.store;
    const { job } = await leasedJob(store);
    const keeper = storeTokenKeeper(store, key);

    await keeper.keep(job.id, TOKEN, HOUR);

    const rows = await engineStore.database.raw.selectFrom("job_tokens").selectAll().execute();
    expect(rows).toHaveLength(1);
    expect(Number(rows[0]?.job_id)).toBe(job.id);
    expect(JSON.stringify(rows)).not.toContain(TOKEN);
    expect(JSON.stringify(rows)).not.toContain("ghs_");
    const kept = await keeper.list(job.id);
    expect(kept).toEqual([
      { id: expect.any(Number), jobId: job.id, token: TOKEN, expiresAt: HOUR },
    ]);
    // Another key (the App's private key changed) lists the token but cannot open it.
    expect(await storeTokenKeeper(store, otherKey).list(job.id)).toEqual([
      expect.objectContaining({ jobId: job.id, token: undefined }),
    ]);
    expect(await store.listJobTokens(job.id)).toEqual([
      {
        id: kept[0]?.id,
        jobId: job.id,
        sealed: rows[0]?.sealed,
        expiresAt: HOUR,
        createdAt: clock.now(),
      },
    ]);
  });

  it("deletes each token once: a second replica deleting the same ones deletes nothing", async () => {
    const store = engineStore.store;
    const { job } = await leasedJob(store);
    const keeper = storeTokenKeeper(store, key);
    await keeper.keep(job.id, TOKEN, HOUR);
    await keeper.keep(job.id, `${TOKEN}2`, HOUR);
    const ids = (await keeper.list(job.id)).map((entry) => entry.id);
    expect(ids).toHaveLength(2);

    expect(await store.deleteJobTokens(ids)).toEqual([...ids].sort((a, b) => a - b));
    expect(await store.deleteJobTokens(ids)).toEqual([]);
    expect(await store.deleteJobTokens([])).toEqual([]);
    expect(await store.listJobTokens(job.id)).toEqual([]);
  });

  it("lists as leftovers the jobs that still have tokens but hold no lease", async () => {
    const store = engineStore.store;
    const keeper = storeTokenKeeper(store, key);
    const live = await leasedJob(store, 1);
    const completed = await leasedJob(store, 2);
    const expired = await leasedJob(store, 3);
    for (const { job } of [live, completed, expired]) await keeper.keep(job.id, TOKEN, HOUR);
    expect(await store.listJobTokenOrphans()).toEqual([]);

    await store.completeJob(completed.job.id, completed.leaseToken, { status: "succeeded" });
    expect(await store.listJobTokenOrphans()).toEqual([completed.job.id]);

    // The live job heartbeats; the other one's lease runs out and the sweep ends it.
    clock.advance(LEASE_MS / 2);
    await store.heartbeat(live.job.id, live.leaseToken, { leaseMs: LEASE_MS });
    clock.advance(LEASE_MS / 2 + 1);
    const sweep = await store.endExpiredLeases();
    expect(sweep.lost.map((job) => job.id)).toEqual([expired.job.id]);
    expect(await store.listJobTokenOrphans()).toEqual([completed.job.id, expired.job.id]);
  });

  it("lists the tokens of a lease a re-run's cancel ended, and drops tokens with their job", async () => {
    const store = engineStore.store;
    const keeper = storeTokenKeeper(store, key);
    const { task, job } = await leasedJob(store);
    await keeper.keep(job.id, TOKEN, HOUR);

    await store.cancelTaskJobs(task.id, "octocat");
    expect(await store.listJobTokenOrphans()).toEqual([]);
    await store.enqueueJob({ taskId: task.id, kind: "implement", actor: "octocat" });
    expect(await store.getJob(job.id)).toMatchObject({ status: "canceled" });
    expect(await store.listJobTokenOrphans()).toEqual([job.id]);

    await engineStore.database.raw.deleteFrom("jobs").where("task_id", "=", task.id).execute();
    expect(await store.listJobTokens(job.id)).toEqual([]);
    expect(await store.listJobTokenOrphans()).toEqual([]);
  });
});
