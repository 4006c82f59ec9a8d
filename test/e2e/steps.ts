/**
 * Steps the end-to-end scenarios share, on top of test/e2e/harness.ts: what GitHub shows about a
 * task (its state labels, the progress comment, check runs, the PR body) and the fake agent's
 * processes as the operating system sees them.
 *
 * Everything here reads the simulator's state or the process table; nothing sleeps. Waiting goes
 * through `e2e.waitFor`, which polls with a deadline and explains itself when it gives up.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";

import { afterAll, beforeAll } from "vitest";

import { FAKE_AGENT, REPO, startE2E, type E2E, type E2EOptions } from "./harness.js";

const run = promisify(execFile);

/** The issue's `agent:*` labels (kanbot's state labels and the trigger). */
export function agentLabels(e2e: E2E, issue: number): string[] {
  return e2e.issue(issue).labels.filter((label) => label.startsWith("agent:"));
}

/**
 * `e2e.waitFor` about one issue: when it gives up, the message also shows the issue's progress
 * comment, which says what kanbot last did.
 */
export async function waitForIssue(
  e2e: E2E,
  issue: number,
  what: string,
  predicate: () => boolean | Promise<boolean>,
  options?: { timeoutMs?: number },
): Promise<void> {
  try {
    await e2e.waitFor(what, predicate, options);
  } catch (error) {
    const comment = progressComment(e2e, issue) || "(none)";
    if (error instanceof Error)
      error.message = `${error.message}\n\n--- progress comment on #${issue} ---\n${comment}`;
    throw error;
  }
}

/**
 * Waits until the state is mirrored everywhere: exactly `label` among the issue's `agent:*`
 * labels, the progress comment's heading naming it, and the card in `column` when given.
 */
export async function waitForState(
  e2e: E2E,
  issue: number,
  label: string,
  column?: string,
  options?: { timeoutMs?: number },
): Promise<void> {
  await waitForIssue(
    e2e,
    issue,
    `#${issue} to show ${label}${column === undefined ? "" : ` with its card in ${column}`}`,
    () => {
      const labels = agentLabels(e2e, issue);
      return (
        labels.length === 1 &&
        labels[0] === label &&
        progressHeading(e2e, issue).includes(`\`${label}\``) &&
        (column === undefined || e2e.column(issue) === column)
      );
    },
    options,
  );
}

/** The sticky progress comment kanbot keeps on the issue ("" while there is none). */
export function progressComment(e2e: E2E, issue: number): string {
  return e2e.botComments(issue).find((body) => body.startsWith("<!-- kanbot:progress ")) ?? "";
}

/** The progress comment's heading (`### kanbot: … \`agent:review\``), which names the state. */
export function progressHeading(e2e: E2E, issue: number): string {
  return (
    progressComment(e2e, issue)
      .split("\n")
      .find((line) => line.startsWith("### ")) ?? ""
  );
}

/** The check runs on a commit, as `name=conclusion` (or `name=status` while not completed). */
export function checkRuns(e2e: E2E, sha: string): string[] {
  return e2e.sim.state
    .mustRepo(REPO)
    .checkRuns.filter((check) => check.headSha === sha)
    .map((check) => `${check.name}=${check.conclusion ?? check.status}`);
}

/** The text of one check run on a commit (title, summary and text joined). */
export function checkRunText(e2e: E2E, sha: string, name: string): string {
  const found = e2e.sim.state
    .mustRepo(REPO)
    .checkRuns.filter((check) => check.headSha === sha && check.name === name)
    .at(-1);
  if (found === undefined) return "";
  const { title, summary, text } = found.output;
  return [title, summary, text].filter((part) => part !== null).join("\n");
}

/** The body of a pull request (or an issue) as GitHub shows it. */
export function bodyOf(e2e: E2E, number: number): string {
  const repo = e2e.sim.state.mustRepo(REPO);
  return e2e.sim.state.mustIssue(repo, number).body ?? "";
}

/**
 * The pids of the fake agent processes this scenario's runners started: `ps` lists every process
 * whose command line runs the fake agent on a prompt file under `e2e.dir` (other scenarios' agents
 * live in other folders), except the sandbox around it (bubblewrap and its init carry the same
 * command line). Asynchronous, as everything that waits on a child is here.
 */
export async function agentPids(e2e: E2E): Promise<number[]> {
  const { stdout } = await run("ps", ["-A", "-o", "pid=,args="], { maxBuffer: 16 << 20 });
  return stdout
    .split("\n")
    .map((line) => /^\s*(\d+)\s+(.*)$/.exec(line))
    .filter((match): match is RegExpExecArray => match !== null)
    .filter(([, , args = ""]) => args.includes(FAKE_AGENT) && args.includes(e2e.dir))
    .filter(([, , args = ""]) => !/^\S*bwrap\s/.test(args))
    .map(([, pid = "0"]) => Number(pid));
}

/** Kills fake agents a scenario left behind (after `e2e.stop()`, whatever happened). */
export async function killAgents(e2e: E2E): Promise<void> {
  for (const pid of await agentPids(e2e)) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // Already gone.
    }
  }
}

/**
 * Starts the harness before the describe block's scenarios and, after them, stops it and kills
 * any fake agent left behind. The getter returns the running harness (it throws if it did not
 * start).
 */
export function useE2E(options: E2EOptions = {}): () => E2E {
  let e2e: E2E | undefined;

  beforeAll(async () => {
    e2e = await startE2E(options);
  });

  afterAll(async () => {
    if (e2e === undefined) return;
    await e2e.stop();
    await killAgents(e2e);
  });

  return () => {
    if (e2e === undefined) throw new Error("the harness did not start");
    return e2e;
  };
}

/** A node:test file for the sample repository: imports `name` from `../src/<module>`, asserts. */
export function nodeTest(name: string, module: string, assertion: string): string {
  return [
    'import assert from "node:assert/strict";',
    'import { test } from "node:test";',
    `import { ${name} } from "../src/${module}";`,
    "",
    `test("${name}", () => {`,
    `  ${assertion}`,
    "});",
    "",
  ].join("\n");
}

/** The sample repository's src/math.js (add and multiply), with `multiply`'s body given. */
export function mathWith(multiplyBody: string): string {
  return [
    "export function add(a, b) {",
    "  return a + b;",
    "}",
    "",
    "export function multiply(a, b) {",
    `  ${multiplyBody}`,
    "}",
    "",
  ].join("\n");
}
