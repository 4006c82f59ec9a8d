/**
 * Webhook fuzz against the real app: `kanbot start` as a process (from source), a local stand-in
 * for GitHub (GHE_HOST), and raw HTTP. Malformed shapes, wrong types, missing fields, bodies that
 * are not JSON objects and bodies over GitHub's 25 MB cap each get a 4xx or are recorded as
 * invalid; none gets a 500, none is retried, and a good delivery afterwards is processed.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openStore, type Delivery, type Task } from "../../../src/store/index.js";
import { webhookExample } from "../../helpers/github-webhooks.js";
import {
  credentialsEnv,
  freePort,
  startGitHubStub,
  startKanbot,
  waitForHttp,
  type GitHubStub,
  type StartedKanbot,
} from "../../helpers/kanbot-process.js";
import { signWebhook } from "../../helpers/probot.js";

const MiB = 1024 * 1024;
const CONFIG_FILE = "GET /api/v3/repos/Codertocat/Hello-World/contents/.github%2Fkanbot.yml";

interface Answer {
  status: number;
  body: string;
}

interface Delivered extends Answer {
  id: string;
}

let dir: string;
let port: number;
let database: string;
let kanbot: StartedKanbot;
let github: GitHubStub;
let sequence = 0;

/** Posts `body` to the webhook path with GitHub's headers, signed unless `signature` is given. */
async function post(
  event: string,
  body: string,
  options: { signature?: string | null; id?: string } = {},
): Promise<Delivered> {
  const id = options.id ?? `fuzz-${++sequence}`;
  const signature = options.signature === undefined ? signWebhook(body) : options.signature;
  const response = await fetch(`http://127.0.0.1:${port}/api/github/webhooks`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "x-github-event": event,
      "x-github-delivery": id,
      ...(signature === null ? {} : { "x-hub-signature-256": signature }),
    },
    body,
  });
  return { id, status: response.status, body: await response.text() };
}

/**
 * Sends a body of `total` bytes in 1 MiB chunks, each after the last was taken by the socket,
 * and stops as soon as the answer arrives. Returns the answer and how much had been handed to
 * the socket by then. `declare` sends `Content-Length: total`; otherwise the body is chunked.
 */
function sendLarge(
  total: number,
  declare: boolean,
): Promise<Answer & { sentBeforeAnswer: number; finishedSending: boolean }> {
  return new Promise((resolve, reject) => {
    const body = JSON.stringify({ zen: "x" });
    const req = request({
      host: "127.0.0.1",
      port,
      method: "POST",
      path: "/api/github/webhooks",
      headers: {
        "content-type": "application/json",
        "x-github-event": "ping",
        "x-github-delivery": `huge-${++sequence}`,
        "x-hub-signature-256": signWebhook(body),
        ...(declare ? { "content-length": String(total) } : {}),
      },
    });
    let sent = 0;
    let answered = false;
    let finishedSending = false;
    req.on("response", (res) => {
      answered = true;
      const sentBeforeAnswer = sent;
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (text += chunk));
      res.on("end", () => {
        resolve({ status: res.statusCode ?? 0, body: text, sentBeforeAnswer, finishedSending });
        req.destroy();
      });
    });
    // The server closes the connection after its answer; writes after that fail, as expected.
    req.on("error", (error) => {
      if (!answered) reject(error);
    });
    const chunk = Buffer.alloc(MiB, 0x20);
    const writeMore = (): void => {
      while (!answered && sent < total) {
        const size = Math.min(MiB, total - sent);
        sent += size;
        if (!req.write(size === MiB ? chunk : chunk.subarray(0, size))) {
          req.once("drain", writeMore);
          return;
        }
      }
      if (!answered && sent >= total) {
        finishedSending = true;
        req.end();
      }
    };
    writeMore();
  });
}

/** A payload a test breaks on purpose, in ways its type forbids. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Breakable = Record<string, any>;

/** A copy of GitHub's `issues.labeled` example, changed by `change`. */
function labeled(change: (payload: Breakable) => void = () => undefined): string {
  const payload = webhookExample("issues", "labeled") as unknown as Breakable;
  change(payload);
  return JSON.stringify(payload);
}

function example(
  event: Parameters<typeof webhookExample>[0],
  action: string | undefined,
  change: (payload: Breakable) => void,
): string {
  const payload = webhookExample(event, action) as unknown as Breakable;
  change(payload);
  return JSON.stringify(payload);
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), "kanbot-edges-"));
  port = await freePort();
  github = await startGitHubStub();
  database = path.join(dir, "kanbot.sqlite");
  kanbot = startKanbot(credentialsEnv({ dir, port, githubHost: github.host, database }), dir);
  await waitForHttp(`http://127.0.0.1:${port}/ping`, kanbot);
}, 60_000);

