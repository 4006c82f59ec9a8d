/**
 * The end-to-end harness: the GitHub simulator (test/simulator/) in this process, the **real**
 * kanbot app server (`src/cli.ts start`) and **real** runners (`runner/cli.ts start`) as child
 * processes, and a scripted fake agent (test/fixtures/agents/fake-agent.mjs, mode `scripted`).
 * Nothing in src/ knows about the simulator: the app reaches it through GHE_HOST/GHE_PROTOCOL,
 * runners through the clone URL the app hands out.
 *
 * ```ts
 * const e2e = await startE2E();                      // simulator + app + one runner "runner-1"
 * e2e.script("Add multiply", [{ files: { "src/math.js": "…" } }]); // what the agent does
 * const issue = await e2e.fileIssue("Add multiply", "Body");      // as the maintainer
 * await e2e.maintainer.labelIssue(e2e.repo, issue, "agent:ready");
 * await e2e.waitFor("the PR is in review", () => e2e.hasLabel(issue, "agent:review"));
 * const pr = e2e.pullFor(issue);                      // kanbot's PR (head kanbot/<issue>-…)
 * await e2e.maintainer.approve(e2e.repo, pr!.number);
 * expect(e2e.sim.violations).toEqual([]);
 * await e2e.stop();                                   // always, in afterAll: kills process groups
 * ```
 *
 * - The sample repository `octo-org/widgets` (`SAMPLE_FILES`) is a tiny ES module with a real
 *   `node --test` suite; the simulated CI runs it on every push (`.simulator-ci`) as the check
 *   `test`, which a ruleset on `main` requires. `.github/kanbot.yml` (`SAMPLE_KANBOT_YML`) makes
 *   the runner's `fake` agent the default and mirrors states on org project 1 ("Board").
 * - `script(text, steps)` tells the fake agent what to do for a prompt containing `text` (use the
 *   issue title): step n is used for the n-th job on it (the last one repeats), so a test can make
 *   a first attempt fail CI and a fix-checks job repair it.
 * - `waitFor(what, predicate)` polls GitHub-visible state (after `sim.idle()`) until `predicate`
 *   holds; after the deadline it throws with `what`, every issue's labels, card and PR, and the
 *   tails of the app's and runners' logs. Assertions go on the state afterwards.
 * - `startRunner(name)`, `killRunner(name, signal?)` for runner scenarios; `logs()` for the
 *   processes' output (whole logs in `e2e.dir/logs/<app|runner>.log`). Everything lives under
 *   `e2e.dir` (removed by `stop()`, kept when `KANBOT_E2E_KEEP=1`).
 *
 * Git in tests must be asynchronous: the simulator answers git in this process.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { generateKeyPairSync, randomBytes } from "node:crypto";
import {
  createWriteStream,
  mkdirSync,
  mkdtempSync,
  rmSync,
  writeFileSync,
  type WriteStream,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

import type { FileTree } from "../helpers/git-repos.js";
import {
  startSimulator,
  type Actor,
  type LimitsOption,
  type Simulator,
} from "../simulator/index.js";
import { branchSha } from "../simulator/git.js";
import type { SimPull } from "../simulator/state.js";
import { freePort } from "../helpers/kanbot-process.js";

export { freePort };

export const REPO_ROOT = resolve(import.meta.dirname, "../..");
export const FAKE_AGENT = join(REPO_ROOT, "test/fixtures/agents/fake-agent.mjs");
/** The agents' scripts; shown read-only in every runner's sandbox. */
const FIXTURES = join(REPO_ROOT, "test/fixtures");
const TSX = join(REPO_ROOT, "node_modules/tsx/dist/esm/index.mjs");

export const ORG = "octo-org";
export const REPO_NAME = "widgets";
export const REPO = `${ORG}/${REPO_NAME}`;
export const MAINTAINER = "maintainer";
export const APP_ID = 4242;
export const PROJECT_NUMBER = 1;
export const BOARD_COLUMNS = ["Todo", "Ready", "In progress", "In review", "Done", "Blocked"];

