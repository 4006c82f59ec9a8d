import { describe, expect, it } from "vitest";

import {
  formatSettingsProblems,
  hasAppCredentials,
  parseSettings,
  publicUrl,
  SETTING_INFO,
  SETTING_NAMES,
  type SettingName,
  type SettingsProblem,
  type SettingsResult,
} from "../../../src/config/settings.js";
import { parseStoreUrl } from "../../../src/store/store-url.js";

const PEM =
  "-----BEGIN RSA PRIVATE KEY-----\nMIIBOgIBAAJBAKj34GkxFhD9\n-----END RSA PRIVATE KEY-----";
const PKCS8_PEM =
  "-----BEGIN PRIVATE KEY-----\nMIIBVQIBADANBgkqhkiG9w0B\n-----END PRIVATE KEY-----";

/** Complete, valid credentials, so a test sees only the problem it is about. */
const CREDENTIALS = {
  APP_ID: "123456",
  PRIVATE_KEY_PATH: "./kanbot.private-key.pem",
  WEBHOOK_SECRET: "webhook-secret-value",
};

function problemsOf(result: SettingsResult): SettingsProblem[] {
  if (result.ok) throw new Error("expected problems, got valid settings");
  return result.problems;
}

function settingsOf(result: SettingsResult) {
  if (!result.ok)
    throw new Error(`expected valid settings, got:\n${formatSettingsProblems(result.problems)}`);
  return result;
}

