/**
 * How `kanbot-runner doctor` tells whether an agent CLI can authenticate, per CLI: the CLI's own
 * status command where it has one, else the credentials the runner passes to it (evidence, not
 * proof: "not verified"). Pure: doctor.ts runs the command, in the job sandbox, with the
 * environment a job's agent gets, and hands the output here.
 *
 * What each CLI offers (checked against the versions named; outputs captured from offline runs
 * with an empty HOME, or read from the CLI's bundled source):
 * - Claude Code 2.1.197 (`@anthropic-ai/claude-code`, the devDependency): `claude auth status`
 *   prints JSON (`--json` is its default) `{"loggedIn":false,"authMethod":"none",
 *   "apiProvider":"firstParty"}` and exits 1 when not logged in; with `ANTHROPIC_API_KEY` set,
 *   `{"loggedIn":true,"authMethod":"api_key","apiKeySource":"ANTHROPIC_API_KEY",…}` and exit 0.
 *   It does not call the API: a wrong key still reads "logged in" (`doctor --live` finds it).
 * - Codex 0.169.0 (`@openai/codex`, linux-x64 binary): `codex login status` prints
 *   "Not logged in" and exits 1, or "Logged in using ChatGPT" / "API key configured -
 *   sk-proj-***xxxxx" (after `codex login --with-api-key`) and exits 0. It reads only the stored
 *   log-in (`$CODEX_HOME/auth.json`), not `OPENAI_API_KEY`/`CODEX_API_KEY` in the environment.
 * - Gemini CLI 0.61.0 (`@google/gemini-cli`): no status command (`gemini --help` lists mcp,
 *   extensions, skills, hooks, gemma). A headless run without credentials exits 41 with "Please set
 *   an Auth method in your ~/.gemini/settings.json or specify one of the following environment
 *   variables before running: GEMINI_API_KEY, GOOGLE_GENAI_USE_VERTEXAI, GOOGLE_GENAI_USE_GCA".
 * - OpenCode 1.18.33 (`opencode-ai`, linux-x64 binary): `opencode auth list` always exits 0 and
 *   prints a "Credentials ~/.local/share/opencode/auth.json … N credentials" box, then, when
 *   provider keys are in the environment, an "Environment … ● Anthropic ANTHROPIC_API_KEY … M
 *   environment variables" box.
 * - aider and `command` agents: no status command.
 */
import type { CheckStatus } from "./doctor.js";

/** The CLI's own status command, run with the agent's program. */
export interface AuthStatusCommand {
  args: readonly string[];
}

/** What the status command printed, and how it ended. */
export interface AuthStatusOutput {
  exitCode: number | undefined;
  stdout: string;
  stderr: string;
}

export interface AuthVerdict {
  status: CheckStatus;
  detail: string;
}

