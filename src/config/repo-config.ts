/**
 * `.github/kanbot.yml`: one repository's kanbot configuration (DESIGN sections 2, 5-7). Every field
 * is optional with a safe default, so a missing or empty file is valid. Unknown fields are errors,
 * so a typo is reported instead of silently ignored.
 *
 * `parseRepoConfig` turns the file's text into the typed config or into errors a maintainer can
 * act on (dotted path, line, what was expected, what was found, the likely intended name);
 * `formatRepoConfigErrors` renders them as markdown for an issue comment or a check run. No I/O:
 * the caller reads the file (from the default branch) and passes its text.
 *
 * Why one long file: the zod schema of `.github/kanbot.yml`, section by section, each field with
 * its default and its error text, read in one place (docs/configuration.md follows it).
 */
import {
  isMap,
  isScalar,
  isSeq,
  LineCounter,
  parseDocument,
  type Document,
  type Node as YamlNode,
  type YAMLError,
} from "yaml";
import { z } from "zod";

import { DEFAULT_FALLBACK_AFTER } from "../domain/task.js";
import { BUILT_IN_AGENTS, PERMISSIONS, type Budget, type TaskState } from "../domain/types.js";
import { fieldNamesAt } from "./schema-fields.js";
import { closestName, describeValue, didYouMean } from "./suggest.js";

/** Where kanbot reads a repository's configuration, on its default branch. */
export const REPO_CONFIG_PATH = ".github/kanbot.yml";

/** Larger files are refused before parsing. */
export const MAX_REPO_CONFIG_BYTES = 256 * 1024;

// ---------------------------------------------------------------------------------------------
// Field builders, each with a message that says what was expected and what was found.
// ---------------------------------------------------------------------------------------------

/** A whole number ≥ `min`. */
function wholeNumber(min: number) {
  const message = (iss: { input?: unknown }): string =>
    `expected a whole number ≥ ${min}, got ${describeValue(iss.input)}`;
  return z.number({ error: message }).int({ error: message }).min(min, { error: message });
}

/** A number > 0 (decimals allowed). */
function positiveAmount() {
  const message = (iss: { input?: unknown }): string =>
    `expected a number greater than 0, got ${describeValue(iss.input)}`;
  return z.number({ error: message }).positive({ error: message });
}

/** A number ≥ 0 (decimals allowed). */
function nonNegativeAmount() {
  const message = (iss: { input?: unknown }): string =>
    `expected a number ≥ 0, got ${describeValue(iss.input)}`;
  return z.number({ error: message }).min(0, { error: message });
}

/** `true` or `false`. */
function yesNo() {
  return z.boolean({
    error: (iss) => `expected true or false, got ${describeValue(iss.input)}`,
  });
}

/** A non-empty piece of text on one line; `what` names it in messages ("a label name"). */
function line(what: string, options: { max?: number; pattern?: RegExp; hint?: string } = {}) {
  const message = (iss: { input?: unknown }): string =>
    `expected ${what}${options.hint === undefined ? "" : ` (${options.hint})`}, got ${describeValue(iss.input)}`;
  let schema = z
    .string({ error: message })
    .trim()
    .min(1, { error: message })
    .regex(/^[^\r\n]*$/, { error: message });
  if (options.max !== undefined) schema = schema.max(options.max, { error: message });
  if (options.pattern !== undefined) schema = schema.regex(options.pattern, { error: message });
  return schema;
}

/** A list of `item`s; `what` names the list in messages ("a list of commands"). */
function listOf<T extends z.ZodType>(item: T, what: string) {
  return z.array(item, { error: (iss) => `expected ${what}, got ${describeValue(iss.input)}` });
}

/** One of a fixed set of words, suggesting the closest on a typo. */
function oneOf<const T extends readonly [string, ...string[]]>(values: T) {
  return z.enum(values, {
    error: (iss) => {
      const input = typeof iss.input === "string" ? iss.input : "";
      return `expected one of ${values.join(", ")}, got ${describeValue(iss.input)}${didYouMean(input, values)}`;
    },
  });
}

