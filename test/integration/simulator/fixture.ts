/**
 * A simulator for one test file, driven the way an app drives GitHub: a Probot (for its Octokit
 * and its app/installation authentication, nothing of kanbot), plain `fetch`, plain `git`, and a
 * local HTTP server that receives the webhooks and checks their signatures.
 */
import { execFile } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

import { pino } from "pino";
import { Probot, ProbotOctokit } from "probot";

import { testGitEnv } from "../../helpers/git-repos.js";
import {
  startSimulator,
  verifySignature,
  type Simulator,
  type SimulatorOptions,
} from "../../simulator/index.js";

export const APP_ID = 4242;
export const SECRET = "simulator-test-secret";
export const ORG = "octo-org";
export const REPO = "widgets";
export const FULL = `${ORG}/${REPO}`;
export const MAINTAINER = "maintainer";

export interface ReceivedHook {
  event: string;
  action: string | undefined;
  headers: IncomingMessage["headers"];
  payload: Record<string, unknown>;
  signatureValid: boolean;
}

type OctokitOptions = NonNullable<ConstructorParameters<typeof ProbotOctokit>[0]>;

const execFileAsync = promisify(execFile);

const TestOctokit = ProbotOctokit.defaults((options: OctokitOptions) => ({
  ...options,
  retry: { ...options.retry, enabled: false },
  throttle: { ...options.throttle, enabled: false },
}));

let key: string | undefined;

export function appKey(): string {
  key ??= generateKeyPairSync("rsa", {
    modulusLength: 2048,
    privateKeyEncoding: { type: "pkcs1", format: "pem" },
    publicKeyEncoding: { type: "spki", format: "pem" },
  }).privateKey;
  return key;
}

export interface Fixture {
  sim: Simulator;
  probot: Probot;
  installationId: number;
  hooks: ReceivedHook[];
  /** An Octokit authenticated as `token` (installation or user). */
  octokit(token: string): InstanceType<typeof ProbotOctokit>;
  /** Mints an installation token through the REST API, as an app does. */
  mintToken(body?: Record<string, unknown>): Promise<string>;
  /**
   * Runs git in `cwd` with a hermetic environment; rejects with stderr on failure. Asynchronous:
   * the simulator answers git in this same process, so a synchronous git would deadlock.
   */
  git(cwd: string, ...args: string[]): Promise<string>;
  tempDir(): string;
  /** Resolves when `predicate` holds (checked after each `sim.idle()`), or throws after many tries. */
  until(predicate: () => boolean, what: string): Promise<void>;
  stop(): Promise<void>;
}

/** Simulator options a test file may set (rate limits, the clock, token lifetime). */
export type FixtureOptions = Pick<SimulatorOptions, "limits" | "now" | "tokenLifetimeMs">;

export async function startFixture(options: FixtureOptions = {}): Promise<Fixture> {
  const hooks: ReceivedHook[] = [];
  const receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      const payload = JSON.parse(body) as Record<string, unknown>;
      const signature = req.headers["x-hub-signature-256"];
      hooks.push({
        event: String(req.headers["x-github-event"]),
        action: typeof payload.action === "string" ? payload.action : undefined,
        headers: req.headers,
        payload,
        signatureValid: verifySignature(
          SECRET,
          body,
          typeof signature === "string" ? signature : undefined,
        ),
      });
      res.writeHead(202).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
  const { port } = receiver.address() as AddressInfo;

  const sim = await startSimulator({
    appId: APP_ID,
    privateKey: appKey(),
    webhook: { url: `http://127.0.0.1:${port}/`, secret: SECRET },
    log: () => undefined,
    ...options,
  });
  sim.addOrg(ORG);
  await sim.addRepo({ owner: ORG, name: REPO, files: { "README.md": "# widgets\n" } });
  await sim.addRepo({ owner: ORG, name: "other", files: { "README.md": "# other\n" } });
  sim.addCollaborator(FULL, MAINTAINER, "maintain");
  const installationId = sim.install(ORG);
  const probot = new Probot({
    appId: APP_ID,
    privateKey: appKey(),
    secret: SECRET,
    baseUrl: sim.apiUrl,
    Octokit: TestOctokit,
    log: pino({ level: "silent" }),
  });
  const dirs: string[] = [];

  function octokit(token: string) {
    return new TestOctokit({
      auth: { token },
      baseUrl: sim.apiUrl,
      log: pino({ level: "silent" }),
    });
  }

  return {
    sim,
    probot,
    installationId,
    hooks,
    octokit,
    async mintToken(body = {}) {
      const app = await probot.auth();
      const { data } = await app.request(
        "POST /app/installations/{installation_id}/access_tokens",
        {
          installation_id: installationId,
          ...body,
        },
      );
      return data.token;
    },
    async git(cwd, ...args) {
      const { stdout } = await execFileAsync("git", args, {
        cwd,
        env: testGitEnv(),
        encoding: "utf8",
      });
      return stdout.trim();
    },
    tempDir() {
      const dir = mkdtempSync(join(tmpdir(), "kanbot-sim-test-"));
      dirs.push(dir);
      return dir;
    },
    async until(predicate, what) {
      for (let attempt = 0; attempt < 500; attempt++) {
        await sim.idle();
        if (predicate()) return;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      throw new Error(`gave up waiting for ${what}`);
    },
    async stop() {
      await sim.stop();
      await new Promise<void>((resolve) => receiver.close(() => resolve()));
      for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** `http://x-access-token:<token>@host/owner/repo.git`, as the runner clones. */
export function authedGitUrl(sim: Simulator, repo: string, token: string): string {
  const url = new URL(sim.gitUrl(repo));
  url.username = "x-access-token";
  url.password = token;
  return url.toString();
}