afterAll(async () => {
  kanbot.child.kill("SIGKILL");
  await github.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("webhook intake fuzz (real `kanbot start`)", () => {
  const invalid: { id: string; field: RegExp }[] = [];
  const answers: Delivered[] = [];
  let good: Delivered;
  let deliveries: Delivery[];
  let tasks: Task[];
  let code: number | null;

  it.each([
    ["null", "null"],
    ["a string", '"hello"'],
    ["an array", "[1,2,3]"],
    ["a number", "42"],
    ["broken JSON", '{"action": '],
  ])("answers 400 to a signed body that is %s", async (_what, body) => {
    const answer = await post("issues", body);
    answers.push(answer);

    expect(answer.status).toBe(400);
    expect(answer.body).toMatch(/JSON object/);
  });

  it.each([
    ["unsigned", null],
    ["signed with another secret", signWebhook("null", "not-the-secret")],
  ])("answers an %s body 400, as Probot did, without parsing it", async (_what, signature) => {
    const answer = await post("issues", "null", { signature });
    answers.push(answer);

    expect(answer.status).toBe(400);
    expect(answer.body).toMatch(/signature/);
  });

  it.each([
    [
      "issue.number as a string",
      "issues",
      labeled((p) => (p.issue.number = "15")),
      /^issue\.number: /,
    ],
    ["no issue", "issues", labeled((p) => delete p.issue), /^issue: missing/],
    ["no repository", "issues", labeled((p) => delete p.repository), /^repository: missing/],
    ["no sender", "issues", labeled((p) => delete p.sender), /^sender: missing/],
    ["a numeric label name", "issues", labeled((p) => (p.label.name = 7)), /^label\.name: /],
    ["issue as an array", "issues", labeled((p) => (p.issue = [])), /^issue: /],
    [
      "a repository named ..",
      "issues",
      labeled((p) => {
        p.repository.name = "..";
        p.repository.full_name = "Codertocat/..";
      }),
      /^repository\.name: /,
    ],
    [
      "an issue number of 1e308",
      "issues",
      labeled((p) => (p.issue.number = 1e308)),
      /^issue\.number: /,
    ],
    [
      "a negative issue number",
      "issues",
      labeled((p) => (p.issue.number = -1)),
      /^issue\.number: /,
    ],
    [
      "check_run.completed with a head SHA that is a path",
      "check_run",
      example("check_run", "completed", (p) => (p.check_run.head_sha = "../../x")),
      /^check_run\.head_sha: /,
    ],
    [
      "pull_request.closed without its pull request",
      "pull_request",
      example("pull_request", "closed", (p) => delete p.pull_request),
      /^pull_request: missing/,
    ],
    [
      "issue_comment.created with a numeric comment body",
      "issue_comment",
      example("issue_comment", "created", (p) => (p.comment.body = 5)),
      /^comment\.body: /,
    ],
    [
      "push without a repository",
      "push",
      example("push", undefined, (p) => delete p.repository),
      /^repository: missing/,
    ],
    [
      "status with a numeric SHA",
      "status",
      example("status", undefined, (p) => (p.sha = 1234)),
      /^sha: /,
    ],
  ])("records a signed %s as invalid (200, never processed)", async (_what, event, body, field) => {
    const answer = await post(event, body);
    answers.push(answer);
    invalid.push({ id: answer.id, field });

    expect(answer.status).toBe(200);
  });

  it("refuses a 30 MB body declared in Content-Length before reading it", async () => {
    const answer = await sendLarge(30 * MiB, true);

    expect(answer.status).toBe(413);
    expect(answer.body).toMatch(/25 MB/);
    // The answer came while the client was still sending: the body was never read to its end.
    expect(answer.finishedSending).toBe(false);
    expect(answer.sentBeforeAnswer).toBeLessThan(30 * MiB);
  });

  it("refuses a chunked body once it streams past 25 MB, without reading the rest", async () => {
    const answer = await sendLarge(64 * MiB, false);

    expect(answer.status).toBe(413);
    expect(answer.finishedSending).toBe(false);
    expect(answer.sentBeforeAnswer).toBeGreaterThan(25 * MiB);
    expect(answer.sentBeforeAnswer).toBeLessThan(64 * MiB);
  });

  it("still answers and processes a good delivery afterwards", async () => {
    good = await post("issues", labeled());
    // The inbox worker works it as the installation: it reads the repository's config.
    for (let tries = 0; !github.requests.includes(CONFIG_FILE); tries++) {
      if (tries > 300)
        throw new Error(`the good delivery was never processed:\n${kanbot.output()}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    kanbot.child.kill("SIGTERM");
    code = await kanbot.exited;
    const store = await openStore({ url: database });
    try {
      deliveries = await store.listDeliveries();
      tasks = await store.listTasks({});
    } finally {
      await store.close();
    }

    expect(good.status).toBe(200);
    expect(code).toBe(0);
    expect(deliveries.find((delivery) => delivery.deliveryId === good.id)).toMatchObject({
      status: "done",
      attempts: 1,
    });
  });

  it("never answered 500, and recorded every bad shape as invalid with the field, unretried", () => {
    expect(answers.every((answer) => answer.status < 500)).toBe(true);
    for (const { id, field } of invalid) {
      const delivery = deliveries.find((candidate) => candidate.deliveryId === id);
      expect(delivery, id).toMatchObject({ status: "invalid", attempts: 0 });
      expect(delivery?.lastError, id).toMatch(field);
    }
    // Refused bodies were not recorded at all; nothing is left to retry or failed.
    expect(deliveries).toHaveLength(invalid.length + 1);
    expect(deliveries.filter((delivery) => delivery.status === "pending")).toEqual([]);
    expect(deliveries.filter((delivery) => delivery.status === "failed")).toEqual([]);
  });

  it("created no task and sent GitHub nothing for the bad deliveries", () => {
    expect(tasks).toEqual([]);
    expect(github.requests).toEqual([
      "GET /api/v3/app",
      "POST /api/v3/app/installations/1/access_tokens",
      CONFIG_FILE,
    ]);
    // One warning per invalid delivery, naming the event and the field.
    const warnings = kanbot
      .output()
      .split("\n")
      .filter((line) => line.includes("recorded as invalid and not processed"));
    expect(warnings).toHaveLength(invalid.length);
    expect(warnings.some((line) => line.includes('"problem":"issue.number: '))).toBe(true);
    expect(kanbot.output()).not.toMatch(/TypeError/);
  });
});