/** A strict object: unknown fields are errors (reported with a suggestion by parseRepoConfig). */
function section<T extends z.ZodRawShape>(shape: T) {
  return z.strictObject(shape, {
    error: (iss) =>
      iss.code === "invalid_type"
        ? `expected a mapping of fields (name: value lines), got ${describeValue(iss.input)}`
        : undefined,
  });
}

const GIT_REF_PIECE = /^(?!\/)(?!.*\/\/)(?!.*\.\.)(?!.*@\{)(?!-)[^\s~^:?*[\\\p{Cc}]+$/u;
const agentName = line("an agent name", { max: 64, pattern: /^\S+$/, hint: "one word" });
const labelName = line("a label name of at most 50 characters", { max: 50 });
const columnName = line("a column name", { max: 100 });
const fieldName = line("a project field name", { max: 100 });
const command = line("a command", { hint: "one line, run from the repository root" });
const repoPath = line("a path inside the repository", {
  pattern: /^(?!\/)(?!~)(?!.*(^|\/)\.\.(\/|$))(?!(.*\/)?\.git(\/|$))[^\\]+$/,
  hint: 'relative, without a leading "/", any ".." or ".git"',
});
const glob = line("a path pattern", { hint: 'such as ".github/workflows/**"' });
const runnerLabel = line("a runner label", { max: 100, pattern: /^\S+$/, hint: "one word" });
const checkName = line("a check name", { max: 200 });

/** `checks.startDeadlineMinutes` when neither it nor its old name is set. */
const DEFAULT_START_DEADLINE_MINUTES = 10;

/** The labels that mirror task states; `canceled` has none (state labels are removed). */
type LabeledState = Exclude<TaskState, "canceled">;

/** Column names for the states that move the card; `canceled` leaves the card where it is. */
type ColumnState = Exclude<TaskState, "canceled">;

// ---------------------------------------------------------------------------------------------
// The schema
// ---------------------------------------------------------------------------------------------

const Labels = section({
  /** Adding this label to an issue starts (or re-runs a blocked or canceled) task. Default `agent:ready`. */
  trigger: labelName.default("agent:ready"),
  /** State `waiting`: accepted, blocked by open dependencies. Default `agent:waiting`. */
  waiting: labelName.default("agent:waiting"),
  /** State `queued`: waiting for a runner. Default `agent:queued`. */
  queued: labelName.default("agent:queued"),
  /** State `running`: a runner holds the job. Default `agent:working`. */
  running: labelName.default("agent:working"),
  /** State `checks`: PR open, checks pending on its head. Default `agent:checks`. */
  checks: labelName.default("agent:checks"),
  /** State `needs-input`: the agent asked a question and waits for an answer on the issue. Default `agent:needs-input`. */
  "needs-input": labelName.default("agent:needs-input"),
  /** State `review`: checks green, PR awaits human review. Default `agent:review`. */
  review: labelName.default("agent:review"),
  /** State `done`: PR merged. Default `agent:done`. */
  done: labelName.default("agent:done"),
  /** State `blocked`: out of budget, or an error only a person can fix. Default `agent:blocked`. */
  blocked: labelName.default("agent:blocked"),
} satisfies Record<LabeledState | "trigger", z.ZodType>).superRefine((labels, ctx) => {
  const seen = new Map<string, string>();
  for (const [key, name] of Object.entries(labels)) {
    const earlier = seen.get(name.toLowerCase());
    if (earlier === undefined) {
      seen.set(name.toLowerCase(), key);
      continue;
    }
    ctx.addIssue({
      code: "custom",
      path: [key],
      message: `label "${name}" is also used by labels.${earlier}; every state and the trigger need their own label`,
    });
  }
});

const Columns = section({
  /** Column for `waiting` tasks. Default `Ready`. */
  waiting: columnName.default("Ready"),
  /** Column for `queued` tasks. Default `Ready`. */
  queued: columnName.default("Ready"),
  /** Column for `running` tasks. Default `In progress`. */
  running: columnName.default("In progress"),
  /** Column for `checks` tasks (PR open, checks pending). Default `In progress`. */
  checks: columnName.default("In progress"),
  /** Column for `needs-input` tasks (the agent asked a question). Default `Needs input`; when the board has no such column the card goes to the `running` column. */
  "needs-input": columnName.default("Needs input"),
  /** Column for `review` tasks. Default `In review`. */
  review: columnName.default("In review"),
  /** Column for `done` tasks. Default `Done`. */
  done: columnName.default("Done"),
  /** Column for `blocked` tasks. Default `Blocked`; when the board has no such column the card stays where it is. */
  blocked: columnName.default("Blocked"),
} satisfies Record<ColumnState, z.ZodType>);

const KeywordRule = section({
  /** Words that select this rule when one appears in the issue's title or body (whole word, any case). Required. */
  match: listOf(line("a word"), "a list of words, such as [css, frontend]").min(1, {
    error: "expected at least one word",
  }),
  /** The agent used when the rule matches. Required. */
  agent: agentName,
});

/**
 * The `.github/kanbot.yml` schema. Every field has a default, so `{}` (an empty or missing file)
 * is a valid configuration.
 */
export const RepoConfig = section({
  /** Branch the agent starts from and PRs target. Default: the repository's default branch. */
  baseBranch: line("a branch name", {
    pattern: GIT_REF_PIECE,
    hint: "a valid git branch name",
  }).optional(),
  /** Prefix of the task branches kanbot pushes (`<prefix><issue>-<slug>`). Default `kanbot/`. */
  branchPrefix: line("a branch name prefix", {
    pattern: GIT_REF_PIECE,
    hint: "characters valid in a git branch name",
  }).default("kanbot/"),
  /** Label names: the trigger and one per state (DESIGN section 2). Defaults `agent:ready`, `agent:waiting`, … */
  labels: Labels.prefault({}),
  /** Which agent works an issue, and on which runners. */
  agents: section({
    /** Agent used when no label, title prefix or keyword rule picks one. Default `claude`. */
    default: agentName.default("claude"),
    /** Keyword rules, tried in order after labels and title prefixes; the first match wins. Default: none. */
    rules: listOf(KeywordRule, "a list of rules ({ match: [words], agent: name })").prefault([]),
    /** Let a `use:<agent>` label on the issue pick the agent. Default `true`. */
    useLabels: yesNo().default(true),
    /** Let a `[agent]` prefix in the issue title pick the agent. Default `true`. */
    titlePrefix: yesNo().default(true),
    /** Runner labels every job of this repository requires (added to `runs-on:<label>` labels of the issue). Default: none. */
    runsOn: listOf(runnerLabel, "a list of runner labels, such as [gpu, os:mac]").prefault([]),
    /** Agents to move a task to, in order, when its agent keeps failing or hits its usage limit (after the routed agent; a runner must offer them). Default: none. */
    fallback: listOf(agentName, "a list of agent names, such as [codex, gemini]").prefault([]),
    /** Failed jobs of class `task` or `transient` in a row on one agent before the next fallback agent takes over (a `quota` failure moves at once). Default `2`. */
    fallbackAfter: wholeNumber(1).default(DEFAULT_FALLBACK_AFTER),
  }).prefault({}),
  /** Preparing each worktree before the agent starts. */
  setup: section({
    /** Commands run in a new worktree before the agent (e.g. `npm ci`), in order; one failing fails the job. Default: none. */
    commands: listOf(command, "a list of commands").prefault([]),
    /** Git-ignored files (e.g. `.env`) copied into each worktree from the runner's local copy of the repository. Default: none. */
    copyFiles: listOf(repoPath, "a list of paths, such as [.env]").prefault([]),
  }).prefault({}),
  /** Checking the agent's work on the runner before pushing. */
  validation: section({
    /** Commands that must pass in the worktree after the agent (e.g. `npm test`), in order. Default: none. */
    commands: listOf(command, "a list of commands").prefault([]),
    /** Extra agent rounds, with the failure output, when validation fails; 0 = fail at once. Default `2`. */
    rounds: wholeNumber(0).max(10, { error: "expected at most 10 rounds" }).default(2),
  }).prefault({}),
  /** What one task may spend over all its jobs; when spent, the task is blocked. */
  budget: section({
    /** Jobs of any kind (implement, fix-checks, revise, rebase). Default `5`. */
    attempts: wholeNumber(1).default(5),
    /** Wall-clock minutes summed over all jobs. Default `60`. */
    minutes: wholeNumber(1).default(60),
    /** Agent cost in US dollars summed over all jobs. Default `10`. */
    usd: positiveAmount().default(10),
    /** Jobs that may be lost to a vanished runner (lease expired); the one that reaches this number blocks the task. Default `3`. */
    lostLeases: wholeNumber(1).default(3),
  } satisfies Record<keyof Budget | "lostLeases", z.ZodType>).prefault({}),
  /** The gate: which checks on the PR head must pass before review. */
  checks: section({
    /** Checks (check run names or status contexts) that must pass. Default: the base branch's required checks (branch protection or rulesets) when readable; else this list; else every check. */
    required: listOf(checkName, "a list of check names")
      .min(1, { error: "expected at least one check name; remove the field to use the default" })
      .optional(),
    /** What the gate does when no check at all has started on the PR head by the start deadline: `wait` keeps the PR a draft, says how to make CI run on kanbot's branches, and waits for a check or a maintainer's `/kanbot ready`; `pass` passes the gate without checks, saying so. Default `wait`. */
    whenNone: oneOf(["wait", "pass"]).default("wait"),
    /** Minutes after the head's push for a first check to appear on it; then `whenNone` applies. Default `10`. */
    startDeadlineMinutes: wholeNumber(0).optional(),
    /** Deprecated: the earlier name of `startDeadlineMinutes`, read when that is not set. */
    noChecksWaitMinutes: wholeNumber(0).optional(),
    /** Re-run a failed GitHub Actions workflow once before counting the failure (flake guard; needs `actions: write`). Default `false`. */
    rerunFailedOnce: yesNo().default(false),
  })
    .superRefine((checks, ctx) => {
      if (checks.startDeadlineMinutes === undefined || checks.noChecksWaitMinutes === undefined) {
        return;
      }
      ctx.addIssue({
        code: "custom",
        path: ["noChecksWaitMinutes"],
        message:
          "noChecksWaitMinutes is the earlier name of startDeadlineMinutes; remove it and keep startDeadlineMinutes",
      });
    })
    // The deprecated name folds into the new one; the typed config has only `startDeadlineMinutes`.
    .transform(({ noChecksWaitMinutes, startDeadlineMinutes, ...checks }) => ({
      ...checks,
      startDeadlineMinutes:
        startDeadlineMinutes ?? noChecksWaitMinutes ?? DEFAULT_START_DEADLINE_MINUTES,
    }))
    .prefault({}),
  /** The organisation's Projects (v2) board that mirrors task states. */
  board: section({
    /** Project number (from the project's URL) of a project owned by the repository's organisation. Default: none (labels only). */
    project: wholeNumber(1).optional(),
    /** Single-select field that holds the card's column. Default `Status`. */
    statusField: fieldName.default("Status"),
    /** Moving a card to this column starts a task, like the trigger label. Default `Ready`. */
    triggerColumn: columnName.default("Ready"),
    /** Column name per state (DESIGN section 2); a column missing from the board is skipped. */
    columns: Columns.prefault({}),
    /** Field read for priority (values P0…P3) when the issue has no `priority:` label. Default `Priority`. */
    priorityField: fieldName.default("Priority"),
  }).prefault({}),
  /** Questions the agent asks people (it writes `.kanbot/question.md` and stops; docs/agents.md). */
  questions: section({
    /** Hours a question waits for an answer on the issue before the task is blocked with a reminder; `0` waits without end. Decimals allowed. Default `72`. */
    answerTimeoutHours: nonNegativeAmount().default(72),
  }).prefault({}),
  /** Minimum repository permission to start, retry, cancel or steer a task (and to answer an agent's question). Default `write`. */
  minimumPermission: oneOf(PERMISSIONS).default("write"),
  /** Path patterns the agent may not change; a job that does fails, naming the files. Default `[.github/workflows/**]` (kanbot has no `workflows` permission). Setting it replaces the default. */
  forbiddenPaths: listOf(glob, "a list of path patterns").prefault([".github/workflows/**"]),
  /** Review of kanbot's PRs. */
  review: section({
    /** Request review from the person who started the task once checks pass. Default `true`. */
    requestFromStarter: yesNo().default(true),
  }).prefault({}),
  /** After the PR. */
  merge: section({
    /** Delete the task branch when its PR is merged. Default `true`. */
    deleteBranch: yesNo().default(true),
    /** Merge the PR once checks pass and someone other than the starter approved it. Default `false`. */
    auto: yesNo().default(false),
    /** Merge method for auto-merge: `squash`, `merge` or `rebase`. Default `squash`. */
    method: oneOf(["squash", "merge", "rebase"]).default("squash"),
  }).prefault({}),
});
export type RepoConfig = z.infer<typeof RepoConfig>;

/** The configuration of a repository with no (or an empty) `.github/kanbot.yml`. */
export const DEFAULT_REPO_CONFIG: RepoConfig = RepoConfig.parse({});

// ---------------------------------------------------------------------------------------------
// Parsing
// ---------------------------------------------------------------------------------------------

/** One problem in the file: where (dotted path, line and column when known) and what to do. */
export interface RepoConfigError {
  /** Dotted path of the field, e.g. `agents.rules[0].agent`; empty for the file as a whole. */
  path: string;
  message: string;
  /** 1-based line in the file, when known. */
  line?: number;
  /** 1-based column in the file, when known. */
  column?: number;
}

export type RepoConfigResult =
  | { ok: true; config: RepoConfig }
  | {
      ok: false;
      errors: RepoConfigError[];
      /**
       * The `board` section when it is valid on its own (the file is valid YAML and no problem
       * lies in `board`), so a card move can still be recognised as a trigger and the problems
       * reported. Undefined when it cannot be read.
       */
      board?: RepoConfig["board"];
    };

export interface ParseRepoConfigOptions {
  /** Agents offered by registered runners; the built-in agents are always known. */
  knownAgents: readonly string[];
}

type Path = readonly PropertyKey[];

/**
 * Parses `.github/kanbot.yml`. `undefined` (no file) and an empty file give the defaults. Errors
 * come sorted by line, each with the field's dotted path and a message saying what to change.
 */
export function parseRepoConfig(
  text: string | undefined,
  options: ParseRepoConfigOptions,
): RepoConfigResult {
  if (text === undefined) return { ok: true, config: RepoConfig.parse({}) };
  if (text.length > MAX_REPO_CONFIG_BYTES) {
    return fail([
      { path: "", message: `the file is larger than ${MAX_REPO_CONFIG_BYTES / 1024} KiB` },
    ]);
  }

  // 1. YAML syntax.
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: true });
  if (doc.errors.length > 0) return fail(doc.errors.map((error) => yamlError(error)));

  // 2. Plain data, with `key:` (no value) meaning "use the default".
  let data: unknown;
  try {
    data = withoutNulls(doc.toJS({ maxAliasCount: 100 }) ?? {});
  } catch (error) {
    return fail([{ path: "", message: `the YAML could not be read: ${String(error)}` }]);
  }

  // 3. Schema, then agents (known only at run time).
  const locate = locator(doc, lineCounter);
  const parsed = RepoConfig.safeParse(data);
  const errors = parsed.success
    ? []
    : parsed.error.issues.flatMap((issue) => fromIssue(issue, locate));
  const failed = new Set(errors.map((error) => error.path));
  errors.push(
    ...agentErrors(data, options.knownAgents, locate).filter((error) => !failed.has(error.path)),
  );

  if (parsed.success && errors.length === 0) return { ok: true, config: parsed.data };
  const board = RepoConfig.safeParse({ board: field(data, "board") });
  return board.success ? { ...fail(errors), board: board.data.board } : fail(errors);
}

