import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer as createHttpServer, type Server } from "node:http";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { RunnerApiClient } from "../../runner/client.js";
import { openStore } from "../../src/store/index.js";
import { webhookExample } from "../helpers/github-webhooks.js";
import { signWebhook, testPrivateKey, TEST_WEBHOOK_SECRET } from "../helpers/probot.js";

const root = path.resolve(import.meta.dirname, "../..");
const cli = path.join(root, "src/cli.ts");
const tsx = path.join(root, "node_modules/tsx/dist/esm/index.mjs");

interface Started {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

const children: ChildProcess[] = [];
const dirs: string[] = [];
const stubs: Server[] = [];

afterEach(async () => {
  for (const child of children.splice(0)) child.kill("SIGKILL");
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  await Promise.all(
    stubs.splice(0).map((stub) => new Promise((resolve) => stub.close(() => resolve(undefined)))),
  );
});

const CONFIG_FILE = "GET /api/v3/repos/Codertocat/Hello-World/contents/.github%2Fkanbot.yml";

interface GitHubStub {
  /** `host:port`, for GHE_HOST (with GHE_PROTOCOL=http). */
  host: string;
  /** `METHOD path` of every request received, in order. */
  requests: string[];
  /** Resolves when a request for `METHOD path` has arrived. */
  received(request: string): Promise<void>;
}

/**
 * A local stand-in for a GitHub Enterprise Server, so `kanbot start` never reaches the network:
 * `GET /app` answers the app `kanbot`, `GET /app/installations` answers none, installation 1
 * gets a token; `files` (`GET <contents path>` -> text) are served raw; anything else is answered
 * 404. Every request shows up in `requests`.
 */
async function startGitHubStub(files: Record<string, string> = {}): Promise<GitHubStub> {
  const requests: string[] = [];
  const waiting = new Map<string, () => void>();
  const server = createHttpServer((request, response) => {
    const seen = `${request.method ?? ""} ${(request.url ?? "").split("?")[0] ?? ""}`;
    requests.push(seen);
    const answers: Record<string, unknown> = {
      "GET /api/v3/app": { id: 123456, slug: "kanbot", name: "kanbot" },
      "GET /api/v3/app/installations": [],
      "POST /api/v3/app/installations/1/access_tokens": {
        token: "ghs_stub",
        expires_at: new Date(Date.now() + 3_600_000).toISOString(),
      },
    };
    const file = files[seen];
    if (file !== undefined) {
      // `.github/kanbot.yml` and other files, as GitHub sends them for the raw media type.
      response.writeHead(200, { "content-type": "application/vnd.github.raw; charset=utf-8" });
      response.end(file);
      waiting.get(seen)?.();
      return;
    }
    const body = answers[seen];
    response.writeHead(body === undefined ? 404 : 200, { "content-type": "application/json" });
    response.end(JSON.stringify(body ?? { message: "Not Found" }));
    waiting.get(seen)?.();
  });
  stubs.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  return {
    host: `127.0.0.1:${port}`,
    requests,
    received: (request) =>
      requests.includes(request)
        ? Promise.resolve()
        : new Promise<void>((resolve) => waiting.set(request, resolve)),
  };
}

function tempDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), "kanbot-start-"));
  dirs.push(dir);
  return dir;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}

