// The app's side of the redaction policy, over real HTTP and a real SQLite store: a runner that
// sends its own token, a job token and token-shaped strings (plain, base64, URL-encoded, split
// across two log uploads at every place) and a completion full of them leaves none in the stored
// log or `jobs.result`; the check run, PR body and progress comment built from that result (or
// from an unredacted one) hold none either.
import { randomBytes } from "node:crypto";

import { afterEach, beforeEach, describe, expect, it } from "vitest";

import type { JobOutcomeInput } from "../../../src/protocol/index.js";
import { REDACTED } from "../../../src/domain/redaction.js";
import { renderProgressComment } from "../../../src/domain/progress-comment.js";
import {
  renderCheckRunOutput,
  renderPullRequestBody,
} from "../../../src/domain/pull-request-body.js";
import { jobResultOf } from "../../../src/tasks/effects/pull-request.js";
import type { Job } from "../../../src/store/index.js";
import type { JobTokenBroker } from "../../../src/tokens/job-token-broker.js";
import { fakeBroker, startHarness, type FakeBroker, type Harness } from "./harness.js";

const b64 = (text: string) => Buffer.from(text).toString("base64");
const GHP = `ghp_${randomBytes(27).toString("base64url").replace(/[-_]/g, "Z").slice(0, 36)}`;
const ANTHROPIC = `sk-ant-api03-${randomBytes(60).toString("base64url")}`;

/** Every recognisable piece of the secrets in `text`. */
function leaks(text: string, secrets: readonly string[]): string[] {
  return secrets.flatMap((secret) =>
    [secret, secret.slice(0, 14), secret.slice(-14), b64(secret).slice(4, 26)].filter((piece) =>
      text.includes(piece),
    ),
  );
}

describe("runner API: redaction at the app's sinks", () => {
  let h: Harness;
  let broker: FakeBroker;

  beforeEach(async () => {
    broker = fakeBroker();
    // The real broker tells the policy which tokens it issued for the job.
    broker.liveTokens = (jobId) =>
      broker.issued.filter((entry) => entry.jobId === jobId).map((entry) => entry.token);
    h = await startHarness({ broker });
  });
  afterEach(async () => {
    await h.close();
  });

  async function claimed() {
    const runner = await h.registerRunner();
    const jobId = await h.queueJob();
    const claim = await runner.client.claim({ waitSeconds: 0 });
    if (claim === undefined) throw new Error("expected a job");
    const { token: jobToken } = await runner.client.jobToken(jobId, {
      leaseToken: claim.lease.token,
    });
    return { ...runner, jobId, lease: claim.lease.token, jobToken };
  }

  it("stores no token from a log whose tokens are split across two uploads at every place", async () => {
    const { client, jobId, lease, token: runnerToken, jobToken } = await claimed();
    const line =
      `runner ${runnerToken} auth ${b64(`x-access-token:${runnerToken}`)} ` +
      `url ${encodeURIComponent(b64(runnerToken))} job ${jobToken} key ${GHP}\n`;
    let seq = 0;

    for (let cut = 1; cut < line.length; cut++) {
      for (const text of [line.slice(0, cut), line.slice(cut)]) {
        await client.appendLog(jobId, { leaseToken: lease, chunks: [{ seq: seq++, text }] });
      }
    }
    // The log's last words have no line end: the app holds them until the job completes.
    await client.appendLog(jobId, { leaseToken: lease, chunks: [{ seq: seq++, text: "bye" }] });
    await client.complete(jobId, { leaseToken: lease, outcome: { status: "canceled" } });

    // (A job token seen whole in one chunk is also replaced by the broker's own `[redacted]`.)
    const stored = (await h.store.readLog(jobId))
      .map((chunk) => chunk.text)
      .join("")
      .replaceAll("[redacted]", REDACTED);
    const redactedLine = `runner ${REDACTED} auth ${REDACTED} url ${REDACTED} job ${REDACTED} key ${REDACTED}\n`;
    expect(leaks(stored, [runnerToken, jobToken, GHP])).toEqual([]);
    expect(stored).toBe(`${redactedLine.repeat(line.length - 1)}bye`);
  });

  it("stores no token in jobs.result or the error, and the PR body, check run and progress comment hold none", async () => {
    // Job tokens shaped as GitHub's are (`ghs_` and 36 characters): the renderers know no job
    // tokens, only the shapes, as in production.
    await h.close();
    h = await startHarness({ broker: shapedBroker() });
    const { client, jobId, lease, token: runnerToken, jobToken } = await claimed();
    const secrets = [runnerToken, jobToken, GHP, ANTHROPIC];
    const outcome: JobOutcomeInput = {
      status: "failed",
      error: `push failed: remote: https://x-access-token:${jobToken}@github.com/acme/widgets.git\nrunner ${runnerToken}`,
      summary: `Done. Used ${ANTHROPIC} and ${b64(`x-access-token:${GHP}`)}; see ${encodeURIComponent(runnerToken)}`,
      validation: [
        {
          command: "npm test",
          exitCode: 1,
          passed: false,
          durationSeconds: 3,
          outputTail: `env: KANBOT_RUNNER_TOKEN=${runnerToken}\nAuthorization: Basic ${b64(`x:${jobToken}`)}\n`,
        },
      ],
      durationSeconds: 12,
    };
    await client.appendLog(jobId, {
      leaseToken: lease,
      chunks: [{ seq: 0, text: `log ${runnerToken} ${GHP}\n` }],
    });

    await client.complete(jobId, { leaseToken: lease, outcome });

    const job = (await h.store.getJob(jobId)) as Job;
    expect(leaks(JSON.stringify(job.result), secrets)).toEqual([]);
    expect(leaks(job.error ?? "", secrets)).toEqual([]);
    expect(job.error).toContain(REDACTED);
    expect(JSON.stringify(job.result)).toContain(REDACTED);
    const log = (await h.store.readLog(jobId)).map((chunk) => chunk.text).join("");
    for (const [source, view] of [
      ["the stored job", { summary: jobResultOf(job).summary, error: job.error ?? "" }],
      ["an unredacted result", { summary: outcome.summary ?? "", error: outcome.error }],
    ] as const) {
      const sinks = renderSinks(view.summary, view.error, `${log}raw ${runnerToken}\n`);
      expect({ source, leaks: leaks(sinks, secrets) }).toEqual({ source, leaks: [] });
    }
  });
});

