// The runner's side of the redaction policy, with a real agent process: an agent that prints the
// runner's own token and a model API key (plain, base64, inside a basic-auth value,
// URL-encoded, split across two writes, on stderr) leaves none of them in the stored log, the
// job's result or its error. The runner token is not configured anywhere as a secret: the runner
// adds it itself.
import { randomBytes } from "node:crypto";

import { afterEach, beforeEach, describe, expect, it } from "vitest";

import { REDACTED } from "../../../runner/process/redact.js";
import { FAKE_AGENT, startLoop, type Loop } from "./harness.js";

const b64 = (text: string) => Buffer.from(text).toString("base64");

let loop: Loop;

beforeEach(async () => {
  loop = await startLoop();
});

afterEach(async () => {
  await loop.close();
});

describe("runner redaction", () => {
  it("keeps the runner token and token shapes out of the log, the result and the error", async () => {
    const modelKey = `sk-ant-api03-${randomBytes(60).toString("base64url")}`;
    const jobId = await loop.queueJob({ agent: "leaky" });
    const runner = await loop.addRunner(
      `  leaky:\n    command: ${FAKE_AGENT}\n    env: { FAKE_AGENT_MODE: secrets }\n`,
    );
    // What the agent prints: known to the test only once the runner is registered. (A GitHub
    // token could not be passed this way: the runner refuses GitHub token values in a child's
    // environment; the API and end-to-end tests cover GitHub shapes.)
    const printed = `${runner.token} ${modelKey}`;
    const agent = runner.loaded.config.agents.leaky;
    if (agent === undefined) throw new Error("the runner has no leaky agent");
    agent.env = { ...agent.env, FAKE_REDACT_ME: printed };

    await loop.startDaemon(runner, { maxJobs: 1 });

    const log = await loop.storedLog(jobId);
    const job = await loop.store.getJob(jobId);
    const sinks = { log, result: JSON.stringify(job?.result ?? null), error: job?.error ?? "" };
    for (const secret of [runner.token, modelKey]) {
      const pieces = [secret, secret.slice(0, 14), secret.slice(-14), b64(secret).slice(4, 26)];
      for (const [sink, text] of Object.entries(sinks)) {
        expect({ sink, found: pieces.filter((piece) => text.includes(piece)) }).toEqual({
          sink,
          found: [],
        });
      }
    }
    expect(log).toContain(`plain: ${REDACTED} ${REDACTED}`);
    expect(log).toContain(`stderr: ${REDACTED} ${REDACTED}`);
    expect(log).toContain(`base64: ${REDACTED}`);
    expect(sinks.result).toContain(REDACTED);
  });
});
