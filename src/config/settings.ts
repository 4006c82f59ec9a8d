/**
 * The app's settings, read from the environment (DESIGN section 6): Probot's own settings and
 * kanbot's (`KANBOT_*`, plus `DATABASE_URL`). One zod schema, `Settings`, whose keys are the
 * environment variable names; `parseSettings` adds the checks that span several variables (GitHub
 * App credentials) and turns every failure into one line a person can act on.
 *
 * No I/O here: the environment is passed in, nothing is read from disk or `process.env`.
 *
 * Why one long file: the app's settings schema (environment and file), each setting with its
 * default and its error text, read in one place.
 */
import { z } from "zod";

import { closestName, describeValue } from "./suggest.js";

/** pino's levels, which Probot passes straight to pino. */
export const LOG_LEVELS = ["trace", "debug", "info", "warn", "error", "fatal", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Probot's default webhook path (`defaultWebhookPath` in probot/lib/server/server.js). */
export const DEFAULT_WEBHOOK_PATH = "/api/github/webhooks";

/** The default database: a SQLite file in `./data`, relative to the working directory. */
export const DEFAULT_DATABASE_URL = "./data/kanbot.sqlite";

// ---------------------------------------------------------------------------------------------
// Field builders. Every environment value is a string (or absent); each builder turns it into a
// typed value with a message that says what was expected. Builders for secrets never put the
// value in a message.
// ---------------------------------------------------------------------------------------------

/** An optional piece of text; `secret` keeps the value out of every message. */
function text(options: { pattern?: RegExp; expected?: string; secret?: boolean } = {}) {
  return z
    .string()
    .optional()
    .superRefine((value, ctx) => {
      if (value === undefined || options.pattern === undefined) return;
      if (options.pattern.test(value)) return;
      ctx.addIssue({
        code: "custom",
        message: expectedGot(options.expected ?? "", value, options),
      });
    });
}

/** A whole number in [min, max], with a default when absent. */
function wholeNumber(defaultValue: number, min = 1, max = Number.MAX_SAFE_INTEGER) {
  const expected =
    max === Number.MAX_SAFE_INTEGER
      ? `a whole number ≥ ${min}`
      : `a whole number from ${min} to ${max}`;
  return z
    .string()
    .optional()
    .transform((raw, ctx) => {
      if (raw === undefined) return defaultValue;
      const trimmed = raw.trim();
      const value = Number(trimmed);
      if (!/^\d+$/.test(trimmed) || !Number.isSafeInteger(value) || value < min || value > max) {
        ctx.addIssue({ code: "custom", message: expectedGot(expected, raw) });
        return z.NEVER;
      }
      return value;
    });
}

/** An optional whole number ≥ 1 (no default). */
function optionalId() {
  return z
    .string()
    .optional()
    .transform((raw, ctx) => {
      if (raw === undefined) return undefined;
      const trimmed = raw.trim();
      const value = Number(trimmed);
      if (!/^\d+$/.test(trimmed) || !Number.isSafeInteger(value) || value < 1) {
        ctx.addIssue({ code: "custom", message: expectedGot("a numeric ID", raw) });
        return z.NEVER;
      }
      return value;
    });
}

/** `true` or `false`, with a default when absent. */
function flag(defaultValue: boolean) {
  return z
    .string()
    .optional()
    .transform((raw, ctx) => {
      if (raw === undefined) return defaultValue;
      const value = raw.trim().toLowerCase();
      if (value === "true") return true;
      if (value === "false") return false;
      ctx.addIssue({ code: "custom", message: expectedGot("true or false", raw) });
      return z.NEVER;
    });
}

/** One of a fixed set of words, with a default when absent. */
function oneOf<const T extends readonly [string, ...string[]]>(values: T, defaultValue: T[number]) {
  return z
    .string()
    .optional()
    .transform((raw, ctx): T[number] => {
      if (raw === undefined) return defaultValue;
      const value = raw.trim();
      const found = values.find((candidate) => candidate === value);
      if (found !== undefined) return found;
      const suggestion = closestName(value, values);
      const hint = suggestion === undefined ? "" : ` (did you mean "${suggestion}"?)`;
      ctx.addIssue({
        code: "custom",
        message: `${expectedGot(`one of ${values.join(", ")}`, raw)}${hint}`,
      });
      return z.NEVER;
    });
}

/** An optional URL whose protocol is one of `protocols`. */
function url(protocols: readonly string[], expected: string, options: { secret?: boolean } = {}) {
  return z
    .string()
    .optional()
    .superRefine((raw, ctx) => {
      if (raw === undefined) return;
      if (isUrl(raw.trim(), protocols)) return;
      ctx.addIssue({ code: "custom", message: expectedGot(expected, raw, options) });
    });
}

function isUrl(value: string, protocols: readonly string[]): boolean {
  if (!URL.canParse(value)) return false;
  const parsed = new URL(value);
  return protocols.includes(parsed.protocol) && (parsed.host !== "" || parsed.protocol === "file:");
}

function expectedGot(expected: string, raw: string, options: { secret?: boolean } = {}): string {
  return options.secret === true
    ? `expected ${expected} (the value is not shown because it is a secret)`
    : `expected ${expected}, got ${describeValue(raw)}`;
}

// ---------------------------------------------------------------------------------------------
// The schema
// ---------------------------------------------------------------------------------------------

const HOSTNAME = /^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:\d{1,5})?$/;

