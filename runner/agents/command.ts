/**
 * The generic `command` adapter: any program, with `{prompt}`, `{promptFile}` and `{workdir}`
 * replaced inside each argument. Substitution is one pass per argument and never goes through a
 * shell: a prompt holding `$(rm -rf ~)` or `{workdir}` arrives as those characters, in one
 * argument. Output is plain text; the summary is its last lines and success is exit code 0. A
 * failure is classified with the generic patterns (runner/agents/failure-class.ts) over the end
 * of stderr and the last lines of stdout: a wrapper around a real CLI that passes its errors on is
 * classified like it.
 */
import { classifyFailure } from "./failure-class.js";
import { clip, describeExit, exitedCleanly, lastLines, lineTail } from "./shared.js";
import type {
  AgentAdapter,
  AgentCommand,
  AgentConfig,
  AgentInvocation,
  AgentOutputParser,
} from "./types.js";

const PLACEHOLDER = /\{(prompt|promptFile|workdir)\}/g;

/** Thrown when the generic adapter is used without a command. */
export class AgentConfigError extends Error {
  override name = "AgentConfigError";
}

/** Replaces the placeholders in one argument, in a single pass. */
export function substitutePlaceholders(arg: string, invocation: AgentInvocation): string {
  return arg.replace(
    PLACEHOLDER,
    (_match, name: "prompt" | "promptFile" | "workdir") => invocation[name],
  );
}

export function createCommandAdapter(name = "command"): AgentAdapter {
  return {
    name,
    supportsResume: false,
    buildCommand: buildGenericCommand,
    createParser: createGenericParser,
  };
}

export const commandAdapter: AgentAdapter = createCommandAdapter();

export function buildGenericCommand(
  invocation: AgentInvocation,
  config: AgentConfig = {},
): AgentCommand {
  if (config.command === undefined || config.command.trim() === "") {
    throw new AgentConfigError(
      'the command agent needs a `command` in kanbot-runner.yml (for example `command: my-agent` with `args: ["--prompt-file", "{promptFile}"]`)',
    );
  }
  const args = (config.args ?? ["{prompt}"]).map((arg) => substitutePlaceholders(arg, invocation));
  return {
    command: substitutePlaceholders(config.command, invocation),
    args: [...args, ...(config.extraArgs ?? [])],
    env: { ...config.env },
    envAllow: [...(config.envAllow ?? [])],
    credentials: [...(config.credentials ?? [])],
  };
}

export function createGenericParser(): AgentOutputParser {
  const tail = lineTail(60);
  return {
    line(line, stream) {
      if (stream === "stdout") tail.push(line);
    },
    finish(exit) {
      const success = exitedCleanly(exit);
      return {
        success,
        summary: clip(tail.text()),
        error: success ? undefined : describeExit("the agent command", exit),
        // Any program: the generic patterns over the end of its stderr and its last lines.
        ...(success
          ? {}
          : {
              failure: classifyFailure({ exit, messages: lastLines(tail.text(), 5).split("\n") }),
            }),
      };
    },
  };
}
