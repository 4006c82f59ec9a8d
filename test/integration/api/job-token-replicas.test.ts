/**
 * Job tokens revocable by any replica (issue 13): two runner APIs (two app replicas) share one
 * store. A runner gets its GitHub token through one; when the lease ends on the other (a sweep
 * of a lost lease, a completion sent there, a re-run's cancel), that other replica revokes the
 * token on GitHub and deletes it, though it never issued it. The token is kept sealed, never in
 * the clear, and the replica that did not issue it still redacts it from what the runner sends.
 */
import { readdirSync, readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { dirname } from "node:path";
import { pino } from "pino";
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import { createRunnerApi, type RunnerApi } from "../../../src/api/index.js";
import { API_PATHS } from "../../../src/protocol/index.js";
import { openStore, type JobStore } from "../../../src/store/index.js";
import { createGitHubJobTokenBroker } from "../../../src/tokens/job-token-broker.js";
import { storeTokenKeeper } from "../../../src/tokens/token-keeper.js";
import { jobTokenKeyFromPrivateKey } from "../../../src/tokens/token-seal.js";
import { fakeInstallationToken } from "../../helpers/github-fixtures.js";
import { setupGitHubMock } from "../../helpers/github-mock.js";
import { createTestProbot, testPrivateKey } from "../../helpers/probot.js";
import {
  beforeAllOrFailEach,
  createTestDatabase,
  STORE_ENGINES,
  type TestDatabase,
} from "../../helpers/store-databases.js";
import { manualClock, newTask } from "../../helpers/store-fixtures.js";
import { LEASE_MS, noRepoConfig, TEST_LIMITS } from "./harness.js";

const INSTALLATION_ID = 4242;
// Not a GitHub token shape: only the token kept in the store can tell the redaction about it.
const JOB_TOKEN = "jobtoken-from-replica-one-7f3a9c";
const EXPIRES_AT = "2026-01-01T01:00:00Z";

interface Replica {
  name: string;
  store: JobStore;
  api: RunnerApi;
  baseUrl: string;
  close(): Promise<void>;
}

describe.each(STORE_ENGINES)("job tokens across two replicas on %s", (engine) => {
  const gh = setupGitHubMock({ allowLoopback: true });
  const clock = manualClock();
  let database: TestDatabase | undefined;
  let replicas: Replica[] = [];
  beforeAllOrFailEach(async () => {
    database = await createTestDatabase(engine);
  });
  afterAll(async () => {
    await database?.drop();
  });
  beforeEach(async () => {
    await db().reset();
    await db().raw.deleteFrom("job_tokens").execute();
    clock.reset();
  });
  afterEach(async () => {
    for (const replica of replicas) await replica.close();
    replicas = [];
  });

  function db(): TestDatabase {
    if (database === undefined) throw new Error("the database is created in beforeAll");
    return database;
  }

  async function startReplica(name: string): Promise<Replica> {
    const log = pino({ level: "silent" });
    const store = await openStore({ url: db().url, now: clock.now, log, postgresPoolSize: 2 });
    const { probot } = await createTestProbot({ baseUrl: gh.baseUrl });
    const api = createRunnerApi({
      store,
      limits: TEST_LIMITS,
      log,
      jobTokens: createGitHubJobTokenBroker({
        appOctokit: () => probot.auth(),
        log,
        now: clock.now,
        // Every replica derives the same key from the App's private key.
        keeper: storeTokenKeeper(store, jobTokenKeyFromPrivateKey(testPrivateKey())),
      }),
      resolveWorkspace: noRepoConfig,
    });
    api.start();
    const server: Server = createServer((req, res) => {
      void api.handler(req, res).then((handled) => {
        if (!handled) res.writeHead(404).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    const replica: Replica = {
      name,
      store,
      api,
      baseUrl: `http://127.0.0.1:${port}`,
      async close() {
        await api.stop();
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
        await store.close();
      },
    };
    replicas.push(replica);
    return replica;
  }

  async function call(
    replica: Replica,
    path: string,
    body: unknown,
    runnerToken?: string,
  ): Promise<{ status: number; body: Record<string, unknown> }> {
    const response = await fetch(`${replica.baseUrl}${path}`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        ...(runnerToken !== undefined ? { authorization: `Bearer ${runnerToken}` } : {}),
      },
      body: JSON.stringify(body),
    });
    const text = await response.text();
    return {
      status: response.status,
      body: text === "" ? {} : (JSON.parse(text) as Record<string, unknown>),
    };
  }

  /** Two replicas, a runner registered on the first, and a job it claimed there. */
  async function claimedJob() {
    const one = await startReplica("one");
    const two = await startReplica("two");
    const grant = await one.store.createRegistrationToken(3_600_000);
    const registered = await call(one, API_PATHS.register, {
      registrationToken: grant.token,
      name: "runner-1",
      agents: ["claude"],
    });
    expect(registered.status).toBe(201);
    const runnerToken = String(registered.body["runnerToken"]);
    const { task } = await one.store.upsertTask(newTask({ installationId: INSTALLATION_ID }));
    const job = await one.store.enqueueJob({ taskId: task.id, kind: "implement" });
    const claim = await call(one, API_PATHS.claim, { waitSeconds: 0 }, runnerToken);
    expect(claim.status).toBe(200);
    const leaseToken = String((claim.body["lease"] as { token: string }).token);
    return { one, two, runnerToken, taskId: task.id, jobId: job.id, leaseToken };
  }

  function mintMock(): void {
    gh.rest(
      "POST",
      "/app/installations/{installation_id}/access_tokens",
      { installation_id: INSTALLATION_ID },
      { body: { repositories: ["widgets"], permissions: { contents: "write" } } },
    ).reply(
      201,
      fakeInstallationToken({
        token: JOB_TOKEN,
        expiresAt: EXPIRES_AT,
        permissions: { contents: "write", metadata: "read" },
      }),
    );
  }

  function revokeMock(status: number): void {
    const pending = gh.rest(
      "DELETE",
      "/installation/token",
      {},
      { headers: { authorization: `token ${JOB_TOKEN}` } },
    );
    if (status === 204) pending.reply(204);
    else pending.replyError(status, "Service unavailable");
  }

  function requests(): string[] {
    return gh.requests.map((request) => `${request.method} ${new URL(request.url).pathname}`);
  }

  async function tokenThrough(replica: Replica, jobId: number, runner: string, lease: string) {
    const answer = await call(replica, API_PATHS.token(jobId), { leaseToken: lease }, runner);
    expect(answer).toMatchObject({ status: 200, body: { token: JOB_TOKEN } });
  }

  async function keptTokens(): Promise<number> {
    return (await db().raw.selectFrom("job_tokens").select("id").execute()).length;
  }

  async function revokedAudits(replica: Replica, jobId: number): Promise<unknown[]> {
    const entries = await replica.store.listAudit({ jobId, action: "job.tokens-revoked" });
    return entries.map((entry) => entry.detail);
  }

  it("keeps the token sealed, and the other replica revokes it when it sweeps the lost lease", async () => {
    const { one, two, runnerToken, jobId, leaseToken } = await claimedJob();
    mintMock();
    await tokenThrough(one, jobId, runnerToken, leaseToken);

    // Kept in the store, and nowhere in the clear: not in any row of any table, nor (SQLite)
    // anywhere in the database's files.
    expect(await keptTokens()).toBe(1);
    const tables = ["tasks", "jobs", "runners", "log_chunks", "deliveries", "audit_log"] as const;
    const rows: unknown[] = [await db().raw.selectFrom("job_tokens").selectAll().execute()];
    for (const table of tables) rows.push(await db().raw.selectFrom(table).selectAll().execute());
    expect(JSON.stringify(rows)).not.toContain(JOB_TOKEN);
    if (engine === "sqlite") {
      const folder = dirname(db().url.replace(/^sqlite:/, ""));
      for (const file of readdirSync(folder)) {
        expect({ file, plain: readFileSync(`${folder}/${file}`).includes(JOB_TOKEN) }).toEqual({
          file,
          plain: false,
        });
      }
    }

    // The runner dies; the lease runs out and the replica that did not issue the token sweeps.
    revokeMock(204);
    clock.advance(LEASE_MS + 1);
    const sweep = await two.api.sweep();

    expect(sweep.lost.map((job) => job.id)).toEqual([jobId]);
    expect(requests()).toEqual([
      `POST /app/installations/${INSTALLATION_ID}/access_tokens`,
      "DELETE /installation/token",
    ]);
    expect(await keptTokens()).toBe(0);
    expect(await revokedAudits(two, jobId)).toEqual([{ count: 1 }]);
    // The issuing replica's sweep finds nothing left to revoke (an unmocked call would fail).
    await one.api.sweep();
    expect(requests()).toHaveLength(2);
    const again = await call(one, API_PATHS.token(jobId), { leaseToken }, runnerToken);
    expect(again.status).toBe(409);
  });

  it("redacts and revokes the token when the runner reports to the other replica", async () => {
    const { one, two, runnerToken, jobId, leaseToken } = await claimedJob();
    mintMock();
    await tokenThrough(one, jobId, runnerToken, leaseToken);

    const logged = await call(
      two,
      API_PATHS.log(jobId),
      { leaseToken, chunks: [{ seq: 0, text: `git push https://x:${JOB_TOKEN}@github.com\n` }] },
      runnerToken,
    );
    expect(logged.status).toBe(200);
    revokeMock(204);
    const completed = await call(
      two,
      API_PATHS.complete(jobId),
      { leaseToken, outcome: { status: "failed", error: `push refused for ${JOB_TOKEN}` } },
      runnerToken,
    );

    expect(completed.status).toBe(200);
    const log = (await two.store.readLog(jobId)).map((chunk) => chunk.text).join("");
    expect(log).toContain("git push https://x:[redacted]@github.com");
    expect(log).not.toContain(JOB_TOKEN);
    const job = await two.store.getJob(jobId);
    expect(job?.error).toBe("push refused for [REDACTED]");
    expect(requests()).toEqual([
      `POST /app/installations/${INSTALLATION_ID}/access_tokens`,
      "DELETE /installation/token",
    ]);
    expect(await keptTokens()).toBe(0);
    expect(await revokedAudits(two, jobId)).toEqual([{ count: 1 }]);
  });

  it("revokes the token of a lease a re-run's cancel ended, at the other replica's next sweep", async () => {
    const { one, two, runnerToken, taskId, jobId, leaseToken } = await claimedJob();
    mintMock();
    await tokenThrough(one, jobId, runnerToken, leaseToken);

    // `/kanbot cancel`, then the trigger again at once, handled by the second replica.
    await two.store.cancelTaskJobs(taskId, "octocat");
    await two.store.enqueueJob({ taskId, kind: "implement", actor: "octocat" });
    expect(await two.store.getJob(jobId)).toMatchObject({ status: "canceled" });
    revokeMock(204);
    await two.api.sweep();

    expect(requests()).toEqual([
      `POST /app/installations/${INSTALLATION_ID}/access_tokens`,
      "DELETE /installation/token",
    ]);
    expect(await keptTokens()).toBe(0);
    expect(await revokedAudits(two, jobId)).toEqual([{ count: 1 }]);
  });

  it("keeps a token GitHub failed to revoke, and the next sweep on either replica revokes it", async () => {
    const { one, two, runnerToken, jobId, leaseToken } = await claimedJob();
    mintMock();
    await tokenThrough(one, jobId, runnerToken, leaseToken);

    revokeMock(503);
    clock.advance(LEASE_MS + 1);
    await two.api.sweep();
    expect(await keptTokens()).toBe(1);
    expect(await revokedAudits(two, jobId)).toEqual([]);

    revokeMock(204);
    await one.api.sweep();

    expect(requests()).toEqual([
      `POST /app/installations/${INSTALLATION_ID}/access_tokens`,
      "DELETE /installation/token",
      "DELETE /installation/token",
    ]);
    expect(await keptTokens()).toBe(0);
    expect(await revokedAudits(one, jobId)).toEqual([{ count: 1 }]);
  });
});
