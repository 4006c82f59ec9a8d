/**
 * OpenCode (`opencode-ai`, checked against 1.18.33).
 *
 * Command: `opencode run --format json --auto [--model provider/model] [--session <id>]`, the
 * prompt on stdin. Facts (from `opencode run --help` and its bundled source):
 * - `run` reads stdin when it is not a terminal and joins it to the message arguments;
 * - without `--auto`, `run` answers every permission request with "reject" ("permission
 *   requested: …; auto-rejecting"); `--auto` approves what the configuration does not deny;
 * - `--session <id>` continues a session; `--format json` prints raw JSON events.
 *
 * Output (`--format json`): one JSON object per line, `{type, timestamp, sessionID, …}` with
 * `type` one of `step_start`, `text`, `reasoning`, `tool_use`, `step_finish` (each carrying a
 * `part`; a `step-finish` part has `cost` in dollars and `tokens`) and `error` (`error: {name,
 * data: {message}}`). The summary is the last `text` part; the cost is the sum over steps.
 * `spend()` gives that running sum after every step (OpenCode prices its own tokens), with the
 * steps' tokens (`input` without the cache, `cache.read`, `cache.write`, `output`, `reasoning`)
 * for the runner's price table when OpenCode reports a cost of 0 (a model it has no price for).
 *
 * Failure classes (runner/agents/failure-class.ts): an `error` event's `error.name` and
 * `error.data.statusCode` decide first (`ProviderAuthError` is auth; `APIError` carries the model
 * API's status); its message is matched against `OPENCODE_FAILURE_PATTERNS`; an `APIError` with
 * `isRetryable: true` and nothing else recognised is transient.
 */
import { classifyFailure, type FailurePatterns } from "./failure-class.js";
import {
  clip,
  describeExit,
  exitedCleanly,
  jsonEventParser,
  numberField,
  optionalFlag,
  recordField,
  reportedError,
  stringField,
  tokenField,
  withAgentConfig,
} from "./shared.js";
import { addTokens, type AgentSpend, type TokenCounts } from "./usage.js";
import type {
  AgentAdapter,
  AgentCommand,
  AgentConfig,
  AgentInvocation,
  AgentOutputParser,
} from "./types.js";

export const OPENCODE_CREDENTIALS = [
  "OPENAI_API_KEY",
  "ANTHROPIC_API_KEY",
  "GEMINI_API_KEY",
  "OPENROUTER_API_KEY",
] as const;
export const OPENCODE_ENV_ALLOW = ["OPENCODE_CONFIG", "OPENCODE_CONFIG_DIR"] as const;

/**
 * OpenCode 1.18.33's own errors (its binary, opencode-linux-x64@1.18.33 bin/opencode, found with
 * `strings`): the message error types `ProviderAuthError {providerID, message}` and `APIError
 * {message, statusCode, isRetryable, responseHeaders, responseBody}`; "<plan> usage limit reached.
 * It will reset in <n hours m minutes>…", "Quota exceeded. Check your plan and billing details."
 * (`insufficient_quota`), "FreeUsageLimitError" in a response body (quota); "Cannot connect to
 * API: …" (transient).
 */
export const OPENCODE_FAILURE_PATTERNS: FailurePatterns = {
  auth: [],
  quota: [/\b[Uu]sage limit reached\b/, /\bFreeUsageLimitError\b/, /\bQuota exceeded\b/],
  transient: [/\bCannot connect to API\b/],
  types: { auth: ["ProviderAuthError"] },
};

export const opencodeAdapter: AgentAdapter = {
  name: "opencode",
  supportsResume: true,
  buildCommand: buildOpencodeCommand,
  createParser: createOpencodeParser,
};

