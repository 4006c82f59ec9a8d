// The app goes away while a runner finishes a job: the real daemon talks to the real runner API
// through a proxy the test switches off (connections reset, 502/503 answers, an answer lost after
// the app acted on the request). The finished work waits and is pushed and reported once the app
// answers again, the completion is recorded once; when the lease is gone by then, the runner gives
// the job up without pushing.
import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";

import { pino, type Logger } from "pino";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

import { RunnerApiClient } from "../../../runner/client.js";
import { runDaemon, type DaemonResult } from "../../../runner/daemon.js";
import { FAKE_AGENT, startLoop, type Loop, type RunnerSetup } from "./harness.js";

const WAIT = { timeout: 40_000, interval: 25 };
const FAST = { initialMs: 10, maxMs: 50, random: () => 0.5 };
const BRANCH = "kanbot/1-fix-the-parser";

/** What the proxy does with one request: forward it, or a blip. */
type Blip =
  | "pass"
  /** The connection is dropped: the app is unreachable. */
  | "reset"
  /** Forwarded, the app's answer thrown away and 502 sent instead (the answer was lost). */
  | "swallow"
  | 502
  | 503;

interface Seen {
  path: string;
  blip: Blip;
  /** The app's status, when the request reached it. */
  appStatus?: number;
}

interface Proxy {
  url: string;
  /** Decides each request's fate, in arrival order. */
  rule: (path: string) => Blip;
  seen: Seen[];
  close(): Promise<void>;
}

