/**
 * `kanbot-runner.yml`: the workstation runner's configuration (DESIGN section 6). zod-validated;
 * unknown fields are errors (a typo is reported with the likely intended name), and every error
 * names the field's dotted path and its line in the file.
 *
 * `parseRunnerConfig` is pure (text in, config or errors out); `loadRunnerConfig` reads the file
 * (and the token file) and resolves paths against the file's folder; `saveRunnerToken` is what
 * `kanbot-runner register` uses to store the runner token with 0600 permissions.
 *
 * Why one long file: the zod schema of `kanbot-runner.yml` and `agents.yaml` with the error text
 * of every field, kept together so a field and its message are read in one place.
 */
import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { dirname, isAbsolute, join, resolve } from "node:path";

import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node as YamlNode } from "yaml";
import { z } from "zod";

import { formatPath } from "../src/config/repo-config.js";
import { fieldNamesAt } from "../src/config/schema-fields.js";
import { describeValue, didYouMean } from "../src/config/suggest.js";
import { BUILT_IN_AGENTS } from "../src/domain/types.js";

/** Where the runner looks for its config when `--config` is not given. */
export const DEFAULT_CONFIG_FILE = "kanbot-runner.yml";

/** Larger config files are refused before parsing. */
const MAX_CONFIG_BYTES = 256 * 1024;

// ---------------------------------------------------------------------------------------------
// Field builders (messages say what was expected and what was found)
// ---------------------------------------------------------------------------------------------

function wholeNumber(min: number, max?: number) {
  const message = (iss: { input?: unknown }): string =>
    `expected a whole number ≥ ${min}${max === undefined ? "" : ` and ≤ ${max}`}, got ${describeValue(iss.input)}`;
  let schema = z.number({ error: message }).int({ error: message }).min(min, { error: message });
  if (max !== undefined) schema = schema.max(max, { error: message });
  return schema;
}

function positiveAmount() {
  const message = (iss: { input?: unknown }): string =>
    `expected a number greater than 0, got ${describeValue(iss.input)}`;
  return z.number({ error: message }).positive({ error: message });
}

function nonNegativeAmount() {
  const message = (iss: { input?: unknown }): string =>
    `expected a number ≥ 0 (US dollars per million tokens), got ${describeValue(iss.input)}`;
  return z.number({ error: message }).min(0, { error: message });
}

function text(what: string, pattern?: RegExp, hint?: string) {
  const message = (iss: { input?: unknown }): string =>
    `expected ${what}${hint === undefined ? "" : ` (${hint})`}, got ${describeValue(iss.input)}`;
  let schema = z.string({ error: message }).trim().min(1, { error: message });
  if (pattern !== undefined) schema = schema.regex(pattern, { error: message });
  return schema;
}

function listOf<T extends z.ZodType>(item: T, what: string) {
  return z.array(item, { error: (iss) => `expected ${what}, got ${describeValue(iss.input)}` });
}

function section<T extends z.ZodRawShape>(shape: T) {
  return z.strictObject(shape, {
    error: (iss) =>
      iss.code === "invalid_type"
        ? `expected a mapping of fields (name: value lines), got ${describeValue(iss.input)}`
        : undefined,
  });
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const envName = text("an environment variable name", ENV_NAME, "letters, digits and _");
const agentName = text(
  "an agent name",
  /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/,
  "letters, digits, '.', '_' or '-', at most 64 characters",
);
const repoFullName = text(
  "a repository",
  /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})\/[A-Za-z0-9._-]{1,100}$/,
  "owner/name",
);
const runnerLabel = text("a runner label", /^[^\s,]{1,100}$/, "one word without commas");

// ---------------------------------------------------------------------------------------------
// The schema
// ---------------------------------------------------------------------------------------------