/**
 * Every setting kanbot reads from the environment. Keys are the variable names; values are typed
 * (numbers, booleans) and defaults are applied. Use `parseSettings`, which also checks the
 * settings that depend on each other (GitHub App credentials).
 */
export const Settings = z.object({
  // --- Probot: the GitHub App -------------------------------------------------------------
  /** The GitHub App's numeric ID (app settings page, "App ID"). No default; absent with no private key = setup mode. */
  APP_ID: optionalId(),
  /** The App's private key: the contents of the downloaded .pem (newlines may be written as `\n`), or that text base64-encoded. Secret. */
  PRIVATE_KEY: text({ secret: true }).superRefine((value, ctx) => {
    if (value === undefined || looksLikePrivateKey(value)) return;
    ctx.addIssue({
      code: "custom",
      message:
        "is not a PEM private key (the value is not shown because it is a secret): paste the whole .pem file GitHub gave you, including its BEGIN and END lines (newlines may be written as \\n), or set PRIVATE_KEY_PATH to the file instead",
    });
  }),
  /** Path to the App's .pem private key file, used when PRIVATE_KEY is not set. No default. */
  PRIVATE_KEY_PATH: text(),
  /** The App's webhook secret; every delivery's HMAC SHA-256 signature is checked with it. Required with credentials. Secret. */
  WEBHOOK_SECRET: text({ secret: true }),
  /** The URL path that receives GitHub's webhooks. Default `/api/github/webhooks` (Probot's). */
  WEBHOOK_PATH: text({ pattern: /^\/\S*$/, expected: 'a URL path starting with "/"' }).transform(
    (value) => value ?? DEFAULT_WEBHOOK_PATH,
  ),
  /** A smee.io (or similar) channel URL that forwards webhooks to a development machine. Default: none. Secret. */
  WEBHOOK_PROXY_URL: url(["http:", "https:"], "an http(s) URL such as https://smee.io/…", {
    secret: true,
  }),
  /** GitHub Enterprise Server host name (no protocol, no path); every REST and GraphQL call goes there. Default: github.com. */
  GHE_HOST: text({
    pattern: HOSTNAME,
    expected: 'a host name without protocol or path, such as "github.example.com"',
  }),
  /** Protocol used to reach GHE_HOST. Default `https`. */
  GHE_PROTOCOL: oneOf(["https", "http"], "https"),
  /** Organisation under which Probot's setup flow creates the App. Default: the signed-in user's account. */
  GH_ORG: text({
    pattern: /^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?$/,
    expected: "an organisation login",
  }),
  /** Interface the HTTP server listens on. Default `localhost`; use `0.0.0.0` in a container. */
  HOST: text().transform((value) => value ?? "localhost"),
  /** TCP port the HTTP server listens on (webhooks, runner API, setup flow). Default `3000`. */
  PORT: wholeNumber(3000, 1, 65535),
  /** Log level: trace, debug, info, warn, error, fatal or silent. Default `info`. */
  LOG_LEVEL: oneOf(LOG_LEVELS, "info"),
  /** Log format: `pretty` or `json`. Default: `json` when NODE_ENV=production, else `pretty` (Probot's choice). */
  LOG_FORMAT: z
    .string()
    .optional()
    .transform((raw, ctx): "pretty" | "json" | undefined => {
      if (raw === undefined) return undefined;
      if (raw === "pretty" || raw === "json") return raw;
      ctx.addIssue({ code: "custom", message: expectedGot("pretty or json", raw) });
      return z.NEVER;
    }),
  /** Write log levels as words (`"info"`) instead of numbers (`30`) in JSON logs. Default `false`. */
  LOG_LEVEL_IN_STRING: flag(false),
  /** The JSON key that holds a log line's message. Default `msg`. */
  LOG_MESSAGE_KEY: text().transform((value) => value ?? "msg"),
  /** Sentry DSN; errors logged by the app are sent to Sentry. Default: none. Secret. */
  SENTRY_DSN: url(["http:", "https:"], "a Sentry DSN URL", { secret: true }),
  /** Redis URL for Probot's cluster-wide GitHub request throttling (several app replicas). Default: none. Secret. */
  REDIS_URL: url(["redis:", "rediss:"], "a redis:// or rediss:// URL", { secret: true }),
  /** `production` makes logs JSON and refuses to start without credentials (no setup flow). Default: none. */
  NODE_ENV: text(),

  // --- kanbot -------------------------------------------------------------------------------
  /** Where the job store lives: a file path or `sqlite:<path>` (SQLite), or `postgres://…` (several replicas). Default `./data/kanbot.sqlite`. Secret (a Postgres URL can hold a password). */
  DATABASE_URL: z
    .string()
    .optional()
    .transform((raw, ctx) => {
      if (raw === undefined) return DEFAULT_DATABASE_URL;
      const problem = databaseUrlProblem(raw.trim());
      if (problem === undefined) return raw.trim();
      ctx.addIssue({ code: "custom", message: problem });
      return z.NEVER;
    }),
  /** The app's base URL as runners (and links in comments) reach it, e.g. `https://kanbot.example.com`. Default `http://localhost:<PORT>`. */
  KANBOT_PUBLIC_URL: url(
    ["http:", "https:"],
    "an http(s) URL that runners can reach, such as https://kanbot.example.com",
  ).transform((value) => (value === undefined ? undefined : value.trim().replace(/\/+$/, ""))),
  /** How long a runner's lease on a job lasts without a heartbeat, in seconds; a runner that stays silent longer loses the job. Default `120`. */
  KANBOT_LEASE_SECONDS: wholeNumber(120),
  /** How long a runner's claim request waits for a job before the app answers 204, in seconds. Default `30`. */
  KANBOT_CLAIM_TIMEOUT_SECONDS: wholeNumber(30, 1, 600),
  /** How many webhook inbox events the worker processes at once (events of one issue always run in order). Default `4`. */
  KANBOT_INBOX_CONCURRENCY: wholeNumber(4, 1, 256),
  /** How many times the inbox worker tries an event before giving up on it (it stays in the store, marked failed). Default `8`. */
  KANBOT_INBOX_MAX_ATTEMPTS: wholeNumber(8),
  /** First retry delay of a failed inbox event, in milliseconds; doubled (with jitter) on each retry. Default `2000`. */
  KANBOT_INBOX_RETRY_BASE_MS: wholeNumber(2000),
  /** Longest retry delay of a failed inbox event, in milliseconds. Default `300000` (5 minutes). */
  KANBOT_INBOX_RETRY_MAX_MS: wholeNumber(300_000),
  /** How long a one-time runner registration token (`kanbot runners add`) stays valid, in seconds. Default `3600`. */
  KANBOT_REGISTRATION_TOKEN_TTL_SECONDS: wholeNumber(3600),
  /** Largest request body the runner API accepts, in bytes (log chunks, results). Default `1048576` (1 MiB). */
  KANBOT_API_MAX_BODY_BYTES: wholeNumber(1_048_576),
  /** Largest log the app stores per job, in bytes; later output is dropped behind a truncation marker. Default `10485760` (10 MiB). */
  KANBOT_JOB_LOG_MAX_BYTES: wholeNumber(10_485_760),
  /** Decide and log, but write nothing to GitHub (labels, comments, PRs, board). Default `false`. */
  KANBOT_DRY_RUN: flag(false),
  /** Reconcile at start: re-create tasks for issues that carry a kanbot state label but are unknown to the store (asks GitHub about every installation's repositories). Default `true`. */
  KANBOT_RECONCILE_ON_START: flag(true),
  /** This app replica's name, stable across its restarts and distinct between replicas: the inbox deliveries it holds are released when it starts again. Default `<hostname>:<PORT>`. */
  KANBOT_REPLICA_ID: z.string().trim().min(1).max(200).optional(),
  /** How long an inbox delivery is held by the replica working it; renewed while it works, so a dead replica's holds run out after this. Default `30`. */
  KANBOT_INBOX_HOLD_SECONDS: wholeNumber(30, 3, 3600),
  /** On SIGTERM or SIGINT, how long deliveries in progress may finish before the app releases them and exits (a second signal exits at once). Default `10`. */
  KANBOT_SHUTDOWN_GRACE_SECONDS: wholeNumber(10, 0, 600),
  /** Pace GitHub writes with kanbot's write budget per installation (src/github/write-budget.ts: 64 a minute, 420 an hour, urgent writes first, paused when GitHub answers with a rate limit). `false` sends them at once: for GitHub Enterprise Server with rate limiting off (its default) or a local GitHub. Default `true`. */
  KANBOT_GITHUB_THROTTLE: flag(true),
});
export type Settings = z.infer<typeof Settings>;