describe("parseSettings: one problem per bad setting", () => {
  it.each<[SettingName, string, string]>([
    ["APP_ID", "abc", 'expected a numeric ID, got "abc"'],
    ["APP_ID", "0", 'expected a numeric ID, got "0"'],
    ["PORT", "0", 'expected a whole number from 1 to 65535, got "0"'],
    ["PORT", "70000", 'expected a whole number from 1 to 65535, got "70000"'],
    ["PORT", "http", 'expected a whole number from 1 to 65535, got "http"'],
    ["GHE_PROTOCOL", "ftp", 'expected one of https, http, got "ftp"'],
    ["GHE_PROTOCOL", "HTTPS", 'expected one of https, http, got "HTTPS" (did you mean "https"?)'],
    ["GHE_HOST", "https://github.example.com", "expected a host name without protocol or path"],
    ["GHE_HOST", "github.example.com/api/v3", "expected a host name without protocol or path"],
    ["GH_ORG", "my org", 'expected an organisation login, got "my org"'],
    [
      "LOG_LEVEL",
      "verbose",
      'expected one of trace, debug, info, warn, error, fatal, silent, got "verbose"',
    ],
    ["LOG_LEVEL", "inof", '(did you mean "info"?)'],
    ["LOG_FORMAT", "xml", 'expected pretty or json, got "xml"'],
    ["LOG_LEVEL_IN_STRING", "yes", 'expected true or false, got "yes"'],
    ["WEBHOOK_PATH", "hooks", 'expected a URL path starting with "/", got "hooks"'],
    ["DATABASE_URL", "mysql://localhost/kanbot", 'uses an unsupported database "mysql:"'],
    ["DATABASE_URL", "sqlite:", "names no SQLite file"],
    ["DATABASE_URL", "postgres://", "is not a valid Postgres URL"],
    ["KANBOT_PUBLIC_URL", "kanbot.example.com", "expected an http(s) URL that runners can reach"],
    [
      "KANBOT_PUBLIC_URL",
      "ftp://kanbot.example.com",
      "expected an http(s) URL that runners can reach",
    ],
    ["KANBOT_LEASE_SECONDS", "0", 'expected a whole number ≥ 1, got "0"'],
    ["KANBOT_LEASE_SECONDS", "-5", 'expected a whole number ≥ 1, got "-5"'],
    ["KANBOT_LEASE_SECONDS", "1.5", 'expected a whole number ≥ 1, got "1.5"'],
    ["KANBOT_LEASE_SECONDS", "2m", 'expected a whole number ≥ 1, got "2m"'],
    ["KANBOT_CLAIM_TIMEOUT_SECONDS", "601", 'expected a whole number from 1 to 600, got "601"'],
    ["KANBOT_INBOX_CONCURRENCY", "0", 'expected a whole number from 1 to 256, got "0"'],
    ["KANBOT_INBOX_MAX_ATTEMPTS", "many", 'expected a whole number ≥ 1, got "many"'],
    ["KANBOT_INBOX_RETRY_BASE_MS", "0", 'expected a whole number ≥ 1, got "0"'],
    ["KANBOT_INBOX_RETRY_MAX_MS", "5s", 'expected a whole number ≥ 1, got "5s"'],
    ["KANBOT_REGISTRATION_TOKEN_TTL_SECONDS", "1h", 'expected a whole number ≥ 1, got "1h"'],
    ["KANBOT_API_MAX_BODY_BYTES", "1MB", 'expected a whole number ≥ 1, got "1MB"'],
    ["KANBOT_JOB_LOG_MAX_BYTES", "-1", 'expected a whole number ≥ 1, got "-1"'],
    ["KANBOT_DRY_RUN", "1", 'expected true or false, got "1"'],
    ["KANBOT_RECONCILE_ON_START", "no", 'expected true or false, got "no"'],
    ["KANBOT_GITHUB_THROTTLE", "off", 'expected true or false, got "off"'],
    ["KANBOT_INBOX_HOLD_SECONDS", "1", 'expected a whole number from 3 to 3600, got "1"'],
    ["KANBOT_SHUTDOWN_GRACE_SECONDS", "-1", 'expected a whole number from 0 to 600, got "-1"'],
  ])("%s=%s", (name, value, problem) => {
    const result = parseSettings({ ...CREDENTIALS, [name]: value });

    const problems = problemsOf(result);

    expect(problems).toHaveLength(1);
    expect(problems[0]?.name).toBe(name);
    expect(problems[0]?.problem).toContain(problem);
    expect(problems[0]?.example).toBe(`${name}=${SETTING_INFO[name].example}`);
    expect(formatSettingsProblems(problems)).toBe(
      `${name}: ${problems[0]?.problem} (example: ${name}=${SETTING_INFO[name].example})`,
    );
  });

  it("reports every bad setting at once, one line each", () => {
    const result = parseSettings({
      ...CREDENTIALS,
      PORT: "x",
      LOG_LEVEL: "loud",
      KANBOT_LEASE_SECONDS: "0",
    });

    const lines = formatSettingsProblems(problemsOf(result)).split("\n");

    expect(lines).toEqual([
      'PORT: expected a whole number from 1 to 65535, got "x" (example: PORT=3000)',
      'LOG_LEVEL: expected one of trace, debug, info, warn, error, fatal, silent, got "loud" (example: LOG_LEVEL=info)',
      'KANBOT_LEASE_SECONDS: expected a whole number ≥ 1, got "0" (example: KANBOT_LEASE_SECONDS=120)',
    ]);
  });

  it("shows a valid example for every setting, and the example parses", () => {
    for (const name of SETTING_NAMES) {
      const example = SETTING_INFO[name].example;
      if (name === "PRIVATE_KEY" || name === "WEBHOOK_SECRET" || name === "NODE_ENV") continue;

      const result = parseSettings({ ...CREDENTIALS, [name]: example });

      expect(result.ok, `${name}=${example}`).toBe(true);
    }
  });
});

describe("parseSettings: secrets never appear in a problem", () => {
  const secret = "s3cr3t-Value-That-Must-Not-Leak";

  it.each<[SettingName, string]>([
    ["PRIVATE_KEY", `not-a-key-${secret}`],
    ["WEBHOOK_PROXY_URL", `smee-${secret}`],
    ["SENTRY_DSN", `dsn-${secret}`],
    ["REDIS_URL", `http://user:${secret}@redis.example.com`],
    ["DATABASE_URL", `mysql://root:${secret}@db.example.com/kanbot`],
    ["DATABASE_URL", `postgres://root:${secret}@`],
  ])("a bad %s", (name, value) => {
    const result = parseSettings({
      APP_ID: "1",
      WEBHOOK_SECRET: "whatever-secret",
      PRIVATE_KEY_PATH: "k.pem",
      [name]: value,
    });

    const text = formatSettingsProblems(problemsOf(result));

    expect(text).toContain(`${name}: `);
    expect(text).not.toContain(secret);
  });

  it("a valid secret next to another bad setting", () => {
    const result = parseSettings({
      ...CREDENTIALS,
      WEBHOOK_SECRET: secret,
      PRIVATE_KEY: PEM,
      PRIVATE_KEY_PATH: undefined,
      APP_ID: "x",
    });

    const text = formatSettingsProblems(problemsOf(result));

    expect(text).toContain("APP_ID: ");
    expect(text).not.toContain(secret);
    expect(text).not.toContain("MIIBOgIBAAJBAKj34GkxFhD9");
  });
});