/** How the runner starts one agent (`agents.<name>` in kanbot-runner.yml). */
export const RunnerAgentConfig = section({
  /** Which adapter reads this agent: a built-in CLI (`claude`, `codex`, `gemini`, `aider`, `opencode`) or `command` (any program). Default: the agent's name when it is built in, else `command`. */
  adapter: z
    .enum([...BUILT_IN_AGENTS, "command"], {
      error: (iss) =>
        `expected one of ${[...BUILT_IN_AGENTS, "command"].join(", ")}, got ${describeValue(iss.input)}${didYouMean(typeof iss.input === "string" ? iss.input : "", [...BUILT_IN_AGENTS, "command"])}`,
    })
    .optional(),
  /** The program: a name on PATH or a path. Default: the CLI's own name (`claude`…); required for `command`. */
  command: text("a program name or path").optional(),
  /** For `command` agents: the arguments, with `{prompt}`, `{promptFile}` and `{workdir}` replaced inside each. Default `["{prompt}"]`. */
  args: listOf(z.string(), "a list of arguments").optional(),
  /** Arguments appended to a built-in adapter's own. Default: none. */
  extraArgs: listOf(z.string(), "a list of arguments").optional(),
  /** The model, for CLIs that take one. Default: the CLI's default. */
  model: text("a model name").optional(),
  /** Names of the runner's environment variables passed to the agent besides the base allowlist (docs/agents.md). GitHub tokens are never passed. Default: none. */
  envAllow: listOf(envName, "a list of variable names").optional(),
  /** Variables the agent needs although their names look secret (its API key, e.g. `ANTHROPIC_API_KEY`). Default: none. */
  credentials: listOf(envName, "a list of variable names").optional(),
  /** Variables set for the agent. Default: none. */
  env: z
    .record(envName, z.string({ error: "expected a text value" }), {
      error: (iss) => `expected a mapping NAME: value, got ${describeValue(iss.input)}`,
    })
    .optional(),
  /** Wall-clock limit of one agent round, in minutes (decimals allowed); the job's own budget may cut it shorter. Default `60`. */
  timeoutMinutes: positiveAmount().default(60),
  /** Stop the agent when it prints nothing for this many minutes (decimals allowed). Default `15`. */
  silenceMinutes: positiveAmount().default(15),
  /** Claude Code: tools allowed without asking. Default: see docs/agents.md. */
  allowedTools: listOf(text("a tool name"), "a list of tool names").optional(),
  /** Codex: sandbox mode. Default `workspace-write`. */
  sandbox: z.enum(["read-only", "workspace-write", "danger-full-access"]).optional(),
  /** Gemini CLI: approval mode. Default `yolo`. */
  approvalMode: z.enum(["default", "auto_edit", "yolo"]).optional(),
});
export type RunnerAgentConfig = z.infer<typeof RunnerAgentConfig>;

