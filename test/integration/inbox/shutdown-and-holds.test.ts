/**
 * Issue 13: inbox holds belong to a live process, and `kanbot start` stops with a deadline. Real
 * `kanbot start` processes against a GitHub stand-in that never answers the repository config
 * read, so a delivery is in progress when the app is stopped or killed:
 *
 * - SIGTERM: the app exits (0) while GitHub still has not answered, with the unfinished delivery
 *   released (pending, held by nobody) for the next start; a second SIGTERM exits at once;
 * - SIGKILL mid-delivery, then a start under the same replica name: the new run releases the
 *   dead run's hold at once (the hold is an hour here, so only the release can explain it) and
 *   works the delivery.
 */
import { type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type ServerResponse } from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { openStore } from "../../../src/store/index.js";
import { webhookExample } from "../../helpers/github-webhooks.js";
import {
  credentialsEnv,
  freePort,
  startKanbot,
  waitForHttp,
  type StartedKanbot,
} from "../../helpers/kanbot-process.js";
import { signWebhook, TEST_APP_ID } from "../../helpers/probot.js";

const CONFIG_FILE = "GET /api/v3/repos/Codertocat/Hello-World/contents/.github%2Fkanbot.yml";

const children: ChildProcess[] = [];
const cleanups: (() => Promise<void> | void)[] = [];

afterEach(async () => {
  for (const child of children.splice(0)) child.kill("SIGKILL");
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A GitHub stand-in whose config read hangs (`hang: true`) or answers 404. */
async function gitHub(options: { hang: boolean }) {
  const held: ServerResponse[] = [];
  const seen: string[] = [];
  let arrived: (() => void) | undefined;
  const server = createServer((request, response) => {
    const line = `${request.method ?? ""} ${(request.url ?? "").split("?")[0] ?? ""}`;
    seen.push(line);
    if (line === CONFIG_FILE) {
      arrived?.();
      if (options.hang) {
        held.push(response);
        return;
      }
    }
    const answers: Record<string, unknown> = {
      "GET /api/v3/app": { id: TEST_APP_ID, slug: "kanbot", name: "kanbot" },
      "POST /api/v3/app/installations/1/access_tokens": {
        token: "ghs_stub",
        expires_at: new Date(Date.now() + 3_600_000).toISOString(),
      },
    };
    const body = answers[line];
    response.writeHead(body === undefined ? 404 : 200, { "content-type": "application/json" });
    response.end(JSON.stringify(body ?? { message: "Not Found" }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  const configRead = new Promise<void>((resolve) => (arrived = resolve));
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        for (const response of held) response.destroy();
        server.close(() => resolve());
      }),
  );
  return { host: `127.0.0.1:${port}`, configRead, seen, held };
}

function tempDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), "kanbot-holds-"));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function kanbot(env: Record<string, string>, cwd: string): StartedKanbot {
  const started = startKanbot(env, cwd);
  children.push(started.child);
  return started;
}

async function deliverLabel(port: number): Promise<number> {
  const body = JSON.stringify(webhookExample("issues", "labeled"));
  const response = await fetch(`http://127.0.0.1:${port}/api/github/webhooks`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "x-github-event": "issues",
      "x-github-delivery": "delivery-1",
      "x-hub-signature-256": signWebhook(body),
    },
    body,
  });
  return response.status;
}

/** The delivery's row as the store keeps it, read after the app exited. */
async function deliveryRow(database: string) {
  const store = await openStore({ url: database });
  try {
    const [delivery] = await store.listDeliveries();
    return delivery;
  } finally {
    await store.close();
  }
}

async function heldBy(database: string): Promise<string | null | undefined> {
  const { openDatabase } = await import("../../../src/store/database.js");
  const { parseStoreUrl } = await import("../../../src/store/store-url.js");
  const handle = openDatabase(parseStoreUrl(database));
  try {
    const row = await handle.db
      .selectFrom("deliveries")
      .select(["locked_by", "locked_until"])
      .executeTakeFirst();
    return row?.locked_by;
  } finally {
    await handle.db.destroy();
  }
}