function fail(errors: RepoConfigError[]): RepoConfigResult & { ok: false } {
  const sorted = [...errors].sort(
    (a, b) => (a.line ?? Infinity) - (b.line ?? Infinity) || (a.column ?? 0) - (b.column ?? 0),
  );
  return { ok: false, errors: sorted };
}

function yamlError(error: YAMLError): RepoConfigError {
  const first = (error.message.split("\n")[0] ?? "").replace(/ at line \d+, column \d+:?\s*$/, "");
  const position = error.linePos?.[0];
  return {
    path: "",
    message: `YAML syntax error: ${first}`,
    ...(position === undefined ? {} : { line: position.line, column: position.col }),
  };
}

/** Drops `null` values from mappings, so `budget:` or `attempts:` with nothing after it means "default". */
function withoutNulls(value: unknown): unknown {
  if (Array.isArray(value)) return value.map((item) => withoutNulls(item));
  if (value === null || typeof value !== "object") return value;
  const result: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    if (item !== null) result[key] = withoutNulls(item);
  }
  return result;
}

/** `agents.rules[0].agent` */
export function formatPath(path: Path): string {
  return path.reduce<string>((text, segment) => {
    if (typeof segment === "number") return `${text}[${segment}]`;
    return text === "" ? String(segment) : `${text}.${String(segment)}`;
  }, "");
}

