/**
 * Chaos (issue 13): two app replicas on one Postgres. Replica 1 (the harness's app) receives the
 * webhooks and serves the runner; replica 2 (`kanbot start` beside it, its own port and
 * KANBOT_REPLICA_ID) works the same inbox and sweeps the same leases. Replica 1 is SIGKILLed in
 * the middle of a burst of labels and started again a few seconds later: what it held is taken
 * over by replica 2 once its short holds run out (KANBOT_INBOX_HOLD_SECONDS=3), the labels sent
 * while it was down come back through redelivery, and every task ends in review with one job that
 * did the work (a claim the dying replica handed out but never applied is lost at its lease's
 * end and queued again once), one PR and one progress comment.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { appendFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { openStore, type JobStore } from "../../src/store/index.js";
import { REPO, REPO_ROOT, freePort, type E2E } from "../e2e/harness.js";
import { useE2E } from "../e2e/steps.js";
import { progressComments, pullsOf } from "../chaos/steps.js";
import { createTestDatabase, type TestDatabase } from "../helpers/store-databases.js";

/** Issues labeled (an even number): 6 in CI, more with `npm run chaos`. */
const BURST = 2 * Math.ceil(Number(process.env["KANBOT_CHAOS_BURST"] ?? 6) / 2);

let database: TestDatabase | undefined;
const replicaTwo: { child?: ChildProcess; output: string } = { output: "" };

beforeAll(async () => {
  database = await createTestDatabase("postgres");
});

afterAll(async () => {
  replicaTwo.child?.kill("SIGKILL");
  if (process.env["KANBOT_E2E_KEEP"] !== "1") await database?.drop();
  else console.log(`kept database ${database?.url ?? ""}`);
});

function startReplicaTwo(e2e: E2E, port: number): Promise<void> {
  const child = spawn(
    process.execPath,
    ["--import", join(REPO_ROOT, "node_modules/tsx/dist/esm/index.mjs"), "src/cli.ts", "start"],
    {
      cwd: REPO_ROOT,
      env: {
        ...e2e.appEnv,
        PORT: String(port),
        KANBOT_PUBLIC_URL: `http://127.0.0.1:${port}`,
        KANBOT_REPLICA_ID: "replica-2",
        KANBOT_RECONCILE_ON_START: "false",
        LOG_FORMAT: "pretty",
      },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  replicaTwo.child = child;
  child.stdout?.on("data", (chunk: Buffer) => (replicaTwo.output += chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => (replicaTwo.output += chunk.toString()));
  return (async () => {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`replica 2 exited:\n${replicaTwo.output}`);
      const up = await fetch(`http://127.0.0.1:${port}/ping`).then(
        (res) => res.ok,
        () => false,
      );
      if (up) return;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  })();
}

async function withStore<T>(read: (store: JobStore) => Promise<T>): Promise<T> {
  const store = await openStore({ url: database?.url ?? "", postgresPoolSize: 2 });
  try {
    return await read(store);
  } finally {
    await store.close();
  }
}

describe("chaos: two replicas on Postgres, one killed mid-burst", () => {
  const harness = useE2E({
    appEnv: {
      // Filled in by beforeAll above, which runs first (vitest runs hooks in order).
      get DATABASE_URL(): string {
        return database?.url ?? "";
      },
      KANBOT_REPLICA_ID: "replica-1",
      KANBOT_INBOX_HOLD_SECONDS: "3",
    } as Record<string, string>,
  });

  it("every task in review with one successful job, one PR and one comment", async () => {
    const e2e = harness();
    await startReplicaTwo(e2e, await freePort());
    const issues: number[] = [];
    for (let index = 1; index <= BURST; index++) {
      const title = `Add value ${index}`;
      e2e.script(title, [{ files: { [`src/v${index}.js`]: `export const v = ${index};\n` } }]);
      issues.push(await e2e.fileIssue(title, `Export a value from src/v${index}.js.`));
    }
    await e2e.sim.idle();
    const half = BURST / 2;
    for (const issue of issues.slice(0, half)) {
      await e2e.maintainer.labelIssue(REPO, issue, "agent:ready");
    }
    await e2e.sim.idle();
    await e2e.killApp("SIGKILL");
    for (const issue of issues.slice(half)) {
      await e2e.maintainer.labelIssue(REPO, issue, "agent:ready");
    }
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    const restartedAt = Date.now();
    await e2e.startApp();

    await e2e.waitFor(
      "every issue in review",
      () => issues.every((issue) => e2e.hasLabel(issue, "agent:review")),
      { timeoutMs: 240_000 },
    );
    const recoveryMs = Date.now() - restartedAt;
    await e2e.waitFor(
      "the inbox worked off",
      () =>
        withStore(async (store) =>
          (await store.listDeliveries()).every((delivery) => delivery.status === "done"),
        ),
      { timeoutMs: 60_000 },
    );

    let jobCount = 0;
    await withStore(async (store) => {
      for (const issue of issues) {
        const task = await store.findTask(REPO, issue);
        expect(task?.state).toBe("review");
        const jobs = await store.listJobs(task?.id ?? 0);
        jobCount += jobs.length;
        // One job did the work. A job handed out by the dying replica whose claim was never
        // applied is lost when its lease runs out, and queued again once: never two at a time.
        const statuses = jobs.map((job) => job.status);
        expect(statuses.filter((status) => status === "succeeded")).toHaveLength(1);
        expect(statuses.filter((status) => status !== "succeeded" && status !== "lost")).toEqual(
          [],
        );
      }
    });
    for (const issue of issues) {
      expect(pullsOf(e2e, issue)).toBe(1);
      expect(progressComments(e2e, issue)).toBe(1);
    }
    // Replica 2 is alive and was never restarted.
    expect(replicaTwo.child?.exitCode).toBeNull();
    expect(e2e.sim.violations).toEqual([]);
    // `npm run chaos` collects the figures; the tests ignore them.
    const reportFile = process.env["KANBOT_CHAOS_REPORT"];
    if (reportFile !== undefined) {
      const figures = {
        scenario: "replicas",
        tasks: issues.length,
        jobs: jobCount,
        transitionsBySurvivor: (replicaTwo.output.match(/task state changed/g) ?? []).length,
        recoveryMs,
      };
      appendFileSync(reportFile, `${JSON.stringify(figures)}\n`);
    }
  });
});
