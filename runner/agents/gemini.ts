/**
 * Gemini CLI (`@google/gemini-cli`, checked against 0.61.0).
 *
 * Command: `gemini --skip-trust --output-format stream-json --approval-mode yolo [--model m]
 * [--resume <session id>]`, the prompt on stdin. Facts (from `gemini --help` and running it):
 * - with stdin not a terminal the CLI runs headless and takes stdin as the prompt;
 * - without `--skip-trust` (or `GEMINI_CLI_TRUST_WORKSPACE=true`) a headless run in a folder
 *   never trusted before exits 55 ("Gemini CLI is not running in a trusted directory"), and a
 *   fresh worktree is always such a folder;
 * - `--approval-mode`: `default` | `auto_edit` (edits only) | `yolo` (every tool) | `plan`;
 *   headless there is nobody to approve, so `yolo` is the default here (configurable);
 * - `--resume` takes "latest", an index or a session id.
 *
 * Output (`stream-json`, packages/core/src/output/types.ts and the non-interactive runner):
 * `init {session_id, model}`, `message {role, content, delta?}` (assistant text arrives in
 * deltas), `tool_use`, `tool_result`, `error {severity, message}` (warnings too), and last
 * `result {status: "success"|"error", error?: {type, message}, stats}`. No cost in dollars:
 * `spend()` gives the `result`'s `stats` (`StreamStats` in packages/core/src/output/types.ts:
 * `input_tokens`, of which `cached`, and `output_tokens`) and the model `init` named, for the
 * runner to price (runner/agents/usage.ts). Only the last event carries them, so a Gemini run is
 * priced when it ends; while it runs, the minutes budget is what stops it.
 *
 * Failure classes (runner/agents/failure-class.ts): on a fatal error the CLI's `handleError`
 * (packages/cli/src/utils/errors.ts in the 0.61.0 bundle) writes `result.error.type`, the error
 * class's name, and exits with its code: `FatalAuthenticationError` (exit 41) is auth,
 * `TerminalQuotaError` / `RetryableQuotaError` (packages/core/src/utils/googleQuotaErrors.ts,
 * `classifyGoogleError`) are quota; the message ("Please retry in 32.5s", "Suggested retry after
 * 60s.") gives the reset. The rest is matched against `GEMINI_FAILURE_PATTERNS`.
 */
import { classifyFailure, type FailurePatterns } from "./failure-class.js";
import {
  clip,
  describeExit,
  describeMissingResult,
  exitedCleanly,
  jsonEventParser,
  optionalFlag,
  recordField,
  reportedError,
  stringField,
  tokenField,
  withAgentConfig,
} from "./shared.js";
import type { AgentSpend } from "./usage.js";
import type {
  AgentAdapter,
  AgentCommand,
  AgentConfig,
  AgentInvocation,
  AgentOutputParser,
} from "./types.js";

export const GEMINI_CREDENTIALS = [
  "GEMINI_API_KEY",
  "GOOGLE_API_KEY",
  "GOOGLE_APPLICATION_CREDENTIALS",
] as const;
export const GEMINI_ENV_ALLOW = [
  "GOOGLE_GENAI_USE_VERTEXAI",
  "GOOGLE_GENAI_USE_GCA",
  "GOOGLE_CLOUD_PROJECT",
  "GOOGLE_CLOUD_LOCATION",
  "GEMINI_MODEL",
] as const;

/**
 * Gemini CLI 0.61.0's own errors (bundle/chunk-JDPZ4CE3.js): the fatal error classes and their
 * exit codes, "Please set an Auth method in your …settings.json or specify one of the following
 * environment variables before running: GEMINI_API_KEY, …" (auth), "You have exhausted your
 * daily quota on this model." and the API's "Quota exceeded for quota metric …" (quota).
 */
export const GEMINI_FAILURE_PATTERNS: FailurePatterns = {
  auth: [/\bPlease set an Auth method\b/, /\bAPI key not valid\b/, /\bAPI_KEY_INVALID\b/],
  quota: [/\bYou have exhausted your daily quota\b/, /\bQuota exceeded for quota metric\b/],
  transient: [],
  types: {
    auth: ["FatalAuthenticationError"],
    quota: ["TerminalQuotaError", "RetryableQuotaError"],
  },
  exitCodes: { auth: [41] },
};

export const geminiAdapter: AgentAdapter = {
  name: "gemini",
  supportsResume: true,
  buildCommand: buildGeminiCommand,
  createParser: createGeminiParser,
};

export function buildGeminiCommand(
  invocation: AgentInvocation,
  config: AgentConfig = {},
): AgentCommand {
  const args = [
    "--skip-trust",
    "--output-format",
    "stream-json",
    "--approval-mode",
    config.approvalMode ?? "yolo",
    ...optionalFlag("--model", config.model),
    ...optionalFlag("--resume", invocation.sessionId),
    ...(config.extraArgs ?? []),
  ];
  return withAgentConfig(
    {
      command: "gemini",
      args,
      envAllow: GEMINI_ENV_ALLOW,
      credentials: GEMINI_CREDENTIALS,
      stdinFile: invocation.promptFile,
    },
    config,
  );
}

export function createGeminiParser(): AgentOutputParser {
  let sessionId: string | undefined;
  let current = "";
  let lastMessage = "";
  let result: Record<string, unknown> | undefined;
  let lastError: string | undefined;
  let model: string | undefined;

  return jsonEventParser({
    spend(): AgentSpend | undefined {
      const stats = recordField(result, "stats");
      if (stats === undefined) return undefined;
      return {
        tokens: {
          input: tokenField(stats, "input_tokens"),
          cachedInput: tokenField(stats, "cached"),
          output: tokenField(stats, "output_tokens"),
        },
        ...(model !== undefined ? { model } : {}),
      };
    },
    event(event) {
      switch (event.type) {
        case "init":
          sessionId = stringField(event, "session_id") ?? sessionId;
          model = stringField(event, "model") ?? model;
          break;
        case "message":
          if (event.role !== "assistant") break;
          current =
            event.delta === true
              ? current + (stringField(event, "content") ?? "")
              : (stringField(event, "content") ?? "");
          lastMessage = current;
          break;
        case "tool_use":
          // Text after a tool call starts a new message: the summary is the last one.
          current = "";
          break;
        case "error":
          if (event.severity === "error") lastError = stringField(event, "message") ?? lastError;
          break;
        case "result":
          result = event;
          break;
      }
    },
    finish(exit) {
      const status = stringField(result, "status");
      const success = status === "success" && exitedCleanly(exit);
      let error: string | undefined;
      if (!success) {
        const reported = stringField(recordField(result, "error"), "message") ?? lastError;
        if (reported !== undefined) error = reportedError("gemini", reported);
        else if (result === undefined) error = describeMissingResult("gemini", exit);
        else error = describeExit("gemini", exit);
      }
      if (success) return { success, summary: clip(lastMessage), sessionId };
      const reported = recordField(result, "error");
      const type = stringField(reported, "type");
      const messages = [stringField(reported, "message"), lastError].filter(
        (text): text is string => text !== undefined,
      );
      return {
        success,
        summary: clip(lastMessage),
        sessionId,
        error,
        failure: classifyFailure(
          { exit, messages, ...(type !== undefined ? { errorTypes: [type] } : {}) },
          GEMINI_FAILURE_PATTERNS,
        ),
      };
    },
  });
}