/** A switchable reverse proxy in front of the app, as a load balancer would be. */
async function startProxy(target: string): Promise<Proxy> {
  const proxy: Proxy = {
    url: "",
    rule: () => "pass",
    seen: [],
    close: async () => undefined,
  };
  const server: Server = createServer((req, res) => {
    const path = req.url ?? "/";
    const seen: Seen = { path, blip: proxy.rule(path) };
    proxy.seen.push(seen);
    if (seen.blip === "reset") {
      req.socket.destroy();
      return;
    }
    if (typeof seen.blip === "number") {
      req.resume();
      res.writeHead(seen.blip, { "content-type": "text/html" }).end("<html>bad gateway</html>");
      return;
    }
    const upstream = request(
      `${target}${path}`,
      { method: req.method, headers: req.headers },
      (answer) => {
        seen.appStatus = answer.statusCode;
        if (seen.blip === "swallow") {
          answer.resume();
          answer.on("end", () =>
            res.writeHead(502, { "content-type": "text/html" }).end("<html>bad gateway</html>"),
          );
          return;
        }
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on("error", () => res.destroy());
    res.on("close", () => upstream.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  proxy.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  proxy.close = async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return proxy;
}

/** The runner's log lines, kept for assertions. */
function captureLog(): { lines: { msg: string }[]; log: Logger } {
  const lines: { msg: string }[] = [];
  const log = pino(
    { level: "info" },
    { write: (line: string) => void lines.push(JSON.parse(line) as { msg: string }) },
  );
  return { lines, log };
}

/** The real daemon (as the harness starts it), talking to the app through the proxy. */
function startDaemon(runner: RunnerSetup, log: Logger): Promise<DaemonResult> {
  return runDaemon({
    loaded: { ...runner.loaded, config: { ...runner.loaded.config, appUrl: proxy.url } },
    api: new RunnerApiClient({ baseUrl: proxy.url, token: runner.token, retryBackoff: FAST }),
    stop: new AbortController().signal,
    maxJobs: 1,
    log,
    sourceEnv: { PATH: process.env.PATH, HOME: process.env.HOME },
    heartbeatIntervalMs: 100,
    logFlushIntervalMs: 50,
    killGraceMs: 500,
    claimWaitSeconds: 10,
    backoff: FAST,
  });
}

/**
 * The app goes away when the runner asks for the token of its push (the job's second token:
 * the first was for the fetch) and stays away, every call of the runner refused (connections
 * reset and 503s in turn), until `back()`.
 */
function outageAtPushToken(): { back(): void; refused(path: string): number } {
  let tokens = 0;
  let down = false;
  let refusals = 0;
  proxy.rule = (path) => {
    if (path.endsWith("/token") && ++tokens === 2) down = true;
    if (!down) return "pass";
    return refusals++ % 2 === 0 ? "reset" : 503;
  };
  return {
    back() {
      down = false;
    },
    refused: (suffix) =>
      proxy.seen.filter((seen) => seen.path.endsWith(suffix) && seen.blip !== "pass").length,
  };
}

function requestsTo(suffix: string): Seen[] {
  return proxy.seen.filter((seen) => seen.path.endsWith(suffix));
}

async function finishedEvents(jobId: number): Promise<number> {
  return (await loop.store.listAudit({ jobId, action: "job.finished" })).length;
}

let loop: Loop;
let proxy: Proxy;

beforeEach(async () => {
  loop = await startLoop();
  proxy = await startProxy(loop.baseUrl);
});

afterEach(async () => {
  await proxy.close();
  await loop.close();
});

describe("a runner whose app blips", () => {
  it("keeps finished work while the app is away at the push's token call, then pushes and reports it once", async () => {
    const jobId = await loop.queueJob();
    const runner = await loop.addRunner(
      `  claude:\n    command: ${FAKE_AGENT}\n    env: { FAKE_AGENT_MODE: claude }\n`,
    );
    const outage = outageAtPushToken();
    const { lines, log } = captureLog();

    const daemon = startDaemon(runner, log);
    await vi.waitFor(() => {
      expect(outage.refused("/token")).toBeGreaterThanOrEqual(3);
      expect(outage.refused("/heartbeat")).toBeGreaterThanOrEqual(1);
    }, WAIT);
    // While the app is away the work waits: not pushed, not failed, the job still leased.
    expect(loop.branchHead(BRANCH)).toBeNull();
    expect((await loop.store.getJob(jobId))?.status).toBe("leased");
    outage.back();
    const result = await daemon;

    expect(result).toEqual({ exitCode: 0, jobs: 1 });
    const job = await loop.store.getJob(jobId);
    expect(job?.status).toBe("succeeded");
    const head = loop.branchHead(BRANCH);
    expect(head).not.toBeNull();
    expect(job?.result).toMatchObject({ headSha: head });
    expect(await finishedEvents(jobId)).toBe(1);
    expect(requestsTo("/complete").map((seen) => seen.appStatus)).toEqual([200]);
    // The refused attempts never reached the app: it issued the fetch's token and the push's.
    expect(loop.broker.issued.filter((entry) => entry.jobId === jobId)).toHaveLength(2);
    expect(lines.map((line) => line.msg)).toContain("the app answers again");
    expect(await loop.storedLog(jobId)).toContain("[kanbot-runner] pushed");
  });

  it("sends a completion again when its answer is lost or refused; the app records it once", async () => {
    const jobId = await loop.queueJob();
    const runner = await loop.addRunner(
      `  claude:\n    command: ${FAKE_AGENT}\n    env: { FAKE_AGENT_MODE: claude }\n`,
    );
    const fates: Blip[] = ["swallow", 502, "reset", 503];
    proxy.rule = (path) => (path.endsWith("/complete") ? (fates.shift() ?? "pass") : "pass");
    const { lines, log } = captureLog();

    const result = await startDaemon(runner, log);

    expect(result).toEqual({ exitCode: 0, jobs: 1 });
    const job = await loop.store.getJob(jobId);
    expect(job?.status).toBe("succeeded");
    expect(job?.result).toMatchObject({ headSha: loop.branchHead(BRANCH) });
    // Five tries: the first reached the app (its answer lost), the last was answered.
    expect(requestsTo("/complete").map((seen) => seen.blip)).toEqual([
      "swallow",
      502,
      "reset",
      503,
      "pass",
    ]);
    expect(requestsTo("/complete").map((seen) => seen.appStatus)).toEqual([
      200,
      undefined,
      undefined,
      undefined,
      200,
    ]);
    expect(await finishedEvents(jobId)).toBe(1);
    const messages = lines.map((line) => line.msg);
    expect(messages).toContain("job reported");
    expect(messages).not.toContain("job could not be reported");
  });

  it("gives the job up without pushing when its lease is gone by the time the app is back", async () => {
    const jobId = await loop.queueJob();
    const runner = await loop.addRunner(
      `  claude:\n    command: ${FAKE_AGENT}\n    env: { FAKE_AGENT_MODE: claude }\n`,
    );
    const outage = outageAtPushToken();
    const { lines, log } = captureLog();

    const daemon = startDaemon(runner, log);
    await vi.waitFor(() => expect(outage.refused("/token")).toBeGreaterThanOrEqual(3), WAIT);
    // The outage outlasts the lease on the app's clock: the app ends it and revokes the tokens.
    await loop.expireLeases();
    outage.back();
    const result = await daemon;

    expect(result).toEqual({ exitCode: 0, jobs: 1 });
    expect((await loop.store.getJob(jobId))?.status).toBe("lost");
    expect(loop.branchHead(BRANCH)).toBeNull();
    expect(loop.git.requests.some((seen) => seen.path.endsWith("git-receive-pack"))).toBe(false);
    expect(requestsTo("/complete")).toEqual([]);
    expect(await finishedEvents(jobId)).toBe(0);
    // The app answered the runner's next call with 409 stale-lease.
    expect(proxy.seen.some((seen) => seen.appStatus === 409)).toBe(true);
    expect(lines.map((line) => line.msg)).toContain(
      "lease lost: the job is not reported and nothing was pushed",
    );
  });
});