/** The `kanbot-runner.yml` schema. */
export const RunnerConfig = section({
  /** The kanbot app's base URL (where `/api/v1/…` lives), e.g. `https://kanbot.example.com`. Required. */
  appUrl: z.url({
    protocol: /^https?$/,
    error: (iss) => `expected an http(s) URL, got ${describeValue(iss.input)}`,
  }),
  /** The runner token (`kbr_…`) that `kanbot-runner register` wrote. Keep the file private (0600). Default: read from `tokenFile`. */
  token: text("the runner token").optional(),
  /** A file holding the runner token instead of `token` (relative to this file); `register` writes it with 0600 permissions. Default: none. */
  tokenFile: text("a file path").optional(),
  /** This runner's name in `kanbot runners list`. Default: the host name. */
  name: text(
    "a runner name",
    /^[A-Za-z0-9][A-Za-z0-9._@-]{0,99}$/,
    "letters, digits, '.', '_', '@' or '-'",
  ).optional(),
  /** Jobs run at the same time. `start --concurrency` overrides it. Default `1`. */
  concurrency: wholeNumber(1, 64).default(1),
  /** Where mirrors, worktrees and prompts live (relative to this file; `~` is your home). Default `~/.kanbot-runner/work`. */
  workDir: text("a folder path").default("~/.kanbot-runner/work"),
  /** Labels this runner offers; an issue's `runs-on:<label>` labels must all be offered. Default: none. */
  labels: listOf(runnerLabel, "a list of labels, such as [gpu, os:mac]").default([]),
  /** Repositories (`owner/name`) this runner works on. Default: every repository the app hands out. */
  repos: listOf(repoFullName, "a list of repositories (owner/name)").default([]),
  /** The agents this runner offers, by name (the names `use:<agent>` labels and `.github/kanbot.yml` use). Required: at least one. */
  agents: z
    .record(agentName, RunnerAgentConfig, {
      error: (iss) =>
        `expected a mapping of agent names to settings (claude: {}), got ${describeValue(iss.input)}`,
    })
    .refine((agents) => Object.keys(agents).length > 0, {
      error: "expected at least one agent, such as `claude: {}`",
    }),
  /** This runner's own caps on one job, on top of the task budget the app sends. */
  budget: section({
    /** Wall-clock minutes one job may take on this runner (decimals allowed). Default: the task budget only. */
    maxMinutesPerJob: positiveAmount().optional(),
    /** Agent cost in US dollars one job may spend on this runner. Default: the task budget only. */
    maxUsdPerJob: positiveAmount().optional(),
  }).prefault({}),
  /** Prices of models in US dollars per million tokens, over kanbot's defaults (docs/agents.md#prices): `gpt-5-codex: { input: 1.25, cachedInput: 0.125, output: 10 }`. The runner turns the token usage Codex, Gemini CLI and OpenCode report into dollars with them, for the hard USD budget. A model with no price has no known cost: USD is not enforced for it (the minutes budget still is). Default: kanbot's table only. */
  prices: z
    .record(
      text("a model name"),
      section({
        /** Input tokens, USD per million. */
        input: nonNegativeAmount(),
        /** Cached input tokens, USD per million. Default: the input price. */
        cachedInput: nonNegativeAmount().optional(),
        /** Output tokens (reasoning included), USD per million. */
        output: nonNegativeAmount(),
      }),
      {
        error: (iss) =>
          `expected a mapping of model names to prices (gpt-5-codex: { input: 1.25, output: 10 }), got ${describeValue(iss.input)}`,
      },
    )
    .default({}),
  /** Validation rounds (the repository's commands after the agent). */
  validation: section({
    /** At most this many extra agent rounds with the failure output, whatever the repository asks. Default `3`. */
    maxRounds: wholeNumber(0, 10).default(3),
    /** Time limit of one validation command, in minutes (decimals allowed). Default `30`. */
    timeoutMinutes: positiveAmount().default(30),
  }).prefault({}),
  /** Time limit of one setup command, in minutes (decimals allowed). Default `30`. */
  setupTimeoutMinutes: positiveAmount().default(30),
  /** How long a failed job's worktree is kept for inspection, in hours (0: removed at once). Default `24`. */
  keepFailedWorktreesHours: z
    .number({ error: (iss) => `expected a number ≥ 0, got ${describeValue(iss.input)}` })
    .min(0, { error: (iss) => `expected a number ≥ 0, got ${describeValue(iss.input)}` })
    .default(24),
  /** On SIGINT/SIGTERM: seconds running jobs may take to finish before they are canceled (work in progress pushed). Default `300`. */
  shutdownGraceSeconds: wholeNumber(0).default(300),
  /** Where git-ignored files (`setup.copyFiles`, e.g. `.env`) are copied from, per repository: `owner/name: /path/to/your/clone`. Default: none. */
  copyFrom: z
    .record(repoFullName, text("a folder path"), {
      error: (iss) =>
        `expected a mapping owner/name: /path/to/folder, got ${describeValue(iss.input)}`,
    })
    .default({}),
  /** Extra values redacted from every log the runner sends, named by environment variable. Default: none. */
  redactEnv: listOf(envName, "a list of variable names").default([]),
  /** Where agents and the repository's setup and validation commands run (docs/security.md#the-sandbox): `auto` uses bubblewrap where it starts and otherwise refuses to start; `bwrap` requires bubblewrap; `none` runs them unsandboxed, where they can read this file, the runner token and the runner's environment (warned on every start). Default `auto`. */
  sandbox: z
    .enum(["auto", "bwrap", "none"], {
      error: (iss) =>
        `expected auto, bwrap or none, got ${describeValue(iss.input)}${didYouMean(typeof iss.input === "string" ? iss.input : "", ["auto", "bwrap", "none"])}`,
    })
    .default("auto"),
  /** Whether sandboxed commands reach the network (agents call their model's API); `false` leaves them only a loopback interface. Default `true`. */
  sandboxNetwork: z
    .boolean({ error: (iss) => `expected true or false, got ${describeValue(iss.input)}` })
    .default(true),
  /** Paths made visible read-only in the sandbox besides the system (relative to this file; `~` is your home), e.g. a toolchain installed in your home. Paths inside workDir are refused. Default: none. */
  sandboxReadOnly: listOf(text("a path"), "a list of paths").default([]),
  /** Paths made writable in the sandbox (relative to this file; `~` is your home), e.g. a shared build cache. Paths inside workDir are refused. Default: none. */
  sandboxWritable: listOf(text("a path"), "a list of paths").default([]),
  /** Log level of the runner's own log (stderr): `debug`, `info`, `warn`, `error`. Default `info`. */
  logLevel: z.enum(["trace", "debug", "info", "warn", "error", "fatal", "silent"]).default("info"),
});
export type RunnerConfig = z.infer<typeof RunnerConfig>;