describe("GitHub App credentials", () => {
  it.each<[string, Record<string, string | undefined>, boolean]>([
    ["nothing", {}, false],
    ["empty values", { APP_ID: "", PRIVATE_KEY: " ", PRIVATE_KEY_PATH: "" }, false],
    ["only a webhook secret", { WEBHOOK_SECRET: "x" }, false],
    ["APP_ID", { APP_ID: "1" }, true],
    ["PRIVATE_KEY", { PRIVATE_KEY: PEM }, true],
    ["PRIVATE_KEY_PATH", { PRIVATE_KEY_PATH: "k.pem" }, true],
  ])("hasAppCredentials with %s", (_label, env, expected) => {
    expect(hasAppCredentials(env)).toBe(expected);
  });

  it.each<[string, Record<string, string>]>([
    ["no variables at all", {}],
    ["empty values (NAME= in .env)", { APP_ID: "", PRIVATE_KEY: "", WEBHOOK_SECRET: "" }],
    ["only a webhook secret", { WEBHOOK_SECRET: "x" }],
  ])("no credentials (%s) -> Probot's setup flow", (_label, env) => {
    const result = settingsOf(parseSettings(env));

    expect(result.mode).toBe("setup");
  });

  it.each<[string, Record<string, string>, string[]]>([
    [
      "APP_ID without a key",
      { APP_ID: "1", WEBHOOK_SECRET: "x" },
      ["PRIVATE_KEY_PATH: missing: APP_ID is set but there is no private key"],
    ],
    [
      "a key without APP_ID",
      { PRIVATE_KEY: PEM, WEBHOOK_SECRET: "x" },
      ["APP_ID: missing: a private key is set but the App ID is not"],
    ],
    [
      "a key path without APP_ID",
      { PRIVATE_KEY_PATH: "k.pem", WEBHOOK_SECRET: "x" },
      ["APP_ID: missing"],
    ],
    ["no webhook secret", { APP_ID: "1", PRIVATE_KEY_PATH: "k.pem" }, ["WEBHOOK_SECRET: missing"]],
    ["APP_ID only", { APP_ID: "1" }, ["PRIVATE_KEY_PATH: missing", "WEBHOOK_SECRET: missing"]],
    [
      "both key forms",
      { APP_ID: "1", PRIVATE_KEY: PEM, PRIVATE_KEY_PATH: "k.pem", WEBHOOK_SECRET: "x" },
      ["PRIVATE_KEY_PATH: conflicts with PRIVATE_KEY"],
    ],
    [
      "production without credentials",
      { NODE_ENV: "production" },
      ["APP_ID: missing: with NODE_ENV=production"],
    ],
  ])("partial credentials (%s) are problems", (_label, env, expected) => {
    const lines = formatSettingsProblems(problemsOf(parseSettings(env))).split("\n");

    expect(lines).toHaveLength(expected.length);
    expected.forEach((start, index) => expect(lines[index]).toContain(start));
  });

  it.each<[string, string]>([
    ["PKCS#1 PEM", PEM],
    ["PKCS#8 PEM", PKCS8_PEM],
    ["PEM with escaped newlines", PEM.replace(/\n/g, "\\n")],
    ["base64 of a PEM", Buffer.from(PEM).toString("base64")],
  ])("accepts a private key as %s", (_label, key) => {
    const result = settingsOf(
      parseSettings({ APP_ID: "1", PRIVATE_KEY: key, WEBHOOK_SECRET: "x" }),
    );

    expect(result.mode).toBe("app");
    expect(result.settings.APP_ID).toBe(1);
  });
});