/** `.github/kanbot.yml` of the sample repository. */
export const SAMPLE_KANBOT_YML = `agents:
  default: fake
board:
  project: ${PROJECT_NUMBER}
`;

/** The sample repository: a tiny ES module and its `node --test` suite, run by the simulated CI. */
export const SAMPLE_FILES: FileTree = {
  "README.md": "# widgets\n\nA tiny math module kanbot's agents work on.\n",
  "package.json": `${JSON.stringify({ name: "widgets", private: true, type: "module", scripts: { test: "node --test" } }, null, 2)}\n`,
  "src/math.js": "export function add(a, b) {\n  return a + b;\n}\n",
  "test/math.test.js": [
    'import assert from "node:assert/strict";',
    'import { test } from "node:test";',
    'import { add } from "../src/math.js";',
    "",
    'test("add", () => {',
    "  assert.equal(add(2, 3), 5);",
    "});",
    "",
  ].join("\n"),
  ".simulator-ci": "node --test\n",
  ".github/kanbot.yml": SAMPLE_KANBOT_YML,
};

/** One run of the fake agent: files to write (null deletes), the summary line, the exit code. */
export interface AgentStep {
  files?: Record<string, string | null>;
  say?: string;
  exit?: number;
  /** Wait after printing until killed (or until the runner that started it is gone). */
  hang?: boolean;
  /** Texts written before `say`, one at a time, 100 ms apart (a token split across writes). */
  print?: string[];
  /** A line written to stderr (a failing agent's error text). */
  stderr?: string;
  /** Writes this file in the worktree first: `{ agent, run, seen }`, `seen` holding `look`'s files. */
  report?: string;
  /** Worktree paths whose content (or null) the `report` records. */
  look?: string[];
  /** Writes the prompt the agent got to this worktree path. */
  prompt?: string;
}

export interface E2EOptions {
  /** The sample repository's files (default `SAMPLE_FILES`). */
  files?: FileTree;
  /** Checks a ruleset on `main` requires (default `["test"]`, the simulated CI's check). */
  requiredChecks?: string[];
  /** Runners started at once, named `runner-1`… (default 1). */
  runners?: number;
  /** The app's lease, in seconds (default 30): a killed runner's job is requeued after it. */
  leaseSeconds?: number;
  /** The app's log level (default `info`). */
  logLevel?: string;
  /** Prints every line of the app and runners as it comes (default `KANBOT_E2E_VERBOSE=1`). */
  verbose?: boolean;
  /**
   * Runner agents, as `agents:` YAML of kanbot-runner.yml (default: the scripted fake agent);
   * `{scriptFile}` in it becomes the (quoted) path of the file `script()` writes.
   */
  agentsYaml?: string;
  /** Extra environment for runner processes (e.g. an agent's API key). */
  runnerEnv?: Record<string, string>;
  /** Extra environment for the app process (e.g. `KANBOT_INBOX_HOLD_SECONDS`). */
  appEnv?: Record<string, string>;
  /** Extra top-level lines of every kanbot-runner.yml (e.g. `copyFrom:`), before `agents:`. */
  runnerYaml?: string;
  /**
   * GitHub's rate limits on the simulator (default off: requests are counted, none refused);
   * `true` for GitHub's published limits, or some of them changed. See docs/testing.md.
   */
  limits?: LimitsOption;
  /** The board's Status columns (default `BOARD_COLUMNS`). */
  boardColumns?: string[];
}

export interface RunnerProcess {
  name: string;
  dir: string;
  configFile: string;
  child: ChildProcess;
  /** Resolves with the exit code (or the signal's name) when the process ends. */
  exited: Promise<number | string>;
}

/** The latest state of one issue as GitHub shows it, for messages and the demo's story. */
export interface IssueView {
  number: number;
  title: string;
  state: "open" | "closed";
  labels: string[];
  column: string | undefined;
  pull?: {
    number: number;
    state: "open" | "closed";
    draft: boolean;
    merged: boolean;
    head: string;
    headSha: string;
    reviewers: string[];
    checks: string[];
  };
}