/** The name of one setting (an environment variable). */
export type SettingName = keyof typeof Settings.shape;

/** Every setting's name, in the schema's order. */
export const SETTING_NAMES: readonly SettingName[] = Object.keys(Settings.shape).filter(
  isSettingName,
);

/** Whether `name` is one of kanbot's settings. */
export function isSettingName(name: string): name is SettingName {
  return Object.hasOwn(Settings.shape, name);
}

interface SettingInfo {
  /** A valid value, shown in messages as `NAME=value`. */
  example: string;
  /** Never show the value in a message or log. */
  secret: boolean;
}

/** An example value for every setting, and which ones are secrets. */
export const SETTING_INFO = {
  APP_ID: { example: "123456", secret: false },
  PRIVATE_KEY: {
    example: '"-----BEGIN RSA PRIVATE KEY-----\\n…\\n-----END RSA PRIVATE KEY-----"',
    secret: true,
  },
  PRIVATE_KEY_PATH: { example: "./kanbot.private-key.pem", secret: false },
  WEBHOOK_SECRET: { example: "<the webhook secret from the App's settings>", secret: true },
  WEBHOOK_PATH: { example: DEFAULT_WEBHOOK_PATH, secret: false },
  WEBHOOK_PROXY_URL: { example: "https://smee.io/your-channel", secret: true },
  GHE_HOST: { example: "github.example.com", secret: false },
  GHE_PROTOCOL: { example: "https", secret: false },
  GH_ORG: { example: "your-org", secret: false },
  HOST: { example: "0.0.0.0", secret: false },
  PORT: { example: "3000", secret: false },
  LOG_LEVEL: { example: "info", secret: false },
  LOG_FORMAT: { example: "json", secret: false },
  LOG_LEVEL_IN_STRING: { example: "true", secret: false },
  LOG_MESSAGE_KEY: { example: "msg", secret: false },
  SENTRY_DSN: { example: "https://public-key@o0.ingest.sentry.io/0", secret: true },
  REDIS_URL: { example: "redis://localhost:6379", secret: true },
  NODE_ENV: { example: "production", secret: false },
  DATABASE_URL: { example: DEFAULT_DATABASE_URL, secret: true },
  KANBOT_PUBLIC_URL: { example: "https://kanbot.example.com", secret: false },
  KANBOT_LEASE_SECONDS: { example: "120", secret: false },
  KANBOT_CLAIM_TIMEOUT_SECONDS: { example: "30", secret: false },
  KANBOT_INBOX_CONCURRENCY: { example: "4", secret: false },
  KANBOT_INBOX_MAX_ATTEMPTS: { example: "8", secret: false },
  KANBOT_INBOX_RETRY_BASE_MS: { example: "2000", secret: false },
  KANBOT_INBOX_RETRY_MAX_MS: { example: "300000", secret: false },
  KANBOT_REGISTRATION_TOKEN_TTL_SECONDS: { example: "3600", secret: false },
  KANBOT_API_MAX_BODY_BYTES: { example: "1048576", secret: false },
  KANBOT_JOB_LOG_MAX_BYTES: { example: "10485760", secret: false },
  KANBOT_DRY_RUN: { example: "false", secret: false },
  KANBOT_RECONCILE_ON_START: { example: "true", secret: false },
  KANBOT_REPLICA_ID: { example: "kanbot-1", secret: false },
  KANBOT_INBOX_HOLD_SECONDS: { example: "30", secret: false },
  KANBOT_SHUTDOWN_GRACE_SECONDS: { example: "10", secret: false },
  KANBOT_GITHUB_THROTTLE: { example: "false", secret: false },
} as const satisfies Record<SettingName, SettingInfo>;

