// What the runner keeps secret: configured secrets never reach the app's stored log in any form
// (plain, base64 at any alignment, inside a basic-auth header, URL-encoded, split across two
// writes of the agent), and the agent's environment holds no token at all: not the job token it
// fetched for git, not the runner token, not a GitHub token from the runner's environment.
import { afterEach, beforeEach, describe, expect, it } from "vitest";

import { REDACTED, secretForms } from "../../../runner/process/redact.js";
import { FAKE_AGENT, startLoop, type Loop } from "./harness.js";

let loop: Loop;

beforeEach(async () => {
  loop = await startLoop();
});

afterEach(async () => {
  await loop.close();
});

describe("runner security", () => {
  it("never stores a configured secret in the job log, in any form", async () => {
    const secret = "s3cr3t+Deploy/Key=2026-xyz";
    const jobId = await loop.queueJob({ agent: "leaky" });
    const runner = await loop.addRunner(
      `  leaky:\n    command: ${FAKE_AGENT}\n    env: { FAKE_AGENT_MODE: secrets, FAKE_REDACT_ME: "${secret}" }\n`,
      "redactEnv: [DEPLOY_SECRET]\n",
    );

    await loop.startDaemon(runner, { maxJobs: 1, env: { DEPLOY_SECRET: secret } });

    const log = await loop.storedLog(jobId);
    expect(log).toContain(`plain: ${REDACTED}`);
    expect(log).toContain(`split: ${REDACTED} end`);
    expect(log).toContain(`stderr: ${REDACTED}`);
    expect(secretForms(secret).filter((form) => log.includes(form))).toEqual([]);
    expect(log).not.toContain(secret.slice(0, 10));
  });

  it("gives the agent an environment without any token", async () => {
    const githubToken = `ghp_${"a".repeat(36)}`;
    const jobId = await loop.queueJob({ agent: "env" });
    const runner = await loop.addRunner(
      `  env:\n    command: ${FAKE_AGENT}\n    env: { FAKE_AGENT_MODE: env }\n    envAllow: [GITHUB_TOKEN, KANBOT_RUNNER_TOKEN, SOME_SETTING]\n`,
    );

    await loop.startDaemon(runner, {
      maxJobs: 1,
      env: {
        GITHUB_TOKEN: githubToken,
        GH_TOKEN: githubToken,
        KANBOT_RUNNER_TOKEN: runner.token,
        ANTHROPIC_API_KEY: "sk-ant-not-allowed",
        SOME_SETTING: "visible",
      },
    });

    const line = (await loop.storedLog(jobId))
      .split("\n")
      .find((text) => text.startsWith("{") && text.includes("KANBOT_JOB_ID"));
    const env = JSON.parse(line ?? "{}") as Record<string, string>;
    expect(env.KANBOT_JOB_ID).toMatch(new RegExp(`^${jobId}\\.`));
    expect(env.SOME_SETTING).toBe("visible");
    expect(Object.keys(env).filter((name) => /TOKEN|API_KEY/.test(name))).toEqual([]);
    const jobTokens = loop.broker.issued.filter((entry) => entry.jobId === jobId);
    expect(jobTokens.length).toBeGreaterThan(0);
    const values = Object.values(env).join("\n");
    for (const token of [githubToken, runner.token, ...jobTokens.map((entry) => entry.token)]) {
      expect(values).not.toContain(token);
    }
    expect(values).not.toContain(REDACTED);
  });
});