export function buildOpencodeCommand(
  invocation: AgentInvocation,
  config: AgentConfig = {},
): AgentCommand {
  const args = [
    "run",
    "--format",
    "json",
    "--auto",
    ...optionalFlag("--model", config.model),
    ...optionalFlag("--session", invocation.sessionId),
    ...(config.extraArgs ?? []),
  ];
  return withAgentConfig(
    {
      command: "opencode",
      args,
      envAllow: OPENCODE_ENV_ALLOW,
      credentials: OPENCODE_CREDENTIALS,
      stdinFile: invocation.promptFile,
    },
    config,
  );
}

export function createOpencodeParser(): AgentOutputParser {
  let sessionId: string | undefined;
  let lastText = "";
  let cost = 0;
  let sawCost = false;
  let tokens: TokenCounts | undefined;
  const errors: string[] = [];
  const types: string[] = [];
  let httpStatus: number | undefined;
  let retryable = false;
  let retryAfter: Date | undefined;

  return jsonEventParser({
    spend(): AgentSpend | undefined {
      if (!sawCost && tokens === undefined) return undefined;
      return { ...(sawCost ? { costUsd: cost } : {}), ...(tokens !== undefined ? { tokens } : {}) };
    },
    event(event) {
      sessionId = stringField(event, "sessionID") ?? sessionId;
      const part = recordField(event, "part");
      switch (event.type) {
        case "text":
          lastText = stringField(part, "text") ?? lastText;
          break;
        case "step_finish": {
          const stepCost = numberField(part, "cost");
          if (stepCost !== undefined) {
            cost += stepCost;
            sawCost = true;
          }
          const stepTokens = recordField(part, "tokens");
          if (stepTokens !== undefined) {
            const cache = recordField(stepTokens, "cache");
            const read = tokenField(cache, "read");
            tokens = addTokens(tokens, {
              input: tokenField(stepTokens, "input") + read + tokenField(cache, "write"),
              cachedInput: read,
              output: tokenField(stepTokens, "output") + tokenField(stepTokens, "reasoning"),
            });
          }
          break;
        }
        case "error": {
          const error = recordField(event, "error");
          const data = recordField(error, "data");
          const name = stringField(error, "name");
          if (name !== undefined) types.push(name);
          httpStatus = numberField(data, "statusCode") ?? httpStatus;
          if (data?.isRetryable === true) retryable = true;
          const after = retryAfterHeader(recordField(data, "responseHeaders"));
          if (after !== undefined) retryAfter = after;
          errors.push(
            stringField(recordField(error, "data"), "message") ??
              stringField(error, "name") ??
              "unknown error",
          );
          break;
        }
      }
    },
    finish(exit) {
      const success = errors.length === 0 && exitedCleanly(exit);
      let error: string | undefined;
      if (!success) {
        error =
          errors.length > 0
            ? reportedError("opencode", errors.join("\n"))
            : describeExit("opencode", exit);
      }
      if (success) {
        return { success, summary: clip(lastText), costUsd: sawCost ? cost : undefined, sessionId };
      }
      let failure = classifyFailure(
        {
          exit,
          messages: errors,
          errorTypes: types,
          ...(httpStatus !== undefined ? { httpStatus } : {}),
          ...(retryAfter !== undefined ? { resetAt: retryAfter } : {}),
        },
        OPENCODE_FAILURE_PATTERNS,
      );
      // The AI SDK marks what is worth retrying (network errors, 408, 409, 429, 5xx).
      if (failure.failureClass === "task" && retryable && exit.reason === "exit") {
        failure = { ...failure, failureClass: "transient" };
      }
      return {
        success,
        summary: clip(lastText),
        costUsd: sawCost ? cost : undefined,
        sessionId,
        error,
        failure,
      };
    },
  });
}

/** A `retry-after` response header (seconds, or an HTTP date) as a time; undefined without one. */
function retryAfterHeader(headers: Record<string, unknown> | undefined): Date | undefined {
  const value = stringField(headers, "retry-after");
  if (value === undefined) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return new Date(Date.now() + seconds * 1000);
  const at = new Date(value);
  return Number.isNaN(at.getTime()) ? undefined : at;
}
