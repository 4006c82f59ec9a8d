/**
 * Runs one agent for one job:
 * 1. the adapter builds the command line for this invocation and config;
 * 2. the environment is built from the allowlist (never a GitHub token), marked with the job id;
 * 3. the command runs under the job's limits, inside the job's sandbox (runner/sandbox/), output
 *    redacted, parsed line by line, logged capped;
 * 4. the parser turns the output and the exit into the result.
 */
import type { Logger } from "pino";

import { buildChildEnv } from "../process/env.js";
import type { OutputStream } from "../process/output.js";
import { runCommand, type RunLimits, type RunResult } from "../process/run-command.js";
import type { CommandSandbox } from "../sandbox/types.js";
import type { AgentAdapter, AgentConfig, AgentInvocation, AgentResult } from "./types.js";

export interface AgentRunOptions {
  jobId: string;
  adapter: AgentAdapter;
  invocation: AgentInvocation;
  config?: AgentConfig;
  limits: RunLimits;
  /** The runner's environment, to pick allowlisted variables from (default `process.env`). */
  sourceEnv?: Readonly<Record<string, string | undefined>>;
  /** Values to redact from the log and the result (job token, configured secrets). */
  secrets?: readonly string[];
  signal?: AbortSignal;
  /** The job's sandbox; without one the agent runs as the runner's user, unconfined. */
  sandbox?: CommandSandbox;
  /** Redacted, capped log text for the app. */
  onLog?: (text: string, stream: OutputStream) => void;
  log?: Logger;
}

export interface AgentRunResult extends AgentResult {
  run: RunResult;
}

export async function runAgent(options: AgentRunOptions): Promise<AgentRunResult> {
  const log = options.log?.child({ jobId: options.jobId, agent: options.adapter.name });

  // 1. command line
  const invocation =
    options.adapter.supportsResume || options.invocation.sessionId === undefined
      ? options.invocation
      : { ...options.invocation, sessionId: undefined };
  const command = options.adapter.buildCommand(invocation, options.config);

  // 2. environment
  const env = buildChildEnv({
    source: options.sourceEnv ?? process.env,
    allow: command.envAllow,
    credentials: command.credentials,
    set: command.env,
    jobId: options.jobId,
  });

  // 3. run
  const parser = options.adapter.createParser();
  log?.info({ command: command.command, args: command.args.length }, "starting agent");
  const run = await runCommand({
    command: command.command,
    args: command.args,
    cwd: invocation.workdir,
    env,
    limits: options.limits,
    stdinFile: command.stdinFile,
    signal: options.signal,
    secrets: options.secrets,
    onLine: (line, stream) => parser.line(line, stream),
    onLog: options.onLog,
    log,
    ...(options.sandbox !== undefined ? { sandbox: options.sandbox } : {}),
  });

  // 4. result
  const result = parser.finish({
    exitCode: run.exitCode,
    signal: run.signal,
    reason: run.reason,
    stderrTail: run.stderrTail,
  });
  if (result.success)
    log?.info({ exitCode: run.exitCode, costUsd: result.costUsd }, "agent finished");
  else log?.warn({ exitCode: run.exitCode, reason: run.reason }, "agent exited with failure");
  return { ...result, run };
}
