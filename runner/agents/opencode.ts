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
 */
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
  withAgentConfig,
} from "./shared.js";
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
  const errors: string[] = [];

  return jsonEventParser({
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
          break;
        }
        case "error": {
          const error = recordField(event, "error");
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
      return {
        success,
        summary: clip(lastText),
        costUsd: sawCost ? cost : undefined,
        sessionId,
        error,
      };
    },
  });
}
