/**
 * Codex CLI (`@openai/codex`, checked against 0.169.0).
 *
 * Command: `codex exec --json --sandbox workspace-write --skip-git-repo-check [--model m] -`, the
 * prompt on stdin (`-` means "read instructions from stdin", `codex exec --help`). A follow-up
 * is `codex exec resume --json --skip-git-repo-check -c sandbox_mode="workspace-write"
 * [--model m] <session id> -`: `exec resume` has no `--sandbox` flag, so the same setting goes
 * through `-c` (a config.toml override). `--skip-git-repo-check` only matters outside a git
 * repository; a worktree is one, but the flag keeps a misconfigured workdir from hanging on a
 * question.
 *
 * Output (`--json`): JSONL events, defined in codex-rs/exec/src/exec_events.rs: `thread.started`
 * `{thread_id}` (the session id for `resume`), `turn.started`, `item.started|updated|completed`
 * `{item:{id,type,…}}` where an `agent_message` item carries the agent's `text`,
 * `turn.completed {usage}`, `turn.failed {error:{message}}`, and `error {message}`, which in
 * practice also reports retries ("Reconnecting... 2/5") and is therefore not fatal by itself.
 * Codex reports tokens, not dollars: `costUsd` stays undefined, and `spend()` gives the tokens of
 * the last `turn.completed {usage: {input_tokens, cached_input_tokens, output_tokens}}` (the
 * `Usage` struct of exec_events.rs; `cached_input_tokens` is part of `input_tokens`). That usage
 * is the thread's running total, not the turn's own (openai/codex issue #5276 shows it equal to
 * the session's `total_token_usage`), so the latest one replaces the earlier; on a resumed thread
 * it includes earlier runs, which errs towards stopping early. The runner prices the tokens
 * (runner/agents/usage.ts) with the configured `model`: `--json` names none.
 *
 * Failure classes (runner/agents/failure-class.ts): the `turn.failed` message, the error events
 * and stderr are matched against `CODEX_FAILURE_PATTERNS` (literals of the 0.169.0 binary,
 * @openai/codex@0.169.0-linux-x64 vendor/…/bin/codex, found with `strings`; the `CodexErr`
 * messages of codex-rs/core/src/error.rs). A usage limit's "try again at 3:15 PM" is the reset.
 */
import { classifyFailure, type FailurePatterns } from "./failure-class.js";
import {
  clip,
  describeExit,
  exitedCleanly,
  jsonEventParser,
  optionalFlag,
  recordField,
  stringField,
  tokenField,
  withAgentConfig,
} from "./shared.js";
import type { TokenCounts } from "./usage.js";
import type {
  AgentAdapter,
  AgentCommand,
  AgentConfig,
  AgentInvocation,
  AgentOutputParser,
} from "./types.js";

export const CODEX_CREDENTIALS = ["OPENAI_API_KEY", "CODEX_API_KEY"] as const;
export const CODEX_ENV_ALLOW = [
  "CODEX_HOME",
  "OPENAI_BASE_URL",
  "OPENAI_ORG_ID",
  "OPENAI_PROJECT_ID",
] as const;

/**
 * Codex 0.169.0's own messages: "You've hit your usage limit. … try again at <time>." and "Quota
 * exceeded. Check your plan and billing details." (quota); "exceeded retry limit, last status:
 * <status>" (the status decides); "unexpected status 401 Unauthorized: …", "Not logged in", "no
 * Codex credentials were found", "Run codex login" (auth); "stream disconnected before
 * completion", "Reconnecting…", "Selected model is at capacity" (transient).
 */
