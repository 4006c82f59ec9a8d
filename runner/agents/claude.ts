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
 *
 * Failure classes (runner/agents/failure-class.ts): the `result` event's `api_error_status` (the
 * model API's HTTP status) decides when set; a `rate_limit_event` whose `rate_limit_info.status`
 * is "rejected" is a quota, its `resetsAt` (epoch seconds) the reset time; otherwise the result
 * text is matched against `CLAUDE_FAILURE_PATTERNS`, whose strings are literals of the 2.1.197
 * binary (node_modules/@anthropic-ai/claude-code-linux-x64/claude, found with `strings`).
 */
import {
  classifyFailure,
  GENERIC_FAILURE_PATTERNS,
  type AgentFailure,
  type FailurePatterns,
} from "./failure-class.js";
import {
  clip,
  describeExit,
  describeMissingResult,
  exitedCleanly,
  jsonEventParser,
  numberField,
  optionalFlag,
  recordField,
  reportedError,
  stringField,
  withAgentConfig,
} from "./shared.js";
import type {
  AgentAdapter,
  AgentCommand,
  AgentConfig,
  AgentExit,
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

/**
 * Claude Code 2.1.197's own messages (string literals in its binary): `RBn` "Not logged in ·
 * Please run /login", `LBn` "Invalid API key · Fix external API key", `DBn` "OAuth token revoked ·
 * Please run /login", the disabled-organization and disabled-API-key messages; `xBn` "Credit
 * balance is too low", `hJ()` "You've hit your <limit> · resets <time>", "You're out of usage
 * credits", "Your org is out of usage"; `e3t` "Repeated 529 Overloaded errors", "Server is
 * temporarily limiting requests (not your usage limit)", `qda` "Authentication error · This may be
 * a temporary network issue, please try again", `udt` "Request timed out", "API Error: Unable to
 * connect to API".
 */
export const CLAUDE_FAILURE_PATTERNS: FailurePatterns = {
  auth: [
    /\bNot logged in\b/,
    /\bInvalid API key\b/,
    /\bOAuth token (?:revoked|has expired)\b/,
    /\bYour ANTHROPIC_API_KEY belongs to a disabled organization\b/,
    /\bYour organization has disabled API key authentication\b/,
    /\b(?:Session|session has) expired\b/,
  ],
  quota: [
    /\bCredit balance is too low\b/,
    /\bYou've hit your\b/,
    /\bYou're out of usage credits\b/,
    /\bYour org is out of usage\b/,
    /\busage limit is set to \$0\b/,
  ],
  transient: [
    /\btemporarily limiting requests\b/,
    /\bAuthentication error · This may be a temporary network issue\b/,
    /\bRepeated 529 Overloaded errors\b/,
    /\bis experiencing high load\b/,
  ],
};

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
  let resetAt: Date | undefined;
  let limited = false;

  return jsonEventParser({
    event(event) {
      sessionId = stringField(event, "session_id") ?? sessionId;
      if (event.type === "result") result = event;
      if (event.type === "assistant") lastText = assistantText(event) ?? lastText;
      if (event.type === "rate_limit_event") {
        const info = recordField(event, "rate_limit_info");
        if (info?.status === "rejected") {
          limited = true;
          const resets = numberField(info, "resetsAt");
          if (resets !== undefined) resetAt = new Date(resets * 1000);
        }
      }
    },
    finish(exit) {
      if (result === undefined) {
        return {
          success: false,
          summary: clip(lastText ?? ""),
          sessionId,
          error: describeMissingResult("claude", exit),
          failure: claudeFailure(exit, [lastText ?? ""], undefined, limited, resetAt),
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
        ...(success
          ? {}
          : {
              failure: claudeFailure(
                exit,
                isError ? [text, ...errors] : [],
                numberField(result, "api_error_status"),
                limited,
                resetAt,
              ),
            }),
      };
    },
  });
}

function claudeFailure(
  exit: AgentExit,
  messages: readonly string[],
  httpStatus: number | undefined,
  limited: boolean,
  resetAt: Date | undefined,
): AgentFailure {
  const failure = classifyFailure(
    {
      exit,
      messages,
      ...(httpStatus !== undefined ? { httpStatus } : {}),
      ...(resetAt !== undefined ? { resetAt } : {}),
    },
    CLAUDE_FAILURE_PATTERNS,
  );
  // A rejected rate-limit event is a quota whatever the result text says.
  if (!limited || failure.failureClass === "quota" || exit.reason !== "exit") return failure;
  const quota = classifyFailure({ exit, messages, httpStatus: 429 }, GENERIC_FAILURE_PATTERNS);
  return { ...quota, ...(resetAt !== undefined ? { resetAt } : {}) };
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