/** Variables that show an agent has credentials, per adapter (checked when passed to it). */
export const AUTH_EVIDENCE: Readonly<Record<string, readonly string[]>> = {
  claude: ["ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "CLAUDE_CODE_OAUTH_TOKEN"],
  codex: ["CODEX_API_KEY", "OPENAI_API_KEY"],
  gemini: [
    "GEMINI_API_KEY",
    "GOOGLE_API_KEY",
    "GOOGLE_APPLICATION_CREDENTIALS",
    "GOOGLE_GENAI_USE_VERTEXAI",
    "GOOGLE_GENAI_USE_GCA",
  ],
  opencode: ["ANTHROPIC_API_KEY", "OPENAI_API_KEY", "GEMINI_API_KEY", "OPENROUTER_API_KEY"],
  aider: [
    "ANTHROPIC_API_KEY",
    "OPENAI_API_KEY",
    "GEMINI_API_KEY",
    "DEEPSEEK_API_KEY",
    "OPENROUTER_API_KEY",
  ],
};

/** The status command of each CLI that has one. */
export const AUTH_STATUS_COMMANDS: Readonly<Record<string, AuthStatusCommand>> = {
  claude: { args: ["auth", "status", "--json"] },
  codex: { args: ["login", "status"] },
  opencode: { args: ["auth", "list"] },
};

/** How to give each CLI its credentials through the runner (the fix in a failing line). */
const HOW_TO_LOG_IN: Readonly<Record<string, string>> = {
  claude:
    "set ANTHROPIC_API_KEY (or CLAUDE_CODE_OAUTH_TOKEN from `claude setup-token`) in the runner's environment; the claude adapter passes both (a `claude login` in your home is not visible in the sandbox)",
  codex:
    "set OPENAI_API_KEY (or CODEX_API_KEY) in the runner's environment; the codex adapter passes both",
  gemini:
    "set GEMINI_API_KEY (or GOOGLE_API_KEY, or GOOGLE_GENAI_USE_VERTEXAI with Google Cloud credentials) in the runner's environment; the gemini adapter passes them",
  opencode:
    "set a provider key (ANTHROPIC_API_KEY, OPENAI_API_KEY, GEMINI_API_KEY, OPENROUTER_API_KEY; others through agents.opencode.credentials) in the runner's environment",
  aider:
    "set the key of aider's model provider (ANTHROPIC_API_KEY, OPENAI_API_KEY…) in the runner's environment",
};

const LIVE = "`kanbot-runner doctor --live` makes one request to check it";

/** The credentials of `evidence` present in the agent's environment (names only). */
export function credentialsPassed(
  kind: string,
  childEnv: Readonly<Record<string, string>>,
): string[] {
  return (AUTH_EVIDENCE[kind] ?? []).filter((name) => (childEnv[name] ?? "") !== "");
}

/**
 * The verdict for an agent without a status command (or whose status command did not answer):
 * the credentials passed to it are evidence, never proof.
 */
export function verdictWithoutStatus(
  kind: string,
  passed: readonly string[],
  options: { sandboxed: boolean; why?: string },
): AuthVerdict {
  const why =
    options.why ?? `${kind === "command" ? "a command agent" : kind} has no auth status command`;
  if (passed.length > 0) {
    return {
      status: "warn",
      detail: `not verified (${why}); ${passed.join(", ")} ${passed.length === 1 ? "is" : "are"} passed to it; ${LIVE}`,
    };
  }
  if (kind === "command") {
    return { status: "warn", detail: `not verified (${why}); ${LIVE}` };
  }
  const fix = HOW_TO_LOG_IN[kind] ?? "give it its credentials through the runner's environment";
  // Outside the sandbox a log-in stored in the runner user's home may still work.
  return options.sandboxed
    ? { status: "fail", detail: `no credentials reach it (${why}): ${fix}` }
    : {
        status: "warn",
        detail: `not verified (${why}) and no API key is passed to it: unless a log-in stored in the runner user's home works, ${fix}`,
      };
}

/** Reads a status command's output into a verdict. */
export function interpretAuthStatus(
  kind: string,
  output: AuthStatusOutput,
  passed: readonly string[],
  options: { sandboxed: boolean },
): AuthVerdict {
  switch (kind) {
    case "claude":
      return claudeVerdict(output, passed, options);
    case "codex":
      return codexVerdict(output, passed, options);
    case "opencode":
      return opencodeVerdict(output, passed, options);
    default:
      return verdictWithoutStatus(kind, passed, options);
  }
}

function claudeVerdict(
  output: AuthStatusOutput,
  passed: readonly string[],
  options: { sandboxed: boolean },
): AuthVerdict {
  const status = parseJsonObject(output.stdout);
  if (status === undefined || typeof status.loggedIn !== "boolean") {
    return verdictWithoutStatus("claude", passed, {
      ...options,
      why: `\`claude auth status\` did not answer (${describeOutput(output)}); this Claude Code may predate it`,
    });
  }
  const method = typeof status.authMethod === "string" ? status.authMethod : "unknown";
  const source = typeof status.apiKeySource === "string" ? `, ${status.apiKeySource}` : "";
  const provider =
    typeof status.apiProvider === "string" && status.apiProvider !== "firstParty"
      ? `, provider ${status.apiProvider}`
      : "";
  if (status.loggedIn) {
    return {
      status: "ok",
      detail: `logged in (claude auth status: ${method}${source}${provider}); the key itself is not checked: ${LIVE}`,
    };
  }
  return {
    status: "fail",
    detail: `not logged in (claude auth status: ${method}): ${HOW_TO_LOG_IN.claude}`,
  };
}

function codexVerdict(
  output: AuthStatusOutput,
  passed: readonly string[],
  options: { sandboxed: boolean },
): AuthVerdict {
  const said = meaningfulLines(`${output.stdout}\n${output.stderr}`);
  const loggedIn = said.find((line) => /^(Logged in using|API key configured)/.test(line));
  if (output.exitCode === 0 && loggedIn !== undefined) {
    return { status: "ok", detail: `${loggedIn} (codex login status); ${LIVE}` };
  }
  if (said.some((line) => /^Not logged in/.test(line))) {
    // `codex login status` reads only the stored log-in; `codex exec` also takes a key from the
    // environment.
    return verdictWithoutStatus("codex", passed, {
      ...options,
      why: "codex login status: Not logged in; it does not look at keys in the environment",
    });
  }
  return verdictWithoutStatus("codex", passed, {
    ...options,
    why: `\`codex login status\` did not answer (${describeOutput(output)})`,
  });
}

function opencodeVerdict(
  output: AuthStatusOutput,
  passed: readonly string[],
  options: { sandboxed: boolean },
): AuthVerdict {
  const text = stripAnsi(output.stdout);
  const stored = /(\d+) credentials?\b/.exec(text);
  if (output.exitCode !== 0 || stored === null) {
    return verdictWithoutStatus("opencode", passed, {
      ...options,
      why: `\`opencode auth list\` did not answer (${describeOutput(output)})`,
    });
  }
  const fromEnv = Number(/(\d+) environment variables?\b/.exec(text)?.[1] ?? 0);
  const count = Number(stored[1]);
  if (count + fromEnv > 0) {
    return {
      status: "ok",
      detail: `${count} stored credential${count === 1 ? "" : "s"} and ${fromEnv} provider key${fromEnv === 1 ? "" : "s"} in the environment (opencode auth list); ${LIVE}`,
    };
  }
  return {
    status: "warn",
    detail: `no provider credentials (opencode auth list): only keyless providers (OpenCode's free models, a local model) will work; ${HOW_TO_LOG_IN.opencode}`,
  };
}

function parseJsonObject(text: string): Record<string, unknown> | undefined {
  const start = text.indexOf("{");
  const end = text.lastIndexOf("}");
  if (start < 0 || end < start) return undefined;
  try {
    const value: unknown = JSON.parse(text.slice(start, end + 1));
    return typeof value === "object" && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/** Output lines without blank lines and the CLIs' own warnings (Codex prints `WARNING: …`). */
function meaningfulLines(text: string): string[] {
  return stripAnsi(text)
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "" && !line.startsWith("WARNING:"));
}

function describeOutput(output: AuthStatusOutput): string {
  const last = meaningfulLines(`${output.stdout}\n${output.stderr}`).at(-1);
  const code = output.exitCode === undefined ? "no exit code" : `exit code ${output.exitCode}`;
  return last === undefined ? code : `${code}: ${last.slice(0, 160)}`;
}

function stripAnsi(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/\u001b\[[0-9;]*m/g, "");
}