// ---------------------------------------------------------------------------------------------
// Parsing
// ---------------------------------------------------------------------------------------------

/** One problem in the file: the field's dotted path, the line when known, and what to do. */
export interface RunnerConfigProblem {
  path: string;
  message: string;
  line?: number;
  column?: number;
}

/** The config file cannot be used; `message` lists every problem as `file:line:col: path: message`. */
export class RunnerConfigError extends Error {
  override name = "RunnerConfigError";
  constructor(
    readonly file: string,
    readonly problems: readonly RunnerConfigProblem[],
  ) {
    super(formatRunnerConfigProblems(file, problems));
  }
}

export type RunnerConfigResult =
  { ok: true; config: RunnerConfig } | { ok: false; problems: RunnerConfigProblem[] };

/** Parses the text of `kanbot-runner.yml`. Pure. */
export function parseRunnerConfig(text: string): RunnerConfigResult {
  if (text.length > MAX_CONFIG_BYTES) {
    return { ok: false, problems: [{ path: "", message: "the file is larger than 256 KiB" }] };
  }
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: true });
  if (doc.errors.length > 0) {
    return {
      ok: false,
      problems: doc.errors.map((error) => {
        const first = (error.message.split("\n")[0] ?? "").replace(/ at line \d+.*$/, "");
        const position = error.linePos?.[0];
        return {
          path: "",
          message: `YAML syntax error: ${first}`,
          ...(position === undefined ? {} : { line: position.line, column: position.col }),
        };
      }),
    };
  }
  let data: unknown;
  try {
    data = withoutNulls(doc.toJS({ maxAliasCount: 100 }) ?? {});
  } catch (error) {
    return {
      ok: false,
      problems: [{ path: "", message: `the YAML could not be read: ${String(error)}` }],
    };
  }
  const parsed = RunnerConfig.safeParse(data);
  if (parsed.success) return { ok: true, config: parsed.data };

  function locate(path: readonly PropertyKey[], key: boolean): { line: number; column: number } {
    let node: unknown = doc.contents;
    let found: YamlNode | undefined;
    for (const [index, segment] of path.entries()) {
      if (isMap(node)) {
        const pair = node.items.find((item) => isScalar(item.key) && item.key.value === segment);
        if (pair === undefined) break;
        const last = index === path.length - 1;
        found = ((last && key ? pair.key : (pair.value ?? pair.key)) as YamlNode) ?? found;
        node = pair.value;
      } else if (isSeq(node) && typeof segment === "number") {
        node = node.items[segment];
        found = (node as YamlNode | undefined) ?? found;
      } else break;
    }
    const offset = found?.range?.[0] ?? 0;
    const position = lineCounter.linePos(offset);
    return { line: position.line, column: position.col };
  }

  const problems = parsed.error.issues.flatMap((issue): RunnerConfigProblem[] => {
    if (issue.code === "unrecognized_keys") {
      const known = fieldNamesAt(RunnerConfig, issue.path);
      return issue.keys.map((key) => ({
        path: formatPath([...issue.path, key]),
        message: `unknown field "${key}"${didYouMean(key, known)}`,
        ...locate([...issue.path, key], true),
      }));
    }
    const message =
      issue.code === "invalid_type" && valueAt(data, issue.path) === undefined
        ? "is required"
        : issue.message;
    return [{ path: formatPath(issue.path), message, ...locate(issue.path, false) }];
  });
  problems.sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
  return { ok: false, problems };
}

/** `kanbot-runner.yml:3:5: concurrency: expected …`, one per line. */
export function formatRunnerConfigProblems(
  file: string,
  problems: readonly RunnerConfigProblem[],
): string {
  const lines = problems.map((problem) => {
    const where =
      problem.line === undefined ? file : `${file}:${problem.line}:${problem.column ?? 1}`;
    return problem.path === ""
      ? `${where}: ${problem.message}`
      : `${where}: ${problem.path}: ${problem.message}`;
  });
  return `${file} is not a valid kanbot-runner config (see docs/runner.md):\n${lines.join("\n")}`;
}

