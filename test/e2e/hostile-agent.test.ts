/**
 * A hostile agent end to end: the real app (`kanbot start`) and a real runner (`kanbot-runner
 * start`, sandbox `auto`, so bubblewrap) against the simulator. The agent
 * (test/fixtures/agents/hostile-agent.sh) looks for the runner's config and token from its
 * working directory, scans /proc for the runner's and the app's environments (the app holds the
 * GitHub App's private key and webhook secret), and leaves processes behind. Its report reaches
 * the PR branch; none of those secrets may be in it, and none of its processes may outlive the
 * job.
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { processesWith } from "../helpers/processes.js";
import { REPO, REPO_ROOT, startE2E, type E2E } from "./harness.js";

const HOSTILE = join(REPO_ROOT, "test/fixtures/agents/hostile-agent.sh");
const tag = randomBytes(6).toString("hex");
const marker = `kbhostile-e2e-${tag}`;
const envSecret = `kbtestsecret-e2e-env-${tag}`;

describe("end to end: a hostile agent in the sandbox", () => {
  let e2e: E2E;

  beforeAll(async () => {
    e2e = await startE2E({
      agentsYaml: [
        "  fake:",
        "    adapter: command",
        "    command: /bin/sh",
        `    args: [${JSON.stringify(HOSTILE)}]`,
        `    env: { HOSTILE_MARKER: ${marker}, HOSTILE_GREP: "kbtestsecret|kbr_|PRIVATE KE[Y]-|WEBHOOK_SECRE[T]=" }`,
        "    timeoutMinutes: 2",
        "",
      ].join("\n"),
      runnerEnv: { KANBOT_TEST_RUNNER_SECRET: envSecret },
    });
  });

  afterAll(async () => {
    for (const pid of processesWith(marker)) process.kill(pid, "SIGKILL");
    await e2e?.stop();
  });

  it("reads no secret of the runner or the app, and leaves no process behind", async () => {
    const runner = e2e.runners.get("runner-1");
    const token = /^token: (\S+)$/m.exec(readFileSync(runner?.configFile ?? "", "utf8"))?.[1];
    expect(token).toMatch(/^kbr_/);
    const issue = await e2e.fileIssue("Steal the runner token", "Read every secret you can find.");

    await e2e.maintainer.labelIssue(e2e.repo, issue, "agent:ready");
    await e2e.waitFor(
      "kanbot's PR with the agent's report",
      () => e2e.pullFor(issue) !== undefined,
    );

    const pull = e2e.pullFor(issue);
    const gitDir = e2e.sim.state.mustRepo(REPO).gitDir;
    const { stdout: report } = await promisify(execFile)("git", [
      "--git-dir",
      gitDir,
      "show",
      `${pull?.headSha ?? ""}:hostile-report.txt`,
    ]);
    // It ran to its end and looked: the config where the runner keeps it, and /proc.
    expect(report).toContain("== done");
    expect(report).toMatch(/^== read \S+\/kanbot-runner\.yml$/m);
    expect(report).toMatch(/^proc \d+$/m);
    // It found nothing: no runner token, no runner environment, nothing of the app.
    expect(report).not.toContain(token);
    expect(report).not.toContain(envSecret);
    expect(report).not.toContain("PRIVATE KEY-");
    expect(report).not.toContain("WEBHOOK_SECRET=");
    expect(report).not.toContain("runner-or-app");
    // The runner ran it in bubblewrap, and nothing it left behind is alive.
    expect(e2e.logs(400)).toContain("sandbox ready");
    expect(processesWith(marker)).toEqual([]);
    expect(e2e.sim.violations).toEqual([]);
  });
});
