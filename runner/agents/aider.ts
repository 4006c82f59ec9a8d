/**
 * Aider (Python, `aider-chat`; flags from its options reference, aider/website/docs/config/
 * options.md, and scripting page https://aider.chat/docs/scripting.html: it cannot be installed
 * here, so nothing below was checked against a running aider).
 *
 * Command: `aider --message-file <promptFile> --yes-always --no-auto-commits --no-dirty-commits
 * --no-gitignore --no-pretty --no-fancy-input --no-check-update --no-show-release-notes
 * --analytics-disable --chat-history-file <dir>/aider.chat.history.md --input-history-file
 * <dir>/aider.input.history [--model m]`:
 * - `--message-file` processes one message and exits (no chat mode);
 * - `--yes-always` answers every confirmation (add file to chat, create file…);
 * - `--no-auto-commits`/`--no-dirty-commits`: the runner commits, with its trailers;
 * - `--no-gitignore`: aider would otherwise add `.aider*` to the repository's .gitignore;
 * - the history files go next to the prompt file, outside the worktree, so they are never
 *   committed;
 * - the rest turns off colours, the fancy prompt, update checks and analytics.
 * Aider keeps no session that a later job could resume: follow-ups start afresh.
 *
 * Output: plain text. The cost comes from the usage report aider prints after each reply
 * (base_coder.py): "Tokens: 2.3k sent, 150 received. Cost: $0.01 message, $0.03 session."; the
 * last "session" figure is the run's cost. Success is exit code 0.
 */
import { dirname, join } from "node:path";

import { classifyFailure } from "./failure-class.js";
import {
  clip,
  describeExit,
  exitedCleanly,
  lastLines,
  lineTail,
  optionalFlag,
  withAgentConfig,
} from "./shared.js";
import type {
  AgentAdapter,
  AgentCommand,
  AgentConfig,
  AgentInvocation,
  AgentOutputParser,
} from "./types.js";

export const AIDER_CREDENTIALS = [
  "OPENAI_API_KEY",
  "ANTHROPIC_API_KEY",
  "GEMINI_API_KEY",
  "DEEPSEEK_API_KEY",
  "OPENROUTER_API_KEY",
] as const;
export const AIDER_ENV_ALLOW = ["AIDER_MODEL", "OPENAI_API_BASE", "OLLAMA_API_BASE"] as const;

const COST_LINE = /Cost: \$([0-9.]+) message, \$([0-9.]+) session\./;
const USAGE_LINE = /^(Tokens: |Cost: )/;

export const aiderAdapter: AgentAdapter = {
  name: "aider",
  supportsResume: false,
  buildCommand: buildAiderCommand,
  createParser: createAiderParser,
};

export function buildAiderCommand(
  invocation: AgentInvocation,
  config: AgentConfig = {},
): AgentCommand {
  const scratch = dirname(invocation.promptFile);
  const args = [
    "--message-file",
    invocation.promptFile,
    "--yes-always",
    "--no-auto-commits",
    "--no-dirty-commits",
    "--no-gitignore",
    "--no-pretty",
    "--no-fancy-input",
    "--no-check-update",
    "--no-show-release-notes",
    "--analytics-disable",
    "--chat-history-file",
    join(scratch, "aider.chat.history.md"),
    "--input-history-file",
    join(scratch, "aider.input.history"),
    ...optionalFlag("--model", config.model),
    ...(config.extraArgs ?? []),
  ];
  return withAgentConfig(
    { command: "aider", args, envAllow: AIDER_ENV_ALLOW, credentials: AIDER_CREDENTIALS },
    config,
  );
}

export function createAiderParser(): AgentOutputParser {
  const tail = lineTail(60);
  let costUsd: number | undefined;

  return {
    line(line, stream) {
      if (stream !== "stdout") return;
      const cost = COST_LINE.exec(line);
      if (cost?.[2] !== undefined) costUsd = Number.parseFloat(cost[2]);
      if (USAGE_LINE.test(line.trim())) return;
      tail.push(line);
    },
    finish(exit) {
      const success = exitedCleanly(exit);
      return {
        success,
        summary: clip(tail.text()),
        costUsd,
        error: success ? undefined : describeExit("aider", exit),
        ...(success
          ? {}
          : {
              // Aider prints the model API's errors (litellm's `AuthenticationError`,
              // `RateLimitError`…) as plain text: the generic patterns read them.
              failure: classifyFailure({ exit, messages: lastLines(tail.text(), 5).split("\n") }),
            }),
      };
    },
  };
}