export const CODEX_FAILURE_PATTERNS: FailurePatterns = {
  auth: [
    /\bunexpected status 40[13]\b/,
    /\bNot logged in\b/,
    /\bno Codex credentials were found\b/,
    /\bRun codex login\b/,
    /\bre-run `codex login`/,
  ],
  quota: [
    /\bYou've hit your usage limit\b/,
    /\bQuota exceeded\b/,
    /\bexceeded retry limit, last status: 429\b/,
    /\bunexpected status 429\b/,
  ],
  transient: [
    /\bexceeded retry limit, last status: 5\d\d\b/,
    /\bunexpected status 5\d\d\b/,
    /\bstream disconnected\b/,
    /\bReconnecting\.\.\./,
    /\bSelected model is at capacity\b/,
  ],
};

export const codexAdapter: AgentAdapter = {
  name: "codex",
  supportsResume: true,
  buildCommand: buildCodexCommand,
  createParser: createCodexParser,
};

export function buildCodexCommand(
  invocation: AgentInvocation,
  config: AgentConfig = {},
): AgentCommand {
  const sandbox = config.sandbox ?? "workspace-write";
  const { sessionId } = invocation;
  const mode =
    sessionId === undefined
      ? ["exec", "--json", "--sandbox", sandbox, "--skip-git-repo-check"]
      : ["exec", "resume", "--json", "--skip-git-repo-check", "-c", `sandbox_mode="${sandbox}"`];
  const args = [
    ...mode,
    ...optionalFlag("--model", config.model),
    ...(config.extraArgs ?? []),
    ...(sessionId === undefined ? [] : [sessionId]),
    "-",
  ];
  return withAgentConfig(
    {
      command: "codex",
      args,
      envAllow: CODEX_ENV_ALLOW,
      credentials: CODEX_CREDENTIALS,
      stdinFile: invocation.promptFile,
    },
    config,
  );
}

export function createCodexParser(): AgentOutputParser {
  let sessionId: string | undefined;
  let lastMessage = "";
  let completed = false;
  let failure: string | undefined;
  let lastError: string | undefined;
  let tokens: TokenCounts | undefined;
  const errors: string[] = [];

  return jsonEventParser({
    spend: () => (tokens === undefined ? undefined : { tokens }),
    event(event) {
      switch (event.type) {
        case "thread.started":
          sessionId = stringField(event, "thread_id") ?? sessionId;
          break;
        case "item.completed": {
          const item = recordField(event, "item");
          if (item?.type === "agent_message")
            lastMessage = stringField(item, "text") ?? lastMessage;
          if (item?.type === "error") {
            lastError = stringField(item, "message") ?? lastError;
            if (lastError !== undefined) errors.push(lastError);
          }
          break;
        }
        case "turn.completed": {
          completed = true;
          const usage = recordField(event, "usage");
          if (usage !== undefined) {
            tokens = {
              input: tokenField(usage, "input_tokens"),
              cachedInput: tokenField(usage, "cached_input_tokens"),
              output: tokenField(usage, "output_tokens"),
            };
          }
          break;
        }
        case "turn.failed":
          failure = stringField(recordField(event, "error"), "message") ?? "the turn failed";
          break;
        case "error":
          lastError = stringField(event, "message") ?? lastError;
          if (lastError !== undefined) errors.push(lastError);
          break;
      }
    },
    finish(exit) {
      const success = completed && failure === undefined && exitedCleanly(exit);
      let error: string | undefined;
      if (!success) {
        if (failure !== undefined) error = `codex reported a failed turn: ${failure}`;
        else if (exitedCleanly(exit)) error = "codex exited without completing its turn";
        else error = describeExit("codex", exit);
        if (failure === undefined && lastError !== undefined)
          error += `\nlast error event: ${lastError}`;
      }
      if (success) return { success, summary: clip(lastMessage), sessionId };
      // The turn's failure says why; the last error events come next (the earlier ones are
      // mostly retries).
      const messages = [...(failure !== undefined ? [failure] : []), ...errors.slice(-5).reverse()];
      return {
        success,
        summary: clip(lastMessage),
        sessionId,
        error,
        failure: classifyFailure({ exit, messages }, CODEX_FAILURE_PATTERNS),
      };
    },
  });
}