function valueAt(data: unknown, path: readonly PropertyKey[]): unknown {
  let current: unknown = data;
  for (const segment of path) {
    if (typeof current !== "object" || current === null) return undefined;
    current = (current as Record<PropertyKey, unknown>)[segment];
  }
  return current;
}

function withoutNulls(value: unknown): unknown {
  if (Array.isArray(value)) return value.map((item) => withoutNulls(item));
  if (value === null || typeof value !== "object") return value;
  const result: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    if (item !== null) result[key] = withoutNulls(item);
  }
  return result;
}

// ---------------------------------------------------------------------------------------------
// Loading
// ---------------------------------------------------------------------------------------------

/** A config read from disk: paths resolved, the token read from `tokenFile` when it is used. */
export interface LoadedRunnerConfig {
  /** The config file (absolute). */
  file: string;
  config: RunnerConfig;
  /** The runner token, or undefined before `register`. */
  token: string | undefined;
  /** `workDir`, absolute. */
  workDir: string;
  /** `tokenFile`, absolute (when set). */
  tokenFile: string | undefined;
  /** `copyFrom` folders, absolute. */
  copyFrom: Record<string, string>;
  /** `sandboxReadOnly` and `sandboxWritable`, absolute. */
  sandboxPaths: { readOnly: string[]; writable: string[] };
}

/** Expands `~` and resolves `path` against `base`. */
export function resolvePath(path: string, base: string, home = homedir()): string {
  const expanded = path === "~" ? home : path.startsWith("~/") ? join(home, path.slice(2)) : path;
  return isAbsolute(expanded) ? expanded : resolve(base, expanded);
}

/** Reads and validates the config file; throws {@link RunnerConfigError} when it cannot be used. */
export async function loadRunnerConfig(file: string): Promise<LoadedRunnerConfig> {
  const path = resolve(file);
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new RunnerConfigError(path, [
      {
        path: "",
        message:
          code === "ENOENT"
            ? "the file does not exist; create it (docs/runner.md has an example) or pass --config <file>"
            : `the file cannot be read: ${(error as Error).message}`,
      },
    ]);
  }
  const parsed = parseRunnerConfig(text);
  if (!parsed.ok) throw new RunnerConfigError(path, parsed.problems);
  const base = dirname(path);
  const config = parsed.config;
  const tokenFile =
    config.tokenFile === undefined ? undefined : resolvePath(config.tokenFile, base);
  let token = config.token;
  if (token === undefined && tokenFile !== undefined) {
    token = await readFile(tokenFile, "utf8").then(
      (value) => value.trim() || undefined,
      () => undefined,
    );
  }
  return {
    file: path,
    config,
    token,
    workDir: resolvePath(config.workDir, base),
    tokenFile,
    copyFrom: Object.fromEntries(
      Object.entries(config.copyFrom).map(([repo, folder]) => [repo, resolvePath(folder, base)]),
    ),
    sandboxPaths: {
      readOnly: config.sandboxReadOnly.map((entry) => resolvePath(entry, base)),
      writable: config.sandboxWritable.map((entry) => resolvePath(entry, base)),
    },
  };
}

/**
 * Stores the runner token `register` got: in `tokenFile` when the config names one, else as
 * `token:` in the config file itself (comments kept). Either file ends with 0600 permissions.
 */
export async function saveRunnerToken(
  loaded: Pick<LoadedRunnerConfig, "file" | "tokenFile">,
  token: string,
  appUrl?: string,
): Promise<string> {
  const text = await readFile(loaded.file, "utf8");
  const doc = parseDocument(text);
  let changed = false;
  if (appUrl !== undefined && doc.get("appUrl") !== appUrl) {
    doc.set("appUrl", appUrl);
    changed = true;
  }
  if (loaded.tokenFile !== undefined) {
    await mkdir(dirname(loaded.tokenFile), { recursive: true });
    await writeFile(loaded.tokenFile, `${token}\n`, { mode: 0o600 });
    await chmod(loaded.tokenFile, 0o600);
    if (doc.has("token")) {
      doc.delete("token");
      changed = true;
    }
  } else {
    doc.set("token", token);
    changed = true;
  }
  if (changed) {
    await writeFile(loaded.file, doc.toString(), { mode: 0o600 });
  }
  if (loaded.tokenFile === undefined) await chmod(loaded.file, 0o600);
  return loaded.tokenFile ?? loaded.file;
}