/** `kanbot start` as a real process, from source, with only the given environment. */
function startKanbot(env: Record<string, string>, cwd: string): Started {
  const child = spawn(process.execPath, ["--import", tsx, cli, "start"], {
    cwd,
    env: { PATH: process.env.PATH ?? "", HOME: cwd, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.push(child);
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
  return { child, output: () => output, exited };
}

/** Resolves once the process has written `text` (or rejects when it exits first). */
async function waitForOutput(started: Started, text: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const check = () => {
      if (!started.output().includes(text)) return;
      started.child.stdout?.off("data", check);
      started.child.stderr?.off("data", check);
      resolve();
    };
    started.child.stdout?.on("data", check);
    started.child.stderr?.on("data", check);
    void started.exited.then(() =>
      reject(new Error(`kanbot exited before writing "${text}":\n${started.output()}`)),
    );
    check();
  });
}

/** Polls `url` until it answers (the server is up) or the process exits. */
async function waitForHttp(url: string, started: Started): Promise<Response> {
  let exited = false;
  void started.exited.then(() => (exited = true));
  for (;;) {
    if (exited) throw new Error(`kanbot exited before listening:\n${started.output()}`);
    try {
      return await fetch(url, { redirect: "manual" });
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}

describe("kanbot start", () => {
  it("exits 1 with one line per bad setting: name, problem and example", async () => {
    const started = startKanbot(
      { APP_ID: "abc", PORT: "99999", LOG_LEVEL: "loud", WEBHOOK_SECRET: "s3cret-value" },
      tempDir(),
    );

    const code = await started.exited;

    expect(code).toBe(1);
    const lines = started.output().trim().split("\n");
    expect(lines[0]).toMatch(/cannot start, 4 setting\(s\) need fixing/);
    expect(lines.slice(1)).toEqual([
      expect.stringMatching(/^APP_ID: .*"abc".*\(example: APP_ID=\d+\)$/),
      expect.stringMatching(/^PORT: .*"99999".*\(example: PORT=3000\)$/),
      expect.stringMatching(/^LOG_LEVEL: .*"loud".*\(example: LOG_LEVEL=info\)$/),
      expect.stringMatching(/^PRIVATE_KEY_PATH: missing.*\(example: PRIVATE_KEY_PATH=.+\)$/),
    ]);
    expect(started.output()).not.toContain("s3cret-value");
  });

  it("runs Probot's setup flow from app.yml when there are no credentials at all", async () => {
    const port = await freePort();
    const started = startKanbot({ HOST: "127.0.0.1", PORT: String(port) }, tempDir());

    const page = await waitForHttp(`http://127.0.0.1:${port}/probot`, started);
    const html = await page.text();

    expect(page.status).toBe(200);
    // The manifest posted to GitHub is app.yml's: kanbot's name and its permissions.
    expect(html).toContain("kanbot");
    expect(html).toContain("organization_projects");
    expect(started.output()).toContain("no GitHub App credentials");
  });

  it("with credentials, verifies webhooks, records each delivery once and works it from the inbox", async () => {
    const dir = tempDir();
    const port = await freePort();
    const github = await startGitHubStub();
    const keyPath = path.join(dir, "app.pem");
    writeFileSync(keyPath, testPrivateKey());
    const database = path.join(dir, "data", "kanbot.sqlite");
    const started = startKanbot(
      {
        APP_ID: "123456",
        PRIVATE_KEY_PATH: keyPath,
        WEBHOOK_SECRET: TEST_WEBHOOK_SECRET,
        HOST: "127.0.0.1",
        PORT: String(port),
        DATABASE_URL: database,
        LOG_LEVEL: "warn",
        GHE_HOST: github.host,
        GHE_PROTOCOL: "http",
        KANBOT_RECONCILE_ON_START: "false",
      },
      dir,
    );
    const ping = await waitForHttp(`http://127.0.0.1:${port}/ping`, started);
    const payload = webhookExample("issues", "labeled");
    const body = JSON.stringify(payload);
    const deliver = (signature: string) =>
      fetch(`http://127.0.0.1:${port}/api/github/webhooks`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "x-github-event": "issues",
          "x-github-delivery": "delivery-1",
          "x-hub-signature-256": signature,
        },
        body,
      });

    const first = await deliver(signWebhook(body));
    const again = await deliver(signWebhook(body));
    const forged = await deliver(signWebhook(body, "not-the-secret"));
    // The runner API is mounted on the same server: a claim without a runner token is refused.
    const claim = await fetch(`http://127.0.0.1:${port}/api/v1/jobs/claim`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{}",
    });
    // The inbox worker runs the handler as the installation: it reads the repository's config
    // (none) and finds that `bug` is not the trigger label.
    await github.received(CONFIG_FILE);
    started.child.kill("SIGTERM");
    const code = await started.exited;

    expect(await ping.text()).toBe("PONG");
    expect(first.status).toBe(200);
    expect(again.status).toBe(200);
    expect(forged.status).toBe(400);
    expect(claim.status).toBe(401);
    expect(code).toBe(0);
    const store = await openStore({ url: database });
    try {
      const deliveries = await store.listDeliveries();
      expect(deliveries).toHaveLength(1);
      expect(deliveries[0]).toMatchObject({
        deliveryId: "delivery-1",
        event: "issues",
        action: "labeled",
        status: "done",
        orderingKey: `${payload.repository.full_name}#${payload.issue.number}`,
      });
    } finally {
      await store.close();
    }
    // Reconciliation was turned off: the app never listed its installations.
    expect(github.requests).toEqual([
      "GET /api/v3/app",
      "POST /api/v3/app/installations/1/access_tokens",
      CONFIG_FILE,
    ]);
  });

  it("reconciles at start by default, through GHE_HOST", async () => {
    const dir = tempDir();
    const port = await freePort();
    const github = await startGitHubStub();
    const keyPath = path.join(dir, "app.pem");
    writeFileSync(keyPath, testPrivateKey());
    const started = startKanbot(
      {
        APP_ID: "123456",
        PRIVATE_KEY_PATH: keyPath,
        WEBHOOK_SECRET: TEST_WEBHOOK_SECRET,
        HOST: "127.0.0.1",
        PORT: String(port),
        DATABASE_URL: path.join(dir, "data", "kanbot.sqlite"),
        LOG_LEVEL: "info",
        GHE_HOST: github.host,
        GHE_PROTOCOL: "http",
      },
      dir,
    );

    await waitForOutput(started, "reconciliation finished");
    started.child.kill("SIGTERM");
    const code = await started.exited;

    expect(code).toBe(0);
    expect([...github.requests].sort()).toEqual([
      "GET /api/v3/app",
      "GET /api/v3/app/installations",
    ]);
  });

  describe("a claimed job carries the repository's .github/kanbot.yml", () => {
    const REPO = "octo/widgets";
    const configPath = `GET /api/v3/repos/${REPO}/contents/.github%2Fkanbot.yml`;

    /** `kanbot start` (production wiring) with one queued job of `octo/widgets#7`, and a runner. */
    async function claimWith(config: string) {
      const dir = tempDir();
      const port = await freePort();
      const github = await startGitHubStub({ [configPath]: config });
      const keyPath = path.join(dir, "app.pem");
      writeFileSync(keyPath, testPrivateKey());
      const database = path.join(dir, "data", "kanbot.sqlite");
      const seed = await openStore({ url: database });
      let registration: string;
      let jobId: number;
      try {
        const { task } = await seed.upsertTask({
          repo: REPO,
          installationId: 1,
          issueNumber: 7,
          title: "Add a widget",
          body: "Please add a widget.",
          state: "queued",
          agent: "claude",
          budget: { attempts: 5, minutes: 60, usd: 10 },
        });
        jobId = (await seed.enqueueJob({ taskId: task.id, kind: "implement" })).id;
        registration = (await seed.createRegistrationToken(600_000)).token;
      } finally {
        await seed.close();
      }
      const started = startKanbot(
        {
          APP_ID: "123456",
          PRIVATE_KEY_PATH: keyPath,
          WEBHOOK_SECRET: TEST_WEBHOOK_SECRET,
          HOST: "127.0.0.1",
          PORT: String(port),
          DATABASE_URL: database,
          LOG_LEVEL: "warn",
          GHE_HOST: github.host,
          GHE_PROTOCOL: "http",
          KANBOT_RECONCILE_ON_START: "false",
        },
        dir,
      );
      await waitForHttp(`http://127.0.0.1:${port}/ping`, started);
      const client = new RunnerApiClient({ baseUrl: `http://127.0.0.1:${port}` });
      await client.register({
        registrationToken: registration,
        name: "workstation",
        agents: ["claude"],
        labels: [],
        repos: [],
      });
      const claim = await client.claim({ waitSeconds: 1 });
      started.child.kill("SIGTERM");
      expect(await started.exited).toBe(0);
      const store = await openStore({ url: database });
      try {
        return { claim, job: await store.getJob(jobId), task: await store.findTask(REPO, 7) };
      } finally {
        await store.close();
      }
    }

    it("base, branch prefix, setup, copied files, validation and forbidden paths reach the runner", async () => {
      const { claim, task } = await claimWith(
        [
          "baseBranch: develop",
          "branchPrefix: bots/",
          "setup:",
          "  commands: [npm ci]",
          "  copyFiles: [.env]",
          "validation:",
          "  commands: [npm test, npm run lint]",
          "  rounds: 1",
          "forbiddenPaths: [secrets/**]",
        ].join("\n"),
      );

      expect(claim?.job.workspace).toEqual({
        baseBranch: "develop",
        branch: "bots/7-add-a-widget",
        continueBranch: false,
        setupCommands: ["npm ci"],
        copyFiles: [".env"],
        validationCommands: ["npm test", "npm run lint"],
        validationRounds: 1,
        forbiddenPaths: ["secrets/**"],
      });
      // Fixed once on the task, for the PR and the cleanup too.
      expect(task?.branch).toBe("bots/7-add-a-widget");
    });

    it("an invalid file fails the job with the file's own problem, never kanbot's defaults", async () => {
      const { claim, job } = await claimWith("validation:\n  rounds: many\n");

      expect(claim).toBeUndefined();
      expect(job?.status).toBe("failed");
      expect(job?.error).toContain(".github/kanbot.yml:2");
      expect(job?.error).toContain("validation.rounds");
    });
  });
});
