/**
 * Redaction end to end (DESIGN section 7): the real app (`kanbot start`) and a real runner
 * (`kanbot-runner start`) against the GitHub simulator, with an agent that prints the runner's own
 * token and token-shaped strings (GitHub, fine-grained PAT, Anthropic and OpenAI keys) plain,
 * base64, inside a basic-auth value, URL-encoded and split across two writes, on stdout and on
 * stderr. One task succeeds (its PR body and `kanbot` check run carry the agent's summary), one
 * fails and is blocked (its progress comment carries the error). None of the secrets appears in
 * the stored log, `jobs.result`, the database at all, the check runs, the PR body, the progress
 * comments, or the app's and the runner's own log output.
 *
 * The agent never reads anything of the runner's: the test reads the runner token from the
 * runner's config and hands it to the agent through the script (the harness's agent script file).
 */
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { REDACTED } from "../../src/domain/redaction.js";
import {
  REPO,
  SAMPLE_FILES,
  SAMPLE_KANBOT_YML,
  startE2E,
  type AgentStep,
  type E2E,
} from "./harness.js";

const b64 = (text: string) => Buffer.from(text).toString("base64");
const random = (length: number) =>
  randomBytes(length).toString("base64url").replace(/[-_]/g, "Q").slice(0, length);

/** Token-shaped strings the agent prints besides the runner token. */
const SHAPED = {
  github: `ghp_${random(36)}`,
  fineGrained: `github_pat_11ABCDEFG0${random(20)}_${random(59)}`,
  anthropic: `sk-ant-api03-${randomBytes(70).toString("base64url")}`,
  openai: `sk-proj-${random(40)}T3BlbkFJ${random(40)}`,
};

/** What the agent prints of `secrets`: each plain, base64, basic auth, URL-encoded, and a split. */
function leakyOutput(secrets: readonly string[]): Pick<AgentStep, "print" | "say" | "stderr"> {
  const [first = ""] = secrets;
  const half = Math.floor(first.length / 2);
  return {
    print: [
      ...secrets.map((secret) => `plain: ${secret}\n`),
      ...secrets.map((secret) => `base64: ${b64(secret)}\n`),
      ...secrets.map((secret) => `basic: ${b64(`x-access-token:${secret}`)}\n`),
      ...secrets.map(
        (secret) => `url: ${encodeURIComponent(b64(secret))} ${encodeURIComponent(secret)}\n`,
      ),
      // One write ends inside the runner token, the next one starts with its rest.
      `split: ${first.slice(0, half)}`,
      `${first.slice(half)} end\n`,
    ],
    say: `Summary: done with ${secrets.join(" and ")} (${b64(`x-access-token:${first}`)}).`,
    stderr: `error: auth failed for ${secrets.join(", ")}`,
  };
}

/** Every recognisable piece of each secret found in `text`. */
function leaks(text: string, secrets: readonly string[]): string[] {
  return secrets.flatMap((secret) =>
    [secret, secret.slice(0, 14), secret.slice(-14), b64(secret).slice(4, 26)].filter((piece) =>
      text.includes(piece),
    ),
  );
}

