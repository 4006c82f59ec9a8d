/**
 * `npm run demo` (demo/demo.ts calls `demoMain`; the code lives here so the typecheck covers it):
 * kanbot's whole loop on this machine, with nothing to set up. It reuses the
 * end-to-end harness (test/e2e/harness.ts): the GitHub simulator in this process, the real app
 * server (`kanbot start`, SQLite) and one real runner (`kanbot-runner start`) as child processes,
 * and a scripted fake agent that edits a tiny sample repository whose `node --test` suite the
 * simulated CI runs. It files three issues (the third depends on the second), labels them
 * `agent:ready`, prints the story as GitHub would show it, and, acting as the maintainer,
 * approves and merges each PR once kanbot moves it to review, until every task is done.
 *
 *   npm run demo                    the scripted fake agent (about half a minute)
 *   npm run demo -- --agent claude  a real agent CLI installed here (needs its login or API key)
 *
 * Exit code 0 when every task is done, 1 with the reason otherwise (deadline, failed job...),
 * 2 for bad usage or a missing agent CLI.
 */
import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";

import {
  formatIssueView,
  MAINTAINER,
  REPO,
  REPO_ROOT,
  SAMPLE_FILES,
  startE2E,
  type AgentStep,
  type E2E,
  type IssueView,
} from "./harness.js";

const BUILT_IN_AGENTS = ["claude", "codex", "gemini", "aider", "opencode"];
/** The agents' own credentials passed through when set (docs/agents.md). */
const AGENT_CREDENTIALS: Record<string, string[]> = {
  claude: ["ANTHROPIC_API_KEY", "CLAUDE_CODE_OAUTH_TOKEN"],
  codex: ["OPENAI_API_KEY", "CODEX_API_KEY"],
  gemini: ["GEMINI_API_KEY", "GOOGLE_API_KEY"],
  aider: ["ANTHROPIC_API_KEY", "OPENAI_API_KEY"],
  opencode: ["ANTHROPIC_API_KEY", "OPENAI_API_KEY"],
};

interface DemoTask {
  title: string;
  body: (numbers: number[]) => string;
  steps: AgentStep[];
}

const test = (name: string, module: string, call: string, expected: string) =>
  [
    'import assert from "node:assert/strict";',
    'import { test } from "node:test";',
    `import { ${name} } from "../src/${module}.js";`,
    "",
    `test("${name}", () => {`,
    `  assert.equal(${call}, ${expected});`,
    "});",
    "",
  ].join("\n");

const TASKS: DemoTask[] = [
  {
    title: "Add multiply",
    body: () =>
      "Add `multiply(a, b)` to src/multiply.js (an ES module), with a test in test/multiply.test.js.",
    steps: [
      {
        files: {
          "src/multiply.js": "export function multiply(a, b) {\n  return a * b;\n}\n",
          "test/multiply.test.js": test("multiply", "multiply", "multiply(4, 5)", "20"),
        },
        say: "Added multiply() with a test.",
      },
    ],
  },
  {
    title: "Add subtract",
    body: () =>
      "Add `subtract(a, b)` to src/subtract.js (an ES module), with a test in test/subtract.test.js.",
    steps: [
      {
        files: {
          "src/subtract.js": "export function subtract(a, b) {\n  return a - b;\n}\n",
          "test/subtract.test.js": test("subtract", "subtract", "subtract(5, 3)", "2"),
        },
        say: "Added subtract() with a test.",
      },
    ],
  },
  {
    title: "Add negate",
    body: ([, subtract]) =>
      `Add \`negate(a)\` to src/negate.js, built on \`subtract\` from src/subtract.js, with a test in test/negate.test.js.\n\nDepends on #${subtract}`,
    steps: [
      {
        files: {
          "src/negate.js":
            'import { subtract } from "./subtract.js";\n\nexport function negate(a) {\n  return subtract(0, a);\n}\n',
          "test/negate.test.js": test("negate", "negate", "negate(4)", "-4"),
        },
        say: "Added negate() on top of subtract().",
      },
    ],
  },
];