/** A broker whose tokens look like GitHub's installation tokens. */
function shapedBroker(): JobTokenBroker {
  const live = new Map<number, string[]>();
  return {
    async issue(jobId) {
      const token = `ghs_${randomBytes(27).toString("base64url").replace(/[-_]/g, "x").slice(0, 36)}`;
      live.set(jobId, [...(live.get(jobId) ?? []), token]);
      return { token, expiresAt: new Date("2026-01-01T01:00:00.000Z"), permissions: {} };
    },
    async revoke(jobId) {
      const count = live.get(jobId)?.length ?? 0;
      live.delete(jobId);
      return count;
    },
    redact: (_jobId, text) => text,
    liveTokens: (jobId) => live.get(jobId) ?? [],
  };
}

/** The PR body, the check run's output and the progress comment of a blocked task, as one text. */
function renderSinks(summary: string | null, error: string, log: string): string {
  const issue = { owner: "acme", repo: "widgets", number: 7 };
  const repo = { owner: "acme", repo: "widgets" };
  const body = renderPullRequestBody({
    issue,
    pullRequestRepo: repo,
    taskId: 1,
    summary,
    issueBody: "- [ ] works",
    spent: { attempts: 1, minutes: 1, usd: 0 },
  });
  const check = renderCheckRunOutput({
    job: { kind: "implement", attempt: 1, outcome: "failed", minutes: 1, usd: 0, summary, error },
    validation: [{ command: "npm test", passed: false, exitCode: 1 }],
    log,
    issue,
    pullRequestRepo: repo,
  });
  const progress = renderProgressComment({
    issue,
    state: "blocked",
    budget: {
      used: { attempts: 1, minutes: 1, usd: 0, lostLeases: 0 },
      limit: { attempts: 1, minutes: 60, usd: 5 },
    },
    error,
    notes: [`the job failed: ${error}`],
    timeline: [{ at: new Date("2026-01-01T00:00:00Z"), text: `failed: ${error}` }],
  });
  return [body, check.title, check.summary, check.text ?? "", progress].join("\n");
}