export interface E2E {
  sim: Simulator;
  /** `octo-org/widgets`. */
  repo: string;
  /** The maintainer (`maintain` permission) acting on the simulator. */
  maintainer: Actor;
  /** The app's base URL (webhooks at /api/github/webhooks, runner API at /api/v1). */
  appUrl: string;
  /** The app's environment, for starting another replica of it (test/chaos/replicas.test.ts). */
  appEnv: Readonly<Record<string, string>>;
  /** The temporary folder holding the database, the runners, the script and the logs. */
  dir: string;
  runners: Map<string, RunnerProcess>;
  /** What the fake agent does for prompts containing `text`: step n for its n-th job. */
  script(text: string, steps: AgentStep[]): void;
  /** Files an issue as the maintainer; returns its number. */
  fileIssue(title: string, body?: string): Promise<number>;
  /** Registers (`kanbot runners add` + `kanbot-runner register`) and starts a runner. */
  startRunner(name: string): Promise<RunnerProcess>;
  /** Starts an already registered runner again. */
  restartRunner(name: string): RunnerProcess;
  /** Kills the app's process group (SIGKILL by default: a crash) and waits for it to end. */
  killApp(signal?: NodeJS.Signals): Promise<void>;
  /** Starts the app again (same database and settings) and waits until it answers /ping. */
  startApp(): Promise<void>;
  /** Kills a runner's process group (SIGKILL by default: a crash) and waits for it to end. */
  killRunner(name: string, signal?: NodeJS.Signals): Promise<void>;
  /** Polls until `predicate` holds; throws with the state and log tails after `timeoutMs`. */
  waitFor(
    what: string,
    predicate: () => boolean | Promise<boolean>,
    options?: { timeoutMs?: number },
  ): Promise<void>;
  /** Whether the repository has the branch (asynchronous git, as the simulator serves it). */
  branchExists(branch: string): Promise<boolean>;
  issue(number: number): IssueView;
  hasLabel(number: number, label: string): boolean;
  column(number: number): string | undefined;
  /** kanbot's newest PR for the issue (head branch `kanbot/<number>-…`). */
  pullFor(number: number): SimPull | undefined;
  /** Comments on the issue by kanbot's bot. */
  botComments(number: number): string[];
  /** A readable dump: every issue with labels, card, PR and checks. */
  describe(): string;
  /** The tail of the app's log (and each runner's) as text. */
  logs(lines?: number): string;
  /** Kills every process group, stops the simulator and removes `dir`. Safe to call twice. */
  stop(): Promise<void>;
}

/** Keeps the last lines a process printed, and writes every line to a file. */
class LogTail {
  readonly lines: string[] = [];
  private partial = "";
  private readonly file: WriteStream;
  constructor(
    readonly name: string,
    private readonly verbose: boolean,
    dir: string,
    private readonly max = 400,
  ) {
    mkdirSync(join(dir, "logs"), { recursive: true });
    this.file = createWriteStream(join(dir, "logs", `${name}.log`), { flags: "a" });
  }

  attach(child: ChildProcess): void {
    child.stdout?.setEncoding("utf8").on("data", (chunk: string) => this.add(chunk));
    child.stderr?.setEncoding("utf8").on("data", (chunk: string) => this.add(chunk));
  }

  private add(chunk: string): void {
    const parts = (this.partial + chunk).split("\n");
    this.partial = parts.pop() ?? "";
    for (const line of parts) {
      this.file.write(`${line}\n`);
      const readable = readableLogLine(line);
      if (this.verbose)
        process.stderr.write(
          `${(performance.now() / 1000).toFixed(1).padStart(6)} [${this.name}] ${readable}\n`,
        );
      this.lines.push(readable);
      if (this.lines.length > this.max) this.lines.shift();
    }
  }

  close(): Promise<void> {
    return new Promise((done) => this.file.end(done));
  }

  tail(count: number): string {
    return this.lines.slice(-count).join("\n");
  }
}