describe("kanbot start: shutdown with a deadline, holds of a live process", () => {
  it("SIGTERM while GitHub hangs: exits after the grace and releases the unfinished delivery", async () => {
    const dir = tempDir();
    const port = await freePort();
    const github = await gitHub({ hang: true });
    const database = path.join(dir, "kanbot.sqlite");
    const env = {
      ...credentialsEnv({ dir, port, githubHost: github.host, database }),
      KANBOT_SHUTDOWN_GRACE_SECONDS: "1",
      KANBOT_REPLICA_ID: "replica-a",
    };
    const started = kanbot(env, dir);
    await waitForHttp(`http://127.0.0.1:${port}/ping`, started);
    expect(await deliverLabel(port)).toBe(200);
    await github.configRead;

    started.child.kill("SIGTERM");
    const code = await started.exited;

    // GitHub never answered: the app did not wait for it.
    expect(code).toBe(0);
    expect(github.held).toHaveLength(1);
    expect(github.held[0]?.writableEnded).toBe(false);
    expect(started.output()).toMatch(/stopped with deliveries unfinished/);
    expect(await deliveryRow(database)).toMatchObject({
      deliveryId: "delivery-1",
      status: "pending",
    });
    expect(await heldBy(database)).toBeNull();

    // The next start works it at once (GitHub answers now).
    const answering = await gitHub({ hang: false });
    const again = kanbot({ ...env, GHE_HOST: answering.host }, dir);
    await answering.configRead;
    await waitForDone(database);
    again.child.kill("SIGTERM");
    expect(await again.exited).toBe(0);
  });

  it("a second SIGTERM exits at once, without waiting for the grace", async () => {
    const dir = tempDir();
    const port = await freePort();
    const github = await gitHub({ hang: true });
    const database = path.join(dir, "kanbot.sqlite");
    const started = kanbot(
      {
        ...credentialsEnv({ dir, port, githubHost: github.host, database }),
        // Longer than the test's timeout: only the second signal can end it in time.
        KANBOT_SHUTDOWN_GRACE_SECONDS: "600",
      },
      dir,
    );
    await waitForHttp(`http://127.0.0.1:${port}/ping`, started);
    expect(await deliverLabel(port)).toBe(200);
    await github.configRead;

    started.child.kill("SIGTERM");
    await waitForText(started, "stopping");
    started.child.kill("SIGTERM");

    expect(await started.exited).toBe(1);
    expect(started.output()).toMatch(/SIGTERM again; exiting now/);
  });

  it("SIGKILL mid-delivery: the next start under the same replica name releases the hold and works it", async () => {
    const dir = tempDir();
    const port = await freePort();
    const github = await gitHub({ hang: true });
    const database = path.join(dir, "kanbot.sqlite");
    const env = {
      ...credentialsEnv({ dir, port, githubHost: github.host, database, logLevel: "info" }),
      // An hour: the hold cannot run out during the test, only be released.
      KANBOT_INBOX_HOLD_SECONDS: "3600",
      KANBOT_REPLICA_ID: "replica-a",
    };
    const started = kanbot(env, dir);
    await waitForHttp(`http://127.0.0.1:${port}/ping`, started);
    expect(await deliverLabel(port)).toBe(200);
    await github.configRead;
    started.child.kill("SIGKILL");
    await started.exited;
    expect(await heldBy(database)).toBe("replica-a");

    const answering = await gitHub({ hang: false });
    const again = kanbot({ ...env, GHE_HOST: answering.host }, dir);
    await answering.configRead;
    await waitForDone(database);
    expect(again.output()).toMatch(/inbox holds of the previous run released/);
    again.child.kill("SIGTERM");
    expect(await again.exited).toBe(0);
  });
});

async function waitForDone(database: string): Promise<void> {
  for (;;) {
    const delivery = await deliveryRow(database);
    if (delivery?.status === "done") return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function waitForText(started: StartedKanbot, text: string): Promise<void> {
  while (!started.output().includes(text)) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
