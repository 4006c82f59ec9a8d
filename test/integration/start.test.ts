import { type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { RunnerApiClient } from "../../runner/client.js";
import { openStore } from "../../src/store/index.js";
import { webhookExample } from "../helpers/github-webhooks.js";
import {
  credentialsEnv,
  freePort,
  startGitHubStub,
  startKanbot,
  waitForHttp,
  waitForOutput,
  type GitHubStub,
  type StartedKanbot,
} from "../helpers/kanbot-process.js";
import { signWebhook } from "../helpers/probot.js";

const children: ChildProcess[] = [];
const dirs: string[] = [];
const stubs: GitHubStub[] = [];

afterEach(async () => {
  for (const child of children.splice(0)) child.kill("SIGKILL");
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  await Promise.all(stubs.splice(0).map((stub) => stub.close()));
});

const CONFIG_FILE = "GET /api/v3/repos/Codertocat/Hello-World/contents/.github%2Fkanbot.yml";

function tempDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), "kanbot-start-"));
  dirs.push(dir);
  return dir;
}

/** The GitHub stand-in, closed after the test. */
async function gitHub(files?: Record<string, string>): Promise<GitHubStub> {
  const stub = await startGitHubStub(files);
  stubs.push(stub);
  return stub;
}

/** `kanbot start` from source, killed after the test. */
function kanbot(env: Record<string, string>, cwd: string): StartedKanbot {
  const started = startKanbot(env, cwd);
  children.push(started.child);
  return started;
}

describe("kanbot start", () => {
  it("exits 1 with one line per bad setting: name, problem and example", async () => {
    const started = kanbot(
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
    const started = kanbot({ HOST: "127.0.0.1", PORT: String(port) }, tempDir());

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
    const github = await gitHub();
    const database = path.join(dir, "data", "kanbot.sqlite");
    const started = kanbot(credentialsEnv({ dir, port, githubHost: github.host, database }), dir);
    const ping = await waitForHttp(`http://127.0.0.1:${port}/ping`, started);
    const version = await fetch(`http://127.0.0.1:${port}/api/v1/version`);
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
    // The app's version, which `kanbot-runner doctor` compares with the runner's.
    expect(await version.json()).toEqual({
      version: (JSON.parse(readFileSync("package.json", "utf8")) as { version: string }).version,
    });
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
    const github = await gitHub();
    const env = credentialsEnv({
      dir,
      port,
      githubHost: github.host,
      database: path.join(dir, "data", "kanbot.sqlite"),
      logLevel: "info",
      reconcile: true,
    });
    const started = kanbot(env, dir);

    await waitForOutput(started, "reconciliation finished");
    started.child.kill("SIGTERM");
    const code = await started.exited;

    expect(code).toBe(0);
    // The redelivery sweep asks for the app's failed deliveries first (the stub has none: 404).
    expect([...github.requests].sort()).toEqual([
      "GET /api/v3/app",
      "GET /api/v3/app/hook/deliveries",
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
      const github = await gitHub({ [configPath]: config });
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
      const started = kanbot(credentialsEnv({ dir, port, githubHost: github.host, database }), dir);
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