describe("defaults and typed values", () => {
  it("applies every default to an empty environment", () => {
    const { settings } = settingsOf(parseSettings({}));

    expect(settings).toEqual({
      WEBHOOK_PATH: "/api/github/webhooks",
      GHE_PROTOCOL: "https",
      HOST: "localhost",
      PORT: 3000,
      LOG_LEVEL: "info",
      LOG_LEVEL_IN_STRING: false,
      LOG_MESSAGE_KEY: "msg",
      DATABASE_URL: "./data/kanbot.sqlite",
      KANBOT_LEASE_SECONDS: 120,
      KANBOT_CLAIM_TIMEOUT_SECONDS: 30,
      KANBOT_INBOX_CONCURRENCY: 4,
      KANBOT_INBOX_MAX_ATTEMPTS: 8,
      KANBOT_INBOX_RETRY_BASE_MS: 2000,
      KANBOT_INBOX_RETRY_MAX_MS: 300_000,
      KANBOT_REGISTRATION_TOKEN_TTL_SECONDS: 3600,
      KANBOT_API_MAX_BODY_BYTES: 1_048_576,
      KANBOT_JOB_LOG_MAX_BYTES: 10_485_760,
      KANBOT_DRY_RUN: false,
      KANBOT_RECONCILE_ON_START: true,
      KANBOT_INBOX_HOLD_SECONDS: 30,
      KANBOT_SHUTDOWN_GRACE_SECONDS: 10,
      KANBOT_GITHUB_THROTTLE: true,
    });
    expect(publicUrl(settings)).toBe("http://localhost:3000");
  });

  it("types values and ignores variables that are not settings", () => {
    const env = {
      ...CREDENTIALS,
      PORT: "8080",
      LOG_LEVEL_IN_STRING: "true",
      KANBOT_DRY_RUN: "FALSE",
      KANBOT_PUBLIC_URL: "https://kanbot.example.com/",
      GHE_HOST: "github.example.com:8443",
      GHE_PROTOCOL: "http",
      PATH: "/usr/bin",
    };

    const { settings, mode } = settingsOf(parseSettings(env));

    expect(mode).toBe("app");
    expect(settings).toMatchObject({
      APP_ID: 123456,
      PORT: 8080,
      LOG_LEVEL_IN_STRING: true,
      KANBOT_DRY_RUN: false,
    });
    expect(settings).not.toHaveProperty("PATH");
    expect(publicUrl(settings)).toBe("https://kanbot.example.com");
  });

  it("warns about unknown KANBOT_ variables (probably typos) but not the runner's", () => {
    const result = settingsOf(
      parseSettings({ KANBOT_LEASE_SECS: "60", KANBOT_RUNNER_TOKEN: "t", KANBOT_WHATEVER: "1" }),
    );

    expect(formatSettingsProblems(result.warnings).split("\n")).toEqual([
      "KANBOT_LEASE_SECS: is not a kanbot setting and is ignored (did you mean KANBOT_LEASE_SECONDS?) (example: KANBOT_LEASE_SECONDS=120)",
      "KANBOT_WHATEVER: is not a kanbot setting and is ignored",
    ]);
  });
});

describe("DATABASE_URL forms agree with the store", () => {
  it.each([
    ["./data/kanbot.sqlite", { dialect: "sqlite", path: "./data/kanbot.sqlite" }],
    ["/var/lib/kanbot/db.sqlite", { dialect: "sqlite", path: "/var/lib/kanbot/db.sqlite" }],
    ["sqlite:./data/k.sqlite", { dialect: "sqlite", path: "./data/k.sqlite" }],
    ["sqlite:///var/lib/k.sqlite", { dialect: "sqlite", path: "/var/lib/k.sqlite" }],
    ["sqlite::memory:", { dialect: "sqlite", path: ":memory:" }],
    [":memory:", { dialect: "sqlite", path: ":memory:" }],
    [
      "postgres://u:p@db:5432/kanbot",
      { dialect: "postgres", connectionString: "postgres://u:p@db:5432/kanbot" },
    ],
    ["postgresql://db/kanbot", { dialect: "postgres", connectionString: "postgresql://db/kanbot" }],
  ])("%s is accepted and opened by the store as expected", (url, expected) => {
    const result = settingsOf(parseSettings({ DATABASE_URL: url }));

    expect(parseStoreUrl(result.settings.DATABASE_URL)).toEqual(expected);
  });

  it.each(["mysql://localhost/kanbot", "sqlite:", "sqlite://"])("%s is refused by both", (url) => {
    expect(parseSettings({ DATABASE_URL: url }).ok).toBe(false);
    expect(() => parseStoreUrl(url)).toThrow();
  });
});