class UsageError extends Error {}

function usage(message = ""): never {
  throw new UsageError(message);
}

const USAGE =
  "Usage: npm run demo [-- --agent <claude|codex|gemini|aider|opencode>] [-- --deadline <seconds>]\n";

function parseArgs(argv: string[]): { agent?: string; deadlineSeconds?: number } {
  const out: { agent?: string; deadlineSeconds?: number } = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--agent") out.agent = argv[++i] ?? usage("--agent needs a name");
    else if (arg === "--deadline") {
      const seconds = Number(argv[++i]);
      if (!Number.isFinite(seconds) || seconds <= 0) usage("--deadline needs a number of seconds");
      out.deadlineSeconds = seconds;
    } else if (arg === "-h" || arg === "--help") usage();
    else usage(`unknown argument ${arg}`);
  }
  return out;
}

/** The agent CLI's path: node_modules/.bin first, then PATH. */
function findProgram(name: string): string | undefined {
  const dirs = [join(REPO_ROOT, "node_modules/.bin"), ...(process.env.PATH ?? "").split(delimiter)];
  for (const dir of dirs) {
    if (dir === "") continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // Not here.
    }
  }
  return undefined;
}

let started = performance.now();
function say(text: string): void {
  const seconds = ((performance.now() - started) / 1000).toFixed(1).padStart(5);
  process.stdout.write(`[${seconds}s] ${text}\n`);
}

const STATE_LABELS: Record<string, string> = {
  "agent:waiting": "waiting (for its dependencies)",
  "agent:queued": "queued",
  "agent:working": "working (a runner's agent holds it)",
  "agent:checks": "checks (PR open, waiting for CI)",
  "agent:review": "review",
  "agent:done": "done",
  "agent:blocked": "blocked",
};

function stateOf(view: IssueView): string | undefined {
  return view.labels.find((label) => label in STATE_LABELS);
}

/** Prints what changed between two views of an issue, as a maintainer would see it on GitHub. */
function tell(before: IssueView | undefined, now: IssueView): void {
  const who = `#${now.number} ${now.title}:`;
  const state = stateOf(now);
  if (state !== undefined && state !== (before === undefined ? undefined : stateOf(before)))
    say(`${who} label ${state} - ${STATE_LABELS[state]}`);
  if (now.column !== undefined && now.column !== before?.column)
    say(`${who} card moved to ${now.column}`);
  const pull = now.pull;
  const was = before?.pull;
  if (pull !== undefined) {
    if (was === undefined || was.number !== pull.number)
      say(
        `${who} kanbot opened ${pull.draft ? "draft " : ""}PR #${pull.number} from ${pull.head} (Closes #${now.number})`,
      );
    if (was !== undefined && was.headSha !== pull.headSha && was.number === pull.number)
      say(`${who} PR #${pull.number} has a new head ${pull.headSha.slice(0, 7)}`);
    const done = pull.checks.filter((check) => !/=(queued|in_progress)$/.test(check));
    const wasDone = (was?.headSha === pull.headSha ? was.checks : []).filter(
      (check) => !/=(queued|in_progress)$/.test(check),
    );
    for (const check of done)
      if (!wasDone.includes(check))
        say(`${who} check ${check.replace("=", ": ")} on ${pull.headSha.slice(0, 7)}`);
    if (was?.draft === true && !pull.draft)
      say(`${who} kanbot marked PR #${pull.number} ready for review`);
    for (const reviewer of pull.reviewers)
      if (!(was?.reviewers ?? []).includes(reviewer))
        say(`${who} kanbot requested a review from @${reviewer}`);
    if (pull.merged && was?.merged !== true) say(`${who} PR #${pull.number} merged`);
  }
  if (now.state === "closed" && before?.state !== "closed") say(`${who} issue closed`);
}

