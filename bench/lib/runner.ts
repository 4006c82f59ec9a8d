/**
 * A real runner process (`kanbot-runner start`, runner/cli.ts through tsx) working for a BenchApp,
 * with a `command` agent.
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { stringify } from "yaml";
import { AGENT, registerRunner, ROOT, type BenchApp } from "./app.js";

export interface BenchRunner {
  child: ChildProcess;
  workDir: string;
  output(): string;
  stop(): Promise<void>;
}

export interface RunnerOptions {
  name: string;
  concurrency: number;
  /** The agent: a program and its arguments (`{workdir}`, `{promptFile}` are replaced). */
  command: string;
  args: string[];
  /** Node flags for the runner process (e.g. `--cpu-prof`). */
  nodeFlags?: string[];
  /**
   * Put a `git` first on the runner's PATH that appends its arguments (and the time it took) to
   * this file and runs the real git: counts the runner's git commands.
   */
  gitLog?: string;
}

export async function startRunner(app: BenchApp, options: RunnerOptions): Promise<BenchRunner> {
  const token = await registerRunner(app, options.name, [AGENT]);
  const home = path.join(app.dir, "runners", options.name);
  const workDir = path.join(home, "work");
  mkdirSync(workDir, { recursive: true });
  const configFile = path.join(home, "kanbot-runner.yml");
  writeFileSync(
    configFile,
    stringify({
      appUrl: app.url,
      token,
      name: options.name,
      concurrency: options.concurrency,
      workDir,
      keepFailedWorktreesHours: 0,
      logLevel: "warn",
      agents: {
        [AGENT]: { adapter: "command", command: options.command, args: options.args },
      },
    }),
    { mode: 0o600 },
  );
  let pathPrefix = "";
  if (options.gitLog !== undefined) {
    const realGit = execFileSync("sh", ["-c", "command -v git"], { encoding: "utf8" }).trim();
    const shimDir = path.join(home, "git-shim");
    mkdirSync(shimDir, { recursive: true });
    writeFileSync(
      path.join(shimDir, "git"),
      [
        "#!/bin/sh",
        "start=$(date +%s%N)",
        `${JSON.stringify(realGit)} "$@"`,
        "code=$?",
        `echo "$(( ($(date +%s%N) - start) / 1000000 )) $(printf '%s ' "$@" | tr '\\n' ' ')" >> ${JSON.stringify(options.gitLog)}`,
        "exit $code",
        "",
      ].join("\n"),
      { mode: 0o755 },
    );
    pathPrefix = `${shimDir}:`;
  }
  const tsx = pathToFileURL(path.join(ROOT, "node_modules/tsx/dist/esm/index.mjs")).href;
  const child = spawn(
    process.execPath,
    [
      ...(options.nodeFlags ?? []),
      "--import",
      tsx,
      path.join(ROOT, "runner/cli.ts"),
      "start",
      "--config",
      configFile,
    ],
    {
      cwd: home,
      env: {
        PATH: `${pathPrefix}${process.env.PATH ?? ""}`,
        HOME: home,
        GIT_CONFIG_NOSYSTEM: "1",
      },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  const killChild = () => child.kill("SIGKILL");
  process.once("exit", killChild);
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
  return {
    child,
    workDir,
    output: () => output,
    async stop() {
      process.removeListener("exit", killChild);
      if (child.exitCode !== null) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Real issues in the simulator, queued as tasks for AGENT directly in the store (no webhook). */
export async function queueTasks(app: BenchApp, count: number, title: string): Promise<number[]> {
  const actor = app.sim.actAs("maintainer");
  const issues: number[] = [];
  for (let i = 0; i < count; i++) {
    const number = await actor.createIssue("octo-org/widgets", { title: `${title} ${i + 1}` });
    const { task } = await app.store.upsertTask({
      repo: "octo-org/widgets",
      installationId: app.installationId,
      issueNumber: number,
      title: `${title} ${i + 1}`,
      body: "Benchmark task.",
      state: "queued",
      agent: AGENT,
      budget: { attempts: 3, minutes: 60, usd: 10 },
    });
    await app.store.enqueueJob({ taskId: task.id, kind: "implement" });
    issues.push(number);
  }
  return issues;
}