type Locate = (path: Path, at: "key" | "value") => { line: number; column: number } | undefined;

/**
 * Finds the line and column of a path in the document: the value's position (or, for unknown
 * fields, the key's), else the nearest enclosing node that exists.
 */
function locator(doc: Document, lineCounter: LineCounter): Locate {
  return (path, at) => {
    let node: unknown = doc.contents;
    let found: YamlNode | undefined = isNodeWithRange(node) ? node : undefined;
    for (const [index, segment] of path.entries()) {
      const last = index === path.length - 1;
      if (isMap(node)) {
        const pair = node.items.find((item) => isScalar(item.key) && item.key.value === segment);
        if (pair === undefined) break;
        const key = isNodeWithRange(pair.key) ? pair.key : undefined;
        const value = isNodeWithRange(pair.value) ? pair.value : undefined;
        found = (last && at === "key" ? key : (value ?? key)) ?? found;
        node = pair.value;
      } else if (isSeq(node) && typeof segment === "number") {
        const item: unknown = node.items[segment];
        if (!isNodeWithRange(item)) break;
        found = item;
        node = item;
      } else {
        break;
      }
    }
    const offset = found?.range?.[0];
    if (offset === undefined) return undefined;
    const position = lineCounter.linePos(offset);
    return { line: position.line, column: position.col };
  };
}

