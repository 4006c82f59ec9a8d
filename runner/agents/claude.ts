/**
 * Claude Code (`@anthropic-ai/claude-code`, checked against 2.1.197).
 *
 * Command: `claude -p --output-format stream-json --verbose --permission-mode acceptEdits
 * --allowedTools <list> [--model m] [--max-budget-usd n] [--resume <session>]`, the prompt on
 * stdin. Facts behind each flag (from `claude --help` and the CLI's own messages):
 * - `-p/--print` runs non-interactively and reads the prompt from stdin when none is given;
 * - `--output-format stream-json` needs `--verbose` in print mode ("When using --print,
 *   --output-format=stream-json requires --verbose");
 * - `--dangerously-skip-permissions` (and `--permission-mode bypassPermissions`) exit with
 *   "cannot be used with root/sudo privileges" when run as root, so the adapter uses
 *   `--permission-mode acceptEdits` (file edits accepted) plus `--allowedTools` for the rest
 *   (shell commands); this works as root and as any other user;
 * - `--resume <session id>` continues the session a `result` event named.
 *
 * Output: one JSON object per line. `{"type":"system","subtype":"init","session_id":…}` first;
 * the last is `{"type":"result","subtype":"success"|"error_…","is_error":bool,"result":text,
 * "total_cost_usd":n,"session_id":…}`. `subtype` "success" with `is_error: true` happens (for
 * example "Not logged in"), so success needs both.
 */
import {
  clip,
  describeExit,
  describeMissingResult,
  exitedCleanly,
  jsonEventParser,
  numberField,
  optionalFlag,
  reportedError,
  stringField,
  withAgentConfig,
} from "./shared.js";
import type {
  AgentAdapter,
  AgentCommand,
  AgentConfig,
  AgentInvocation,
  AgentOutputParser,
} from "./types.js";

/** Tools allowed without a prompt besides file edits (acceptEdits): shell, reading and search. */
export const CLAUDE_DEFAULT_ALLOWED_TOOLS = [
  "Bash",
  "Edit",
  "Write",
  "Read",
  "Glob",
  "Grep",
  "NotebookEdit",
  "TodoWrite",
] as const;

/** Environment Claude Code reads: auth and endpoint settings. */
export const CLAUDE_CREDENTIALS = [
  "ANTHROPIC_API_KEY",
  "ANTHROPIC_AUTH_TOKEN",
  "CLAUDE_CODE_OAUTH_TOKEN",
] as const;
export const CLAUDE_ENV_ALLOW = [
  "ANTHROPIC_BASE_URL",
  "ANTHROPIC_MODEL",
  "CLAUDE_CONFIG_DIR",
  "CLAUDE_CODE_USE_BEDROCK",
  "CLAUDE_CODE_USE_VERTEX",
  "AWS_REGION",
  "AWS_PROFILE",
  "CLOUD_ML_REGION",
  "ANTHROPIC_VERTEX_PROJECT_ID",
] as const;

export const claudeAdapter: AgentAdapter = {
  name: "claude",
  supportsResume: true,
  buildCommand: buildClaudeCommand,
  createParser: createClaudeParser,
};

export function buildClaudeCommand(
  invocation: AgentInvocation,
  config: AgentConfig = {},
): AgentCommand {
  const args = [
    "-p",
    "--output-format",
    "stream-json",
    "--verbose",
    "--permission-mode",
    "acceptEdits",
    "--allowedTools",
    (config.allowedTools ?? CLAUDE_DEFAULT_ALLOWED_TOOLS).join(","),
    ...optionalFlag("--model", config.model),
    ...optionalFlag("--max-budget-usd", invocation.maxBudgetUsd?.toString()),
    ...optionalFlag("--resume", invocation.sessionId),
    ...(config.extraArgs ?? []),
  ];
  return withAgentConfig(
    {
      command: "claude",
      args,
      env: { DISABLE_AUTOUPDATER: "1" },
      envAllow: CLAUDE_ENV_ALLOW,
      credentials: CLAUDE_CREDENTIALS,
      stdinFile: invocation.promptFile,
    },
    config,
  );
}

export function createClaudeParser(): AgentOutputParser {
  let sessionId: string | undefined;
  let result: Record<string, unknown> | undefined;
  let lastText: string | undefined;

  return jsonEventParser({
    event(event) {
      sessionId = stringField(event, "session_id") ?? sessionId;
      if (event.type === "result") result = event;
      if (event.type === "assistant") lastText = assistantText(event) ?? lastText;
    },
    finish(exit) {
      if (result === undefined) {
        return {
          success: false,
          summary: clip(lastText ?? ""),
          sessionId,
          error: describeMissingResult("claude", exit),
        };
      }
      const text = stringField(result, "result") ?? "";
      const errors = Array.isArray(result.errors)
        ? result.errors.filter((e) => typeof e === "string")
        : [];
      const isError = result.is_error === true || result.subtype !== "success";
      const success = !isError && exitedCleanly(exit);
      return {
        success,
        summary: clip(text),
        costUsd: numberField(result, "total_cost_usd"),
        sessionId: stringField(result, "session_id") ?? sessionId,
        error: success ? undefined : errorText(isError, text, errors, exit),
      };
    },
  });
}

function errorText(
  isError: boolean,
  text: string,
  errors: readonly string[],
  exit: Parameters<AgentOutputParser["finish"]>[0],
): string {
  if (!isError) return describeExit("claude", exit);
  const detail = [text, ...errors].filter((part) => part.trim() !== "").join("\n");
  return detail === "" ? describeExit("claude", exit) : reportedError("claude", detail);
}

/** The text blocks of an `assistant` event's message. */
function assistantText(event: Record<string, unknown>): string | undefined {
  const message = event.message;
  if (typeof message !== "object" || message === null) return undefined;
  const content = (message as { content?: unknown }).content;
  if (!Array.isArray(content)) return undefined;
  const texts = content
    .filter((block): block is { type: "text"; text: string } => {
      return (
        typeof block === "object" &&
        block !== null &&
        block.type === "text" &&
        typeof block.text === "string"
      );
    })
    .map((block) => block.text);
  return texts.length === 0 ? undefined : texts.join("\n");
}