describe("end to end: redaction", () => {
  let e2e: E2E;

  beforeAll(async () => {
    e2e = await startE2E({
      // One attempt: the failing task is blocked at once, with its error on the progress comment.
      files: {
        ...SAMPLE_FILES,
        ".github/kanbot.yml": `${SAMPLE_KANBOT_YML}budget:\n  attempts: 1\n`,
      },
      requiredChecks: [],
    });
  });

  afterAll(async () => {
    await e2e?.stop();
  });

  it("keeps the runner token and token shapes out of every sink", async () => {
    const runner = e2e.runners.get("runner-1");
    const runnerToken = /\bkbr_[A-Za-z0-9_-]+/.exec(
      readFileSync(runner?.configFile ?? "", "utf8"),
    )?.[0];
    if (runnerToken === undefined) throw new Error("the runner's config holds no runner token");
    const secrets = [runnerToken, ...Object.values(SHAPED)];
    e2e.script("Leak on success", [
      { files: { "src/leak.js": "export const leak = 1;\n" }, ...leakyOutput(secrets) },
    ]);
    e2e.script("Leak on failure", [{ ...leakyOutput(secrets), exit: 1 }]);

    const succeeding = await e2e.fileIssue("Leak on success", "Print what you know.");
    const failing = await e2e.fileIssue("Leak on failure", "Print what you know, then fail.");
    await e2e.maintainer.labelIssue(REPO, succeeding, "agent:ready");
    await e2e.maintainer.labelIssue(REPO, failing, "agent:ready");
    await e2e.waitFor(
      "a PR with a kanbot check run",
      () => {
        const pull = e2e.pullFor(succeeding);
        return (
          pull !== undefined &&
          e2e.issue(succeeding).pull?.checks.some((c) => c.startsWith("kanbot=")) === true
        );
      },
      { timeoutMs: 120_000 },
    );
    await e2e.waitFor(
      "the failing task to be blocked",
      () => e2e.hasLabel(failing, "agent:blocked"),
      {
        timeoutMs: 120_000,
      },
    );
    await e2e.waitFor("the blocked task's progress comment to show the error", () =>
      e2e.botComments(failing).some((body) => body.includes("**Blocked:**")),
    );

    // The database: the stored log and results, and no trace anywhere in its files.
    const dbFile = join(e2e.dir, "kanbot.sqlite");
    const db = new Database(dbFile, { readonly: true });
    const logText = (
      db.prepare("select text from log_chunks order by job_id, seq").all() as { text: string }[]
    )
      .map((row) => row.text)
      .join("");
    const jobs = db.prepare("select result, error from jobs").all() as {
      result: string | null;
      error: string | null;
    }[];
    db.close();
    const dbFiles = [dbFile, `${dbFile}-wal`]
      .filter((file) => existsSync(file))
      .map((file) => readFileSync(file).toString("latin1"))
      .join("\n");
    // GitHub as the maintainer sees it.
    const repo = e2e.sim.state.mustRepo(REPO);
    const pull = e2e.pullFor(succeeding);
    const prBody = pull === undefined ? "" : (e2e.sim.issue(REPO, pull.number).body ?? "");
    const checkRuns = repo.checkRuns
      .filter((run) => run.name === "kanbot")
      .map((run) => [run.output.title, run.output.summary, run.output.text].join("\n"))
      .join("\n");
    const comments = [...e2e.botComments(succeeding), ...e2e.botComments(failing)].join("\n");
    // The processes' own output, whole.
    const processLogs = ["app", "runner-1"]
      .map((name) => readFileSync(join(e2e.dir, "logs", `${name}.log`), "utf8"))
      .join("\n");

    const sinks = {
      "stored log": logText,
      "jobs.result and jobs.error": JSON.stringify(jobs),
      "the database's files": dbFiles,
      "kanbot check runs": checkRuns,
      "PR body": prBody,
      "progress comments": comments,
      "app and runner logs": processLogs,
    };
    const found = Object.entries(sinks).map(([sink, text]) => ({
      sink,
      leaks: leaks(text, secrets),
    }));
    expect(found).toEqual(Object.keys(sinks).map((sink) => ({ sink, leaks: [] })));

    // The sinks did get the text, redacted (the test would pass vacuously otherwise).
    expect(logText).toContain(`plain: ${REDACTED}`);
    expect(logText).toContain(`split: ${REDACTED} end`);
    expect(logText).toContain(`basic: ${REDACTED}`);
    expect(jobs.some((job) => job.result?.includes("Summary: done with") === true)).toBe(true);
    expect(prBody).toContain("Summary: done with");
    expect(prBody).toContain(REDACTED.replace(/[[\]]/g, "\\$&"));
    expect(checkRuns).toContain("Summary: done with");
    expect(comments).toContain("error: auth failed for");
    expect(e2e.sim.violations).toEqual([]);
  });
});
