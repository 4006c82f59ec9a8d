/**
 * The shape every agent adapter has: it builds a command line (argv + environment) for one job and
 * parses what the CLI prints into a result. Adapters are pure; running is `runAgent`'s job.
 */
import type { StopReason } from "../process/errors.js";
import type { OutputStream } from "../process/output.js";
import type { AgentFailure } from "./failure-class.js";
import type { AgentSpend } from "./usage.js";

/** What one run of an agent is asked to do, and where. */
export interface AgentInvocation {
  /** The full prompt (from `buildPrompt`). */
  prompt: string;
  /** The same prompt written to a file outside the worktree (CLIs that read a file or stdin). */
  promptFile: string;
  /** The job's worktree: the agent's working directory. */
  workdir: string;
  /** The CLI's session id from an earlier job of the same task, to continue that conversation. */
  sessionId?: string;
  /** What the job may still spend, in US dollars (passed on to CLIs that can enforce it). */
  maxBudgetUsd?: number;
}

/** Per-agent settings from the runner's config file (`kanbot-runner.yml`, `agents:`). */
export interface AgentConfig {
  /** The program to run instead of the adapter's default (`claude`, `codex`…): a path or a name on PATH. */
  command?: string;
  /** For the generic `command` adapter: the arguments, with `{prompt}`, `{promptFile}`, `{workdir}`. */
  args?: readonly string[];
  /** Extra arguments appended to the adapter's own (built-in adapters). */
  extraArgs?: readonly string[];
  /** The model, for CLIs that take one. */
  model?: string;
  /** Names of runner environment variables to pass through (besides the base allowlist). */
  envAllow?: readonly string[];
  /** Credential variables to pass through although their names look secret (the agent's API key). */
  credentials?: readonly string[];
  /** Variables set for the agent. */
  env?: Readonly<Record<string, string>>;
  /** Claude Code: tools allowed without asking (default: see the adapter). */
  allowedTools?: readonly string[];
  /** Codex: sandbox mode (`workspace-write` by default; `danger-full-access` where the sandbox cannot start). */
  sandbox?: "read-only" | "workspace-write" | "danger-full-access";
  /** Gemini CLI: approval mode (`yolo` by default). */
  approvalMode?: "default" | "auto_edit" | "yolo";
}

/** The command line an adapter built. */
export interface AgentCommand {
  command: string;
  args: string[];
  /** Variables to set (merged over the allowlisted environment). */
  env: Record<string, string>;
  /** Runner variables to pass through, besides the base allowlist. */
  envAllow: string[];
  /** Credential variables to pass through (their names look secret). */
  credentials: string[];
  /** A file to feed on stdin (the prompt, for CLIs that read it there). */
  stdinFile?: string;
}

/** What the runner learns from an agent's run. */
export interface AgentResult {
  success: boolean;
  /** The agent's own account of what it did (its final message), for the PR body and the log. */
  summary: string;
  costUsd?: number;
  /** The CLI's session id, for a follow-up job on the same branch. */
  sessionId?: string;
  /** Why it failed, in the CLI's words where it gave any. */
  error?: string;
  /** A failed run's class (auth, quota, transient, task) and the CLI's message behind it. */
  failure?: AgentFailure;
}

/** How the process ended, as the parser needs it. */
export interface AgentExit {
  exitCode: number | null;
  signal: string | null;
  reason: StopReason;
  /** The last lines of stderr (redacted). */
  stderrTail: string;
}

/** Reads one run's output line by line; keeps only what the result needs. */
export interface AgentOutputParser {
  line(line: string, stream: OutputStream): void;
  finish(exit: AgentExit): AgentResult;
  /**
   * What the run has spent so far, as its output reported it (tokens or dollars), for the hard
   * USD budget (runner/agents/usage.ts); absent for CLIs that report nothing usable mid-run.
   */
  spend?(): AgentSpend | undefined;
}

export interface AgentAdapter {
  /** The agent's name in config and `use:<name>` labels. */
  readonly name: string;
  /** Whether the CLI can continue an earlier session (`sessionId`). */
  readonly supportsResume: boolean;
  buildCommand(invocation: AgentInvocation, config?: AgentConfig): AgentCommand;
  createParser(): AgentOutputParser;
}