function isNodeWithRange(node: unknown): node is YamlNode {
  return typeof node === "object" && node !== null && "range" in node && Array.isArray(node.range);
}

function at(
  path: Path,
  message: string,
  locate: Locate,
  where: "key" | "value" = "value",
): RepoConfigError {
  const position = locate(path, where);
  return { path: formatPath(path), message, ...(position ?? {}) };
}

function fromIssue(issue: z.core.$ZodIssue, locate: Locate): RepoConfigError[] {
  if (issue.code === "unrecognized_keys") {
    const known = fieldNamesAt(RepoConfig, issue.path);
    return issue.keys.map((key) =>
      at([...issue.path, key], `unknown field "${key}"${didYouMean(key, known)}`, locate, "key"),
    );
  }
  return [at(issue.path, issue.message, locate)];
}

/** Every agent named in the file must be built in or offered by a registered runner. */
function agentErrors(
  data: unknown,
  knownAgents: readonly string[],
  locate: Locate,
): RepoConfigError[] {
  const known = [...new Set<string>([...BUILT_IN_AGENTS, ...knownAgents])].sort();
  const named: { path: Path; name: string }[] = [];
  const agents = field(data, "agents");
  const defaultAgent = field(agents, "default");
  if (typeof defaultAgent === "string")
    named.push({ path: ["agents", "default"], name: defaultAgent });
  const fallback = field(agents, "fallback");
  if (Array.isArray(fallback)) {
    fallback.forEach((agent: unknown, index) => {
      if (typeof agent === "string")
        named.push({ path: ["agents", "fallback", index], name: agent });
    });
  }
  const rules = field(agents, "rules");
  if (Array.isArray(rules)) {
    rules.forEach((rule: unknown, index) => {
      const agent = field(rule, "agent");
      if (typeof agent === "string")
        named.push({ path: ["agents", "rules", index, "agent"], name: agent });
    });
  }
  return named
    .filter(({ name }) => !known.includes(name.trim()))
    .map(({ path, name }) => {
      const suggestion = closestName(name.trim(), known);
      const hint = suggestion === undefined ? "" : `; did you mean "${suggestion}"?`;
      return at(
        path,
        `unknown agent ${describeValue(name)}; known: ${known.join(", ")}${hint}`,
        locate,
      );
    });
}

