/**
 * Helpers the adapters share: the parts of a command line every CLI builds the same way, JSON
 * lines, exit descriptions, summaries of plain-text output.
 */
import type {
  AgentCommand,
  AgentConfig,
  AgentExit,
  AgentOutputParser,
  AgentResult,
} from "./types.js";
import type { AgentSpend } from "./usage.js";

/** The longest summary kept from an agent's output. */
export const MAX_SUMMARY_CHARS = 8_000;

/** What an adapter contributes to its command line; `withAgentConfig` adds the config's part. */
export interface AdapterCommand {
  /** The program, unless the config names another (`command`). */
  command: string;
  /** The complete argv, `extraArgs` included where the CLI needs them. */
  args: string[];
  /** The adapter's own variables; the config's `env` is merged over them. */
  env?: Record<string, string>;
  /** The adapter's own pass-through variables; the config's `envAllow` is added. */
  envAllow: readonly string[];
  /** The credentials the CLI reads; the config's `credentials` are added. */
  credentials: readonly string[];
  /** The prompt file, for CLIs that read the prompt on stdin. */
  stdinFile?: string;
}

/** An adapter's command line with the runner config's program, variables and credentials. */
export function withAgentConfig(own: AdapterCommand, config: AgentConfig): AgentCommand {
  return {
    command: config.command ?? own.command,
    args: own.args,
    env: { ...own.env, ...config.env },
    envAllow: [...own.envAllow, ...(config.envAllow ?? [])],
    credentials: [...own.credentials, ...(config.credentials ?? [])],
    ...(own.stdinFile === undefined ? {} : { stdinFile: own.stdinFile }),
  };
}

/** `[flag, value]` for an argv, or nothing when the value is not set. */
export function optionalFlag(flag: string, value: string | undefined): string[] {
  return value === undefined ? [] : [flag, value];
}

/**
 * A parser for CLIs that print one JSON event per line on stdout: `event` sees each event, and
 * stderr, banners and other noise are ignored.
 */
export function jsonEventParser(parser: {
  event(event: Record<string, unknown>): void;
  finish(exit: AgentExit): AgentResult;
  spend?(): AgentSpend | undefined;
}): AgentOutputParser {
  return {
    line(line, stream) {
      if (stream !== "stdout") return;
      const event = parseJsonLine(line);
      if (event !== undefined) parser.event(event);
    },
    finish: (exit) => parser.finish(exit),
    ...(parser.spend === undefined ? {} : { spend: parser.spend }),
  };
}

/** Parses one line of JSONL output into an object; undefined for anything else (banners, noise). */
export function parseJsonLine(line: string): Record<string, unknown> | undefined {
  const trimmed = line.trim();
  if (!trimmed.startsWith("{")) return undefined;
  try {
    const value: unknown = JSON.parse(trimmed);
    return isRecord(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export function stringField(
  object: Record<string, unknown> | undefined,
  key: string,
): string | undefined {
  const value = object?.[key];
  return typeof value === "string" ? value : undefined;
}

export function numberField(
  object: Record<string, unknown> | undefined,
  key: string,
): number | undefined {
  const value = object?.[key];
  return typeof value === "number" && Number.isFinite(value) ? value : undefined;
}

export function recordField(
  object: Record<string, unknown> | undefined,
  key: string,
): Record<string, unknown> | undefined {
  const value = object?.[key];
  return isRecord(value) ? value : undefined;
}

/** Whether the process ended by itself with code 0. */
export function exitedCleanly(exit: AgentExit): boolean {
  return exit.reason === "exit" && exit.exitCode === 0;
}

/** What a person reads when the process itself failed (limits, signals, exit codes). */
export function describeExit(agent: string, exit: AgentExit): string {
  const tail = exit.stderrTail.trim() === "" ? "" : `\n${lastLines(exit.stderrTail, 10)}`;
  switch (exit.reason) {
    case "timeout":
      return `${agent} was stopped: it reached the job's time limit${tail}`;
    case "silence":
      return `${agent} was stopped: it printed nothing for longer than the silence limit${tail}`;
    case "canceled":
      return `${agent} was canceled${tail}`;
    case "exit":
      if (exit.signal !== null) return `${agent} was killed by ${exit.signal}${tail}`;
      return `${agent} exited with code ${exit.exitCode ?? "unknown"}${tail}`;
  }
}

/** The error of a CLI that reported one in its own words. */
export function reportedError(agent: string, detail: string): string {
  return `${agent} reported an error: ${detail}`;
}

/** The error of a CLI whose output ended before its final `result` event. */
export function describeMissingResult(agent: string, exit: AgentExit): string {
  return `${describeExit(agent, exit)}\n(no result event in its output)`;
}

/** The last `count` non-empty lines of `text`. */
export function lastLines(text: string, count: number): string {
  return text
    .split("\n")
    .filter((line) => line.trim() !== "")
    .slice(-count)
    .join("\n");
}

/** Keeps the end of a long text (an agent's conclusion comes last). */
export function clip(text: string, max = MAX_SUMMARY_CHARS): string {
  const trimmed = text.trim();
  return trimmed.length <= max ? trimmed : `…${trimmed.slice(trimmed.length - max + 1)}`;
}

/** A bounded list of the last lines seen, for plain-text CLIs. */
export function lineTail(limit: number): { push(line: string): void; text(): string } {
  const lines: string[] = [];
  return {
    push(line) {
      lines.push(line);
      if (lines.length > limit) lines.shift();
    },
    text() {
      return lines.join("\n");
    },
  };
}

/** A whole number of tokens ≥ 0 from a usage object; 0 when missing. */
export function tokenField(object: Record<string, unknown> | undefined, key: string): number {
  const value = numberField(object, key);
  return value === undefined || value < 0 ? 0 : value;
}