/** Runs the demo; resolves with the exit code. */
export async function demoMain(argv: string[]): Promise<number> {
  started = performance.now();
  let args: ReturnType<typeof parseArgs>;
  try {
    args = parseArgs(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    if (error.message !== "") process.stderr.write(`demo: ${error.message}\n`);
    process.stderr.write(USAGE);
    return error.message === "" ? 0 : 2;
  }
  const agent = args.agent;
  let agentsYaml: string | undefined;
  let files = SAMPLE_FILES;
  const runnerEnv: Record<string, string> = {};
  if (agent !== undefined) {
    if (!BUILT_IN_AGENTS.includes(agent)) {
      process.stderr.write(
        `demo: unknown agent "${agent}"; one of ${BUILT_IN_AGENTS.join(", ")}\n${USAGE}`,
      );
      return 2;
    }
    const program = findProgram(agent);
    if (program === undefined) {
      process.stderr.write(
        `demo: the ${agent} CLI is not installed (not in node_modules/.bin nor on PATH); install it and log it in, or run npm run demo without --agent for the scripted fake agent\n`,
      );
      return 2;
    }
    const credentials = AGENT_CREDENTIALS[agent] ?? [];
    for (const name of credentials) {
      const value = process.env[name];
      if (value !== undefined) runnerEnv[name] = value;
    }
    agentsYaml = [
      `  ${agent}:`,
      `    command: ${JSON.stringify(program)}`,
      `    credentials: [${credentials.join(", ")}]`,
      "    timeoutMinutes: 10",
      "",
    ].join("\n");
    files = {
      ...SAMPLE_FILES,
      ".github/kanbot.yml": SAMPLE_FILES[".github/kanbot.yml"]?.replace(
        "default: fake",
        `default: ${agent}`,
      ) as string,
    };
    say(`agent: ${agent} (${program}); credentials passed when set: ${credentials.join(", ")}`);
  }
  const deadlineMs = (args.deadlineSeconds ?? (agent === undefined ? 110 : 900)) * 1000;

  // Ctrl-C (SIGINT) and SIGTERM stop the runner (its agents die with its sandbox), the app and
  // the simulator, then exit; a signal during start-up stops them as soon as they are up.
  let signalled: NodeJS.Signals | undefined;
  let e2e: E2E | undefined;
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => (stopping ??= e2e?.stop() ?? Promise.resolve());
  const onSignal = (signal: NodeJS.Signals): void => {
    if (signalled !== undefined) return;
    signalled = signal;
    say(`${signal}: stopping the runner, the app and the simulator...`);
    if (e2e !== undefined) void stop().then(() => process.exit(exitCodeFor(signal)));
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  // Whoever started the demo is gone (a shell between npm and node that a signal killed): stop too.
  const parent = process.ppid;
  const orphaned = setInterval(() => {
    if (process.ppid !== parent) onSignal("SIGTERM");
  }, 500);
  orphaned.unref();

  say("starting the GitHub simulator, the kanbot app server and one runner...");
  try {
    e2e = await startE2E({
      ...(agentsYaml === undefined ? {} : { agentsYaml }),
      files,
      runnerEnv,
    });
  } catch (error) {
    process.stderr.write(`demo: could not start: ${(error as Error).message}\n`);
    return 1;
  }
  if (signalled !== undefined) {
    await stop();
    return exitCodeFor(signalled);
  }

  try {
    say(`GitHub simulator at ${e2e.sim.url} (GitHub Enterprise layout: REST /api/v3, GraphQL)`);
    say(`kanbot app at ${e2e.appUrl} (SQLite in a temporary folder), runner "runner-1" registered`);
    say(
      `repository ${REPO}: a tiny ES module with a node --test suite; CI runs it on every push as the required check "test"`,
    );

    const numbers: number[] = [];
    for (const task of TASKS) {
      if (agent === undefined) e2e.script(task.title, task.steps);
      const number = await e2e.fileIssue(task.title, task.body(numbers));
      numbers.push(number);
      const depends = /Depends on (#\d+)/.exec(task.body(numbers))?.[1];
      say(
        `@${MAINTAINER} filed #${number} "${task.title}"${depends === undefined ? "" : ` (body says: Depends on ${depends})`}`,
      );
    }
    for (const number of numbers) {
      await e2e.maintainer.labelIssue(REPO, number, "agent:ready");
      say(`@${MAINTAINER} labeled #${number} agent:ready`);
    }

    const views = new Map<number, IssueView>();
    const merged = new Set<number>();
    const deadline = performance.now() + deadlineMs;
    for (;;) {
      await e2e.sim.idle();
      for (const number of numbers) {
        const now = e2e.issue(number);
        const before = views.get(number);
        tell(before, now);
        views.set(number, now);
        const beforeState = before === undefined ? undefined : stateOf(before);
        const state = stateOf(now);
        if (
          beforeState === "agent:working" &&
          (state === "agent:queued" || state === "agent:blocked")
        ) {
          // The progress comment is edited after the label: wait for the failure's timeline line.
          const timeline = () =>
            (e2e.botComments(number).at(-1) ?? "")
              .split("\n")
              .filter((line) => line.startsWith("- `"));
          await e2e
            .waitFor("the failure in the progress comment", () => timeline().length > 2, {
              timeoutMs: 10_000,
            })
            .catch(() => undefined);
          const lastLines = timeline().slice(2);
          throw new DemoFailure(
            `the ${agent ?? "fake"} agent's job on #${number} failed${agent === undefined ? "" : ` (is the ${agent} CLI logged in, or its API key (${(AGENT_CREDENTIALS[agent] ?? []).join(" or ")}) set?)`}; kanbot's progress comment says:\n  ${lastLines.join("\n  ")}`,
          );
        }
        if (state === "agent:blocked")
          throw new DemoFailure(`#${number} is blocked; see its progress comment`);
        // The maintainer reviews once kanbot has moved the PR to review.
        const pull = now.pull;
        if (
          state === "agent:review" &&
          now.column === "In review" &&
          pull !== undefined &&
          !pull.draft &&
          pull.state === "open" &&
          !merged.has(pull.number)
        ) {
          merged.add(pull.number);
          await e2e.maintainer.approve(REPO, pull.number, "Looks good to me.");
          say(`@${MAINTAINER} approved PR #${pull.number}`);
          await e2e.maintainer.merge(REPO, pull.number);
          say(`@${MAINTAINER} merged PR #${pull.number} into main`);
        }
      }
      const finished = numbers.every((number) => {
        const view = views.get(number);
        return view !== undefined && stateOf(view) === "agent:done" && view.column === "Done";
      });
      if (finished) break;
      if (performance.now() > deadline)
        throw new DemoFailure(
          `not every task was done within ${deadlineMs / 1000} s\n${e2e.describe()}\n${e2e.logs(30)}`,
        );
      await new Promise((resolve) => setTimeout(resolve, 100));
    }

    if (e2e.sim.violations.length > 0)
      throw new DemoFailure(
        `the app made requests GitHub would refuse or not understand: ${JSON.stringify(e2e.sim.violations)}`,
      );
    process.stdout.write("\nThe board now:\n");
    for (const number of numbers) process.stdout.write(`${formatIssueView(e2e.issue(number))}\n`);
    say(`every task is done: ${numbers.length} issues closed by merged PRs, cards in Done`);
    return 0;
  } catch (error) {
    // Stopped by a signal: what failed meanwhile is the stop itself, not the demo.
    if (signalled !== undefined) return exitCodeFor(signalled);
    if (error instanceof DemoFailure) {
      process.stderr.write(`demo failed: ${error.message}\n`);
      return 1;
    }
    process.stderr.write(
      `demo failed: ${(error as Error).stack ?? String(error)}\n${e2e.describe()}\n${e2e.logs(30)}\n`,
    );
    return 1;
  } finally {
    await stop();
    clearInterval(orphaned);
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}

/** The shell's convention: 128 + the signal's number. */
function exitCodeFor(signal: NodeJS.Signals): number {
  return signal === "SIGINT" ? 130 : 143;
}

class DemoFailure extends Error {}
