/**
 * Runs one agent for one job:
 * 1. the adapter builds the command line for this invocation and config;
 * 2. the environment is built from the allowlist (never a GitHub token), marked with the job id;
 * 3. the command runs under the job's limits, inside the job's sandbox (runner/sandbox/), output
 *    redacted, parsed line by line, logged capped;
 * 4. the parser turns the output and the exit into the result.
 *
 * The hard USD budget (issue 14, part 3): after each line of output, the run's spending so far
 * (the parser's `spend()`) is priced (runner/agents/usage.ts); once it reaches `budget.maxUsd`
 * the whole process tree is stopped through the same path as a cancel (runCommand's signal:
 * SIGTERM to the tree, SIGKILL after the grace) and the result says so (`budgetStop`). A cost
 * that cannot be known (a model without a price) is reported in `unpriced`, and nothing stops
 * the run for dollars; its time limits still hold.
 */
import type { Logger } from "pino";

import { buildChildEnv } from "../process/env.js";
import type { OutputStream } from "../process/output.js";
import { runCommand, type RunLimits, type RunResult } from "../process/run-command.js";
import type { CommandSandbox } from "../sandbox/types.js";
import type { AgentAdapter, AgentConfig, AgentInvocation, AgentResult } from "./types.js";
import { costOf, formatUsd, type PriceTable, type SpendCost } from "./usage.js";

/** The run's dollar limit and the prices to turn tokens into dollars. */
export interface AgentBudget {
  /** Dollars this run may spend; the tree is stopped when its cost reaches them. */
  maxUsd: number;
  prices: PriceTable;
}

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
  /** The hard USD limit of this run; without one, nothing is stopped for dollars. */
  budget?: AgentBudget;
  log?: Logger;
}

export interface AgentRunResult extends AgentResult {
  run: RunResult;
  /** Set when the runner stopped the agent because its cost reached `budget.maxUsd`. */
  budgetStop?: { spentUsd: number; limitUsd: number; basis: "reported" | "priced"; model?: string };
  /** Why the run's cost is not known (tokens of a model without a price); USD not enforced. */
  unpriced?: string;
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

  // 3. run (stopped by the job's signal, or by the budget's own)
  const parser = options.adapter.createParser();
  const budget = options.budget;
  const overBudget = new AbortController();
  let budgetStop: AgentRunResult["budgetStop"];
  let unpriced: string | undefined;
  const watchSpend = (): void => {
    if (budget === undefined || budgetStop !== undefined || parser.spend === undefined) return;
    const spend = parser.spend();
    if (spend === undefined) return;
    const cost: SpendCost = costOf(spend, budget.prices, options.config?.model);
    if (!cost.known) {
      if (unpriced === undefined) log?.warn({ reason: cost.reason }, "USD budget not enforced");
      unpriced = cost.reason;
      return;
    }
    unpriced = undefined;
    if (cost.usd < budget.maxUsd) return;
    budgetStop = {
      spentUsd: cost.usd,
      limitUsd: budget.maxUsd,
      basis: cost.basis,
      ...(cost.model !== undefined ? { model: cost.model } : {}),
    };
    log?.warn(
      { spentUsd: formatUsd(cost.usd), limitUsd: formatUsd(budget.maxUsd) },
      "agent reached its USD budget; stopping it",
    );
    overBudget.abort();
  };
  const signal =
    options.signal === undefined
      ? overBudget.signal
      : AbortSignal.any([options.signal, overBudget.signal]);
  log?.info({ command: command.command, args: command.args.length }, "starting agent");
  const run = await runCommand({
    command: command.command,
    args: command.args,
    cwd: invocation.workdir,
    env,
    limits: options.limits,
    stdinFile: command.stdinFile,
    signal,
    secrets: options.secrets,
    onLine: (line, stream) => {
      parser.line(line, stream);
      watchSpend();
    },
    onLog: options.onLog,
    log,
    ...(options.sandbox !== undefined ? { sandbox: options.sandbox } : {}),
  });

  // 4. result: a cost the CLI did not give in dollars is the priced one
  watchSpend();
  const result = parser.finish({
    exitCode: run.exitCode,
    signal: run.signal,
    reason: run.reason,
    stderrTail: run.stderrTail,
  });
  const spend = parser.spend?.();
  const priced =
    result.costUsd === undefined && spend !== undefined
      ? costOf(spend, budget?.prices ?? {}, options.config?.model)
      : undefined;
  const costUsd = priced?.known === true ? priced.usd : result.costUsd;
  if (result.success) log?.info({ exitCode: run.exitCode, costUsd }, "agent finished");
  else log?.warn({ exitCode: run.exitCode, reason: run.reason }, "agent exited with failure");
  return {
    ...result,
    ...(costUsd !== undefined ? { costUsd } : {}),
    run,
    ...(budgetStop !== undefined ? { budgetStop } : {}),
    ...(unpriced !== undefined ? { unpriced } : {}),
  };
}
