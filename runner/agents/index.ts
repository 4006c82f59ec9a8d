/** The agent adapters by name, and `runAgent`, which runs one of them for a job. */
import type { BuiltInAgent } from "../../src/domain/types.js";
import { aiderAdapter } from "./aider.js";
import { claudeAdapter } from "./claude.js";
import { codexAdapter } from "./codex.js";
import { createCommandAdapter } from "./command.js";
import { geminiAdapter } from "./gemini.js";
import { opencodeAdapter } from "./opencode.js";
import type { AgentAdapter } from "./types.js";

export const BUILT_IN_ADAPTERS = {
  claude: claudeAdapter,
  codex: codexAdapter,
  gemini: geminiAdapter,
  aider: aiderAdapter,
  opencode: opencodeAdapter,
} as const satisfies Record<BuiltInAgent, AgentAdapter>;

/**
 * The adapter for an agent name from the runner config. A built-in name gets its CLI's adapter;
 * any other name (or `kind: command`) gets the generic command adapter, which needs a `command`.
 */
export function adapterFor(name: string, kind?: BuiltInAgent | "command"): AgentAdapter {
  const key = kind ?? name;
  if (key in BUILT_IN_ADAPTERS) return BUILT_IN_ADAPTERS[key as BuiltInAgent];
  return createCommandAdapter(name);
}

export { runAgent } from "./run-agent.js";
export type { AgentRunOptions, AgentRunResult } from "./run-agent.js";
export type * from "./types.js";
export type { AgentFailure, FailureClass } from "./failure-class.js";