function field(value: unknown, key: string): unknown {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return undefined;
  const descriptor: PropertyDescriptor | undefined = Object.getOwnPropertyDescriptor(value, key);
  return descriptor?.value;
}

// ---------------------------------------------------------------------------------------------
// Rendering
// ---------------------------------------------------------------------------------------------

export interface FormatRepoConfigErrorsOptions {
  /** The file's path in the repository. Default `.github/kanbot.yml`. */
  file?: string;
  /** The branch the file was read from, named in the advice. */
  ref?: string;
  /** A link to the configuration reference. */
  docsUrl?: string;
}

const MAX_LISTED = 30;

/**
 * Markdown for an issue comment or a failing check run: which file, each problem as
 * `file:line:column: path: message` in a code block (so text from the file cannot inject markup or
 * mentions), and how to fix it.
 */
export function formatRepoConfigErrors(
  errors: readonly RepoConfigError[],
  options: FormatRepoConfigErrorsOptions = {},
): string {
  const file = options.file ?? REPO_CONFIG_PATH;
  const lines = errors.slice(0, MAX_LISTED).map((error) => {
    const where = error.line === undefined ? file : `${file}:${error.line}:${error.column ?? 1}`;
    return error.path === ""
      ? `${where}: ${error.message}`
      : `${where}: ${error.path}: ${error.message}`;
  });
  if (errors.length > MAX_LISTED) lines.push(`… and ${errors.length - MAX_LISTED} more`);
  const body = lines.join("\n");
  const fence = "`".repeat(Math.max(3, longestBacktickRun(body) + 1));
  const count = errors.length === 1 ? "1 problem" : `${errors.length} problems`;
  const branch = options.ref === undefined ? "the default branch" : `\`${options.ref}\``;
  const reference =
    options.docsUrl === undefined
      ? "The configuration reference (`docs/configuration.md` in kanbot) lists every field and its default."
      : `The [configuration reference](${options.docsUrl}) lists every field and its default.`;
  return [
    `### kanbot cannot use \`${file}\``,
    "",
    `kanbot found ${count} in \`${file}\` and cannot act on it until it is fixed:`,
    "",
    `${fence}text`,
    body,
    fence,
    "",
    `Fix the file on ${branch}; kanbot reads it again at the next trigger (the trigger label, a card moved to the trigger column, or \`/kanbot retry\`). ${reference}`,
  ].join("\n");
}

function longestBacktickRun(text: string): number {
  return Math.max(0, ...(text.match(/`+/g) ?? []).map((run) => run.length));
}