// ---------------------------------------------------------------------------------------------
// Form checks
// ---------------------------------------------------------------------------------------------

const PKCS1 = ["-----BEGIN RSA PRIVATE KEY-----", "-----END RSA PRIVATE KEY-----"] as const;
const PKCS8 = ["-----BEGIN PRIVATE KEY-----", "-----END PRIVATE KEY-----"] as const;

/** The forms @probot/get-private-key accepts: PEM (PKCS#1 or #8), possibly base64-encoded. */
function looksLikePrivateKey(value: string): boolean {
  const decoded = isBase64(value) ? Buffer.from(value, "base64").toString("utf8") : value;
  return [PKCS1, PKCS8].some(([begin, end]) => decoded.includes(begin) && decoded.includes(end));
}

function isBase64(value: string): boolean {
  return value.length > 0 && Buffer.from(value, "base64").toString("base64") === value;
}

const URL_SCHEME = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//;

/**
 * Checks the forms the store accepts (`parseStoreUrl` in src/store/store-url.ts reads them; a
 * test keeps the two in agreement): a file path, `sqlite:<path>`, or a postgres(ql):// URL.
 */
function databaseUrlProblem(value: string): string | undefined {
  const scheme = URL_SCHEME.exec(value)?.[1]?.toLowerCase();
  if (scheme === "postgres" || scheme === "postgresql") {
    return URL.canParse(value) && new URL(value).host !== ""
      ? undefined
      : "is not a valid Postgres URL (the value is not shown because it can hold a password): expected postgres://user:password@host:5432/database";
  }
  if (scheme !== undefined && scheme !== "sqlite") {
    return `uses an unsupported database "${scheme}:": expected a SQLite file path, sqlite:<path> or a postgres:// URL`;
  }
  const sqliteFile = /^sqlite:/i.test(value)
    ? value.slice("sqlite:".length).replace(/^\/\//, "")
    : value;
  if (sqliteFile === "") {
    return "names no SQLite file: expected a file path such as ./data/kanbot.sqlite or sqlite:./data/kanbot.sqlite";
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Parsing
// ---------------------------------------------------------------------------------------------

/** One bad setting: its name, what is wrong, and a valid example (`NAME=value`). */
export interface SettingsProblem {
  name: string;
  problem: string;
  example: string;
}

/**
 * `app`: credentials are present, run the App. `setup`: no credentials at all, run Probot's setup
 * flow (it creates the App from app.yml and writes the credentials to .env), as `probot run` does.
 */
export type SettingsMode = "app" | "setup";

export type SettingsResult =
  | { ok: true; settings: Settings; mode: SettingsMode; warnings: SettingsProblem[] }
  | { ok: false; problems: SettingsProblem[] };

type Env = Record<string, string | undefined>;

/** The environment with empty values dropped: `NAME=` in a .env file means "not set". */
function present(env: Env): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (value !== undefined && value.trim() !== "") result[name] = value;
  }
  return result;
}

/**
 * False when the environment holds no GitHub App credentials at all (no APP_ID, no PRIVATE_KEY, no
 * PRIVATE_KEY_PATH): `kanbot start` then runs Probot's setup flow instead of failing. Partial
 * credentials count as present, and `parseSettings` reports what is missing.
 */
export function hasAppCredentials(env: Env): boolean {
  const set = present(env);
  return (
    set.APP_ID !== undefined || set.PRIVATE_KEY !== undefined || set.PRIVATE_KEY_PATH !== undefined
  );
}

function problem(name: SettingName, text: string): SettingsProblem {
  return { name, problem: text, example: `${name}=${SETTING_INFO[name].example}` };
}

/** Checks that span several settings: GitHub App credentials come as a set. */
function credentialProblems(set: Record<string, string>): SettingsProblem[] {
  const problems: SettingsProblem[] = [];
  const hasKey = set.PRIVATE_KEY !== undefined || set.PRIVATE_KEY_PATH !== undefined;
  if (!hasAppCredentials(set)) {
    if (set.NODE_ENV === "production") {
      problems.push(
        problem(
          "APP_ID",
          "missing: with NODE_ENV=production kanbot needs the GitHub App's credentials (APP_ID, PRIVATE_KEY or PRIVATE_KEY_PATH, WEBHOOK_SECRET); run once without NODE_ENV=production to create the App with the setup flow",
        ),
      );
    }
    return problems;
  }
  if (set.APP_ID === undefined) {
    problems.push(
      problem(
        "APP_ID",
        "missing: a private key is set but the App ID is not; copy it from the App's settings page",
      ),
    );
  }
  if (!hasKey) {
    problems.push(
      problem(
        "PRIVATE_KEY_PATH",
        "missing: APP_ID is set but there is no private key; set PRIVATE_KEY_PATH to the App's .pem file (or PRIVATE_KEY to its contents)",
      ),
    );
  }
  if (set.PRIVATE_KEY !== undefined && set.PRIVATE_KEY_PATH !== undefined) {
    problems.push(
      problem(
        "PRIVATE_KEY_PATH",
        "conflicts with PRIVATE_KEY: set only one of the two so it is clear which key is used",
      ),
    );
  }
  if (set.WEBHOOK_SECRET === undefined) {
    problems.push(
      problem(
        "WEBHOOK_SECRET",
        "missing: the App's credentials are set, so webhooks must be verified; copy the webhook secret from the App's settings",
      ),
    );
  }
  return problems;
}

const KANBOT_SETTING_NAMES = SETTING_NAMES.filter((name) => name.startsWith("KANBOT_"));

/** Unknown `KANBOT_*` variables are probably typos; `KANBOT_RUNNER_*` belongs to the runner. */
function unknownKanbotVariables(set: Record<string, string>): SettingsProblem[] {
  const known: readonly string[] = SETTING_NAMES;
  return Object.keys(set)
    .filter(
      (name) =>
        name.startsWith("KANBOT_") && !name.startsWith("KANBOT_RUNNER_") && !known.includes(name),
    )
    .map((name) => {
      const guess = closestName(name, KANBOT_SETTING_NAMES, 3);
      const suggestion = guess !== undefined && isSettingName(guess) ? guess : undefined;
      if (suggestion === undefined)
        return { name, problem: "is not a kanbot setting and is ignored", example: "" };
      return {
        name,
        problem: `is not a kanbot setting and is ignored (did you mean ${suggestion}?)`,
        example: `${suggestion}=${SETTING_INFO[suggestion].example}`,
      };
    });
}

/** Defence in depth: no secret's value may appear in a problem, whatever produced it. */
function redact(problems: SettingsProblem[], set: Record<string, string>): SettingsProblem[] {
  const secrets = SETTING_NAMES.filter((name) => SETTING_INFO[name].secret)
    .map((name) => set[name])
    .filter((value): value is string => value !== undefined && value.trim().length >= 4);
  return problems.map((entry) => ({
    ...entry,
    problem: secrets.reduce((text, secret) => text.split(secret).join("[redacted]"), entry.problem),
  }));
}

/**
 * Validates the environment. On success: the typed settings with defaults applied, whether to run
 * the App or the setup flow, and warnings (unknown `KANBOT_*` variables). On failure: one problem
 * per bad setting, each with a valid example; no secret's value appears in any of them.
 */
export function parseSettings(env: Env): SettingsResult {
  const set = present(env);
  const parsed = Settings.safeParse(set);
  const problems: SettingsProblem[] = [];
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const name = issue.path[0];
      if (typeof name === "string" && isSettingName(name))
        problems.push(problem(name, issue.message));
    }
  }
  const named = new Set(problems.map((entry) => entry.name));
  problems.push(...credentialProblems(set).filter((entry) => !named.has(entry.name)));
  if (!parsed.success || problems.length > 0) return { ok: false, problems: redact(problems, set) };
  return {
    ok: true,
    settings: parsed.data,
    mode: hasAppCredentials(set) ? "app" : "setup",
    warnings: redact(unknownKanbotVariables(set), set),
  };
}

/** One line per bad setting: `NAME: problem (example: NAME=value)`. */
export function formatSettingsProblems(problems: readonly SettingsProblem[]): string {
  return problems
    .map((entry) =>
      entry.example === ""
        ? `${entry.name}: ${entry.problem}`
        : `${entry.name}: ${entry.problem} (example: ${entry.example})`,
    )
    .join("\n");
}

/** The URL runners use to reach the app: KANBOT_PUBLIC_URL, else `http://localhost:<PORT>`. */
export function publicUrl(settings: Settings): string {
  return settings.KANBOT_PUBLIC_URL ?? `http://localhost:${settings.PORT}`;
}