/** A pino JSON line as `level msg key=value…`; other lines as they are. */
export function readableLogLine(line: string): string {
  if (!line.startsWith("{")) return line;
  try {
    const entry = JSON.parse(line) as Record<string, unknown>;
    const { level, msg, time, pid, hostname, name, err, ...rest } = entry;
    void time;
    void pid;
    void hostname;
    const levelName =
      typeof level === "number"
        ? ({ 10: "TRACE", 20: "DEBUG", 30: "INFO", 40: "WARN", 50: "ERROR", 60: "FATAL" }[level] ??
          String(level))
        : String(level);
    const error =
      typeof err === "object" && err !== null && "message" in err
        ? ` err=${String((err as { message: unknown }).message)}`
        : "";
    const facts = Object.entries(rest)
      .filter(([, value]) => typeof value !== "object" || value === null)
      .map(([key, value]) => `${key}=${String(value)}`)
      .join(" ");
    return `${levelName} ${typeof name === "string" ? `${name}: ` : ""}${String(msg)}${error}${facts === "" ? "" : ` (${facts})`}`;
  } catch {
    return line;
  }
}

interface Spawned {
  child: ChildProcess;
  exited: Promise<number | string>;
}

function spawnTs(
  script: string,
  args: string[],
  options: { cwd: string; env: Record<string, string>; log?: LogTail },
): Spawned {
  const child = spawn(process.execPath, ["--import", TSX, join(REPO_ROOT, script), ...args], {
    cwd: options.cwd,
    env: options.env,
    stdio: ["ignore", "pipe", "pipe"],
    // Its own process group, so stop() can kill what it started (agents, git) with it.
    detached: true,
  });
  options.log?.attach(child);
  const exited = new Promise<number | string>((done) => {
    child.once("exit", (code, signal) => done(code ?? signal ?? "unknown"));
  });
  return { child, exited };
}

/** Runs a command to its end; resolves with its output, rejects with it on a non-zero exit. */
async function runTs(
  script: string,
  args: string[],
  options: { cwd: string; env: Record<string, string> },
): Promise<string> {
  const { child, exited } = spawnTs(script, args, options);
  let out = "";
  child.stdout?.setEncoding("utf8").on("data", (chunk: string) => (out += chunk));
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => (out += chunk));
  const code = await exited;
  if (code !== 0) throw new Error(`${script} ${args.join(" ")} exited ${code}:\n${out}`);
  return out;
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // Already gone.
  }
}

/** The environment child processes start from: this one's, minus what could point elsewhere. */
function baseEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value === undefined) continue;
    if (
      /^(GITHUB_|GH_|KANBOT_|DATABASE_URL$|APP_ID$|PRIVATE_KEY|WEBHOOK_|GHE_|NODE_OPTIONS$)/.test(
        key,
      )
    )
      continue;
    if (key.startsWith("VITEST") || key === "NODE_ENV") continue;
    env[key] = value;
  }
  return env;
}

export async function startE2E(options: E2EOptions = {}): Promise<E2E> {
  const verbose = options.verbose ?? process.env.KANBOT_E2E_VERBOSE === "1";
  const dir = mkdtempSync(join(tmpdir(), "kanbot-e2e-"));
  const scriptFile = join(dir, "agent-script.json");
  const agentScript: Record<string, AgentStep[]> = {};
  writeFileSync(scriptFile, "{}");
  // The fake agent counts its runs here; it must exist to be shown in the sandbox (below).
  writeFileSync(`${scriptFile}.runs.json`, "{}");
  const privateKey = generateKeyPairSync("rsa", {
    modulusLength: 2048,
    privateKeyEncoding: { type: "pkcs1", format: "pem" },
    publicKeyEncoding: { type: "spki", format: "pem" },
  }).privateKey;
  const secret = randomBytes(16).toString("hex");
  const port = await freePort();
  const appUrl = `http://127.0.0.1:${port}`;
  const appLog = new LogTail("app", verbose, dir);
  const runnerLogs = new Map<string, LogTail>();
  const runners = new Map<string, RunnerProcess>();
  let app: Spawned | undefined;
  let sim: Simulator | undefined;
  let stopped = false;

  const appEnv: Record<string, string> = {
    ...baseEnv(),
    APP_ID: String(APP_ID),
    PRIVATE_KEY: privateKey,
    WEBHOOK_SECRET: secret,
    HOST: "127.0.0.1",
    PORT: String(port),
    LOG_LEVEL: options.logLevel ?? "info",
    LOG_FORMAT: "json",
    DATABASE_URL: join(dir, "kanbot.sqlite"),
    KANBOT_PUBLIC_URL: appUrl,
    KANBOT_LEASE_SECONDS: String(options.leaseSeconds ?? 30),
    KANBOT_INBOX_RETRY_BASE_MS: "250",
    KANBOT_INBOX_RETRY_MAX_MS: "2000",
    // Without limits the simulator is like a GitHub Enterprise Server with them off: no write
    // budget. With them on, the app keeps its write budget, as in production.
    ...(options.limits === undefined || options.limits === false
      ? { KANBOT_GITHUB_THROTTLE: "false" }
      : {}),
    ...options.appEnv,
  };

  async function stop(): Promise<void> {
    if (stopped) return;
    stopped = true;
    const ends: Promise<unknown>[] = [];
    for (const runner of runners.values()) {
      killGroup(runner.child, "SIGKILL");
      ends.push(runner.exited);
    }
    if (app !== undefined) {
      killGroup(app.child, "SIGTERM");
      const { child, exited } = app;
      const force = setTimeout(() => killGroup(child, "SIGKILL"), 5000);
      ends.push(exited.finally(() => clearTimeout(force)));
    }
    await Promise.all(ends);
    await Promise.all([appLog, ...runnerLogs.values()].map((log) => log.close()));
    if (sim !== undefined) await sim.stop();
    if (process.env.KANBOT_E2E_KEEP === "1") {
      process.stderr.write(`kanbot e2e: kept ${dir}\n`);
    } else {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  try {
    sim = await startSimulator({
      appId: APP_ID,
      privateKey,
      webhook: { url: `${appUrl}/api/github/webhooks`, secret },
      limits: options.limits ?? false,
      log: (facts, message) => {
        if (verbose || message === message.toUpperCase())
          process.stderr.write(`[simulator] ${message} ${JSON.stringify(facts)}\n`);
      },
    });
    const started = sim;
    // The app reaches the simulator as it reaches GitHub Enterprise Server.
    appEnv.GHE_HOST = sim.host;
    appEnv.GHE_PROTOCOL = "http";
    sim.addOrg(ORG);
    await sim.addRepo({ owner: ORG, name: REPO_NAME, files: options.files ?? SAMPLE_FILES });
    sim.addCollaborator(REPO, MAINTAINER, "maintain");
    sim.install(ORG);
    sim.protectBranch(REPO, "main", { requiredChecks: options.requiredChecks ?? ["test"] });
    sim.addProject(ORG, {
      number: PROJECT_NUMBER,
      title: "Board",
      fields: { Status: options.boardColumns ?? BOARD_COLUMNS },
    });

    let appEnded: number | string | undefined;
    const launchApp = async (): Promise<void> => {
      const launched = spawnTs("src/cli.ts", ["start"], { cwd: dir, env: appEnv, log: appLog });
      app = launched;
      appEnded = undefined;
      void launched.exited.then((code) => {
        if (app === launched) appEnded = code;
      });
      // The app is up when /ping answers.
      const deadline = Date.now() + 60_000;
      for (;;) {
        if (appEnded !== undefined)
          throw new Error(`the app exited (${appEnded}) before it answered:\n${appLog.tail(40)}`);
        const up = await fetch(`${appUrl}/ping`).then(
          (res) => res.ok,
          () => false,
        );
        if (up) break;
        if (Date.now() > deadline)
          throw new Error(`the app did not answer /ping within 60 s:\n${appLog.tail(40)}`);
        await new Promise((done) => setTimeout(done, 100));
      }
    };
    await launchApp();

    const agentsYaml =
      options.agentsYaml?.replaceAll("{scriptFile}", JSON.stringify(scriptFile)) ??
      [
        "  fake:",
        "    adapter: command",
        `    command: ${JSON.stringify(process.execPath)}`,
        `    args: [${JSON.stringify(FAKE_AGENT)}, "--message-file", "{promptFile}"]`,
        "    env:",
        "      FAKE_AGENT_MODE: scripted",
        `      FAKE_AGENT_SCRIPT: ${JSON.stringify(scriptFile)}`,
        "    timeoutMinutes: 2",
        "",
      ].join("\n");

    const runnerEnvFor = (): Record<string, string> => ({
      ...baseEnv(),
      ...options.runnerEnv,
    });

    function launch(name: string): RunnerProcess {
      const runnerDir = join(dir, "runners", name);
      const configFile = join(runnerDir, "kanbot-runner.yml");
      const log = runnerLogs.get(name) ?? new LogTail(name, verbose, dir);
      runnerLogs.set(name, log);
      const spawned = spawnTs("runner/cli.ts", ["start", "--config", configFile], {
        cwd: runnerDir,
        env: runnerEnvFor(),
        log,
      });
      const runner: RunnerProcess = {
        name,
        dir: runnerDir,
        configFile,
        child: spawned.child,
        exited: spawned.exited,
      };
      runners.set(name, runner);
      return runner;
    }

    const e2e: E2E = {
      sim: started,
      repo: REPO,
      maintainer: started.actAs(MAINTAINER),
      appUrl,
      appEnv,
      dir,
      runners,
      script(text, steps) {
        agentScript[text] = steps;
        writeFileSync(scriptFile, JSON.stringify(agentScript, null, 2));
      },
      fileIssue(title, body = "") {
        return started.actAs(MAINTAINER).createIssue(REPO, { title, body });
      },
      async startRunner(name) {
        const runnerDir = join(dir, "runners", name);
        mkdirSync(runnerDir, { recursive: true });
        const configFile = join(runnerDir, "kanbot-runner.yml");
        writeFileSync(
          configFile,
          [
            `appUrl: ${appUrl}`,
            `name: ${name}`,
            `workDir: ${join(runnerDir, "work")}`,
            "shutdownGraceSeconds: 1",
            "keepFailedWorktreesHours: 0",
            // The sandbox hides the rest of /tmp (and the checkout itself, when it lives there, as
            // a fresh clone in CI may): the agents run scripts from test/fixtures, the scripted
            // agent reads its script and counts its runs in these two files of the test's folder.
            `sandboxReadOnly: [${JSON.stringify(scriptFile)}, ${JSON.stringify(FIXTURES)}]`,
            `sandboxWritable: [${JSON.stringify(`${scriptFile}.runs.json`)}]`,
            ...(options.runnerYaml === undefined ? [] : [options.runnerYaml]),
            "agents:",
            agentsYaml,
          ].join("\n"),
        );
        const added = await runTs("src/cli.ts", ["runners", "add", name], {
          cwd: dir,
          env: appEnv,
        });
        const token = /\bkbreg_\S+/.exec(added)?.[0];
        if (token === undefined)
          throw new Error(`kanbot runners add printed no registration token:\n${added}`);
        await runTs("runner/cli.ts", ["register", "--token", token, "--config", configFile], {
          cwd: runnerDir,
          env: runnerEnvFor(),
        });
        return launch(name);
      },
      async killApp(signal = "SIGKILL") {
        const running = app;
        if (running === undefined) return;
        app = undefined;
        killGroup(running.child, signal);
        await running.exited;
      },
      startApp: launchApp,
      restartRunner(name) {
        return launch(name);
      },
      async killRunner(name, signal = "SIGKILL") {
        const runner = runners.get(name);
        if (runner === undefined) throw new Error(`no runner called ${name}`);
        killGroup(runner.child, signal);
        await runner.exited;
      },
      async waitFor(what, predicate, waitOptions = {}) {
        const timeoutMs = waitOptions.timeoutMs ?? 60_000;
        const deadline = Date.now() + timeoutMs;
        for (;;) {
          await started.idle();
          if (await predicate()) return;
          if (appEnded !== undefined)
            throw new Error(
              `while waiting for ${what}: the app exited (${appEnded})\n\n${e2e.describe()}\n\n${e2e.logs()}`,
            );
          if (Date.now() > deadline)
            throw new Error(
              `gave up after ${timeoutMs / 1000} s waiting for ${what}\n\n${e2e.describe()}\n\n${e2e.logs()}`,
            );
          await new Promise((done) => setTimeout(done, 100));
        }
      },
      async branchExists(branch) {
        return (await branchSha(started.state.mustRepo(REPO).gitDir, branch)) !== undefined;
      },
      issue(number) {
        return issueView(started, number);
      },
      hasLabel(number, label) {
        return started.issue(REPO, number).labels.includes(label);
      },
      column(number) {
        return started.cardColumn(REPO, number);
      },
      pullFor(number) {
        return kanbotPull(started, number);
      },
      botComments(number) {
        return started
          .issue(REPO, number)
          .comments.filter((comment) => comment.author.endsWith("[bot]"))
          .map((comment) => comment.body);
      },
      describe() {
        const repo = started.state.mustRepo(REPO);
        const lines = [...repo.issues.values()]
          .filter((issue) => !issue.pullRequest)
          .map((issue) => formatIssueView(issueView(started, issue.number)));
        if (started.violations.length > 0)
          lines.push(`simulator violations: ${JSON.stringify(started.violations)}`);
        return `GitHub now:\n${lines.join("\n")}`;
      },
      logs(count = 40) {
        const parts = [`--- app log (last ${count} lines) ---\n${appLog.tail(count)}`];
        for (const [name, log] of runnerLogs)
          parts.push(`--- ${name} log (last ${count} lines) ---\n${log.tail(count)}`);
        return parts.join("\n");
      },
      stop,
    };
    for (let i = 1; i <= (options.runners ?? 1); i++) await e2e.startRunner(`runner-${i}`);
    return e2e;
  } catch (error) {
    await stop();
    throw error;
  }
}

function kanbotPull(sim: Simulator, number: number): SimPull | undefined {
  const repo = sim.state.mustRepo(REPO);
  const mine = [...repo.pulls.values()].filter((pull) => pull.head.startsWith(`kanbot/${number}-`));
  return mine.at(-1);
}

export function issueView(sim: Simulator, number: number): IssueView {
  const repo = sim.state.mustRepo(REPO);
  const issue = sim.issue(REPO, number);
  const pull = kanbotPull(sim, number);
  const view: IssueView = {
    number,
    title: issue.title,
    state: issue.state,
    labels: [...issue.labels],
    column: sim.cardColumn(REPO, number),
  };
  if (pull !== undefined) {
    view.pull = {
      number: pull.number,
      state: pull.state,
      draft: pull.draft,
      merged: pull.merged,
      head: pull.head,
      headSha: pull.headSha,
      reviewers: [...pull.requestedReviewers],
      checks: repo.checkRuns
        .filter((run) => run.headSha === pull.headSha)
        .map((run) => `${run.name}=${run.conclusion ?? run.status}`),
    };
  }
  return view;
}

export function formatIssueView(view: IssueView): string {
  const pull =
    view.pull === undefined
      ? "no PR"
      : `PR #${view.pull.number} ${view.pull.merged ? "merged" : view.pull.state}${view.pull.draft ? " draft" : ""} head ${view.pull.head}@${view.pull.headSha.slice(0, 7)} checks [${view.pull.checks.join(", ")}] reviewers [${view.pull.reviewers.join(", ")}]`;
  return `  #${view.number} "${view.title}" ${view.state} labels [${view.labels.join(", ")}] card ${view.column ?? "-"}; ${pull}`;
}
