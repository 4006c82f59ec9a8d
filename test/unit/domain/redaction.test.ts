// The redaction policy (src/domain/redaction.ts): every token shape in every encoding, split at
// every place across two chunks, and text that looks close but must survive.
import { randomBytes } from "node:crypto";

import { pino } from "pino";
import { describe, expect, it } from "vitest";

import {
  createStreamRedactor,
  hasTokenShape,
  MAX_HELD_RUN,
  REDACTED,
  redactingSink,
  redactJson,
  redactText,
  secretForms,
} from "../../../src/domain/redaction.js";

/** Random characters from `alphabet`, with at least one upper, lower case letter and digit. */
function randomChars(
  length: number,
  alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
): string {
  const bytes = randomBytes(length);
  const chars = [...bytes].map((byte) => alphabet[byte % alphabet.length]);
  chars[0] = "Q";
  chars[1] = "q";
  chars[2] = "7";
  return chars.join("");
}

/** One token of each shape the policy knows, generated as the real ones are. */
const TOKENS = {
  "GitHub personal (ghp_)": `ghp_${randomChars(36)}`,
  "GitHub OAuth (gho_)": `gho_${randomChars(36)}`,
  "GitHub user-to-server (ghu_)": `ghu_${randomChars(36)}`,
  "GitHub installation (ghs_)": `ghs_${randomChars(36)}`,
  "GitHub refresh (ghr_)": `ghr_${randomChars(76)}`,
  "GitHub fine-grained (github_pat_)": `github_pat_11A${randomChars(19)}_${randomChars(59)}`,
  "kanbot runner (kbr_)": `kbr_${randomBytes(32).toString("base64url")}`,
  "kanbot registration (kbreg_)": `kbreg_${randomBytes(32).toString("base64url")}`,
  "Anthropic (sk-ant-)": `sk-ant-api03-${randomChars(93, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")}AA`,
  "OpenAI legacy (sk-)": `sk-${randomChars(20)}T3BlbkFJ${randomChars(20)}`,
  "OpenAI project (sk-proj-)": `sk-proj-${randomChars(120, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")}`,
} as const;

const b64 = (text: string) => Buffer.from(text).toString("base64");
const b64url = (text: string) => Buffer.from(text).toString("base64url");
const everyCharEncoded = (text: string) =>
  [...Buffer.from(text)]
    .map((byte) => `%${byte.toString(16).toUpperCase().padStart(2, "0")}`)
    .join("");

/** The forms a token takes in output. */
const FORMS: readonly [string, (token: string) => string][] = [
  ["plain", (t) => t],
  ["in a URL's credentials", (t) => `https://x-access-token:${t}@github.com/o/r.git`],
  ["base64", (t) => b64(t)],
  ["base64 of a basic-auth pair", (t) => b64(`x-access-token:${t}`)],
  ["base64 one byte off", (t) => b64(`a${t}`)],
  ["base64 two bytes off", (t) => b64(`ab${t}\n`)],
  ["base64url", (t) => b64url(`??${t}>>`)],
  ["base64 inside JSON", (t) => b64(JSON.stringify({ auths: { "ghcr.io": { auth: t } } }))],
  ["URL-encoded", (t) => encodeURIComponent(`token=${t}&x=1`)],
  ["every character percent-encoded", (t) => everyCharEncoded(t)],
  ["URL-encoded base64", (t) => encodeURIComponent(b64(`x-access-token:${t}`))],
];

const CASES = Object.entries(TOKENS).flatMap(([shape, token]) =>
  FORMS.map(([form, encode]) => [shape, form, token, encode(token)] as const),
);

/** Whether `text` still holds any recognisable piece of `token`. */
function leaks(text: string, token: string): string[] {
  const pieces = [token, token.slice(0, 12), token.slice(-12), b64(token).slice(4, 24)];
  return pieces.filter((piece) => text.includes(piece));
}

describe("redactText: token shapes", () => {
  it.each(CASES)("removes a %s token %s", (_shape, _form, token, encoded) => {
    const text = `before ${encoded} after\n`;

    const out = redactText(text);

    expect(leaks(out, token)).toEqual([]);
    expect(out).toContain(REDACTED);
    expect(out.startsWith("before ")).toBe(true);
    expect(out.endsWith(" after\n")).toBe(true);
  });

  it.each([
    ["the scikit-learn short name", "pip install sk-learn"],
    ["a hyphenated package name", "uses sk-learn-compatible-estimators-v2 here"],
    ["a word ending in sk-", "risk-assessment-for-production-systems-2024"],
    ["a word ending in sk- with mixed case", "task-RunnerAbcdefghij0123456789Klmnop"],
    ["a short prefix", "ghp_tooShort123 and github_pat_short and kbr_x"],
    ["a ghost", "ghost_town_abcdefghijklmnopqrstuvwxyz0123456789"],
    ["a commit SHA", "head 0123456789abcdef0123456789abcdef01234567 pushed"],
    ["a UUID", "session 3f2b8c1e-9d4a-4e7b-8f6c-2a1b3c4d5e6f resumed"],
    ["a path", "src/services/pull-request-service.ts:123:45 error TS2345"],
    ["a query string", "https://example.com/search?q=hello%20world&lang=en&page=2"],
    [
      "a JWT-like header",
      `eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.${b64url('{"sub":"1234567890","name":"Jo"}')}`,
    ],
    ["a SHA-512 integrity hash", `sha512-${randomBytes(64).toString("base64")}`],
  ])("leaves %s alone", (_name, text) => {
    expect(redactText(text)).toBe(text);
  });

  it("leaves an ordinary base64 image alone", () => {
    const image = `![x](data:image/png;base64,${randomBytes(6000).toString("base64")})`;

    expect(redactText(image)).toBe(image);
  });

  it("finds a token shape in a base64 image's bytes", () => {
    const bytes = Buffer.concat([
      randomBytes(3000),
      Buffer.from(TOKENS["kanbot runner (kbr_)"]),
      randomBytes(3000),
    ]);

    const out = redactText(`data:image/png;base64,${bytes.toString("base64")}`);

    expect(out).toBe(`data:image/png;base64,${REDACTED}`);
  });

  it("says whether text holds a token shape", () => {
    expect(hasTokenShape(`x ${TOKENS["GitHub installation (ghs_)"]}`)).toBe(true);
    expect(hasTokenShape("sk-learn-compatible-estimators-v2")).toBe(false);
  });
});

describe("redactText: known secrets", () => {
  const secret = "s3cr3t+Deploy/Key=2026 xyz";

  it.each([
    ["plain", secret],
    ["base64", b64(secret)],
    ["base64 one byte off", b64(`:${secret}`)],
    ["base64 two bytes off", b64(`::${secret}`)],
    ["base64url", b64url(`??${secret}`)],
    ["URL-encoded", encodeURIComponent(secret)],
    ["form-encoded", encodeURIComponent(secret).replace(/%20/g, "+")],
    ["every character percent-encoded", everyCharEncoded(secret)],
  ])("removes the %s form", (_form, encoded) => {
    const out = redactText(`value: ${encoded}.`, [secret]);

    expect(out).toBe(`value: ${REDACTED}.`);
  });

  it("keeps every form of a secret, longest first", () => {
    const forms = secretForms(secret);

    expect(forms).toContain(b64(secret));
    expect(forms).toContain(encodeURIComponent(secret));
    expect([...forms].sort((a, b) => b.length - a.length)).toEqual(forms);
  });

  it("ignores secrets too short to redact without mangling text", () => {
    expect(redactText("a b c 12345", ["12345"])).toBe("a b c 12345");
  });
});

describe("createStreamRedactor", () => {
  function streamed(chunks: readonly string[], secrets: readonly string[] = []): string {
    const redactor = createStreamRedactor(secrets);
    return chunks.map((chunk) => redactor.push(chunk)).join("") + redactor.flush();
  }

  it.each(Object.entries(TOKENS))(
    "finds a %s token split at every place across two chunks, in every form",
    (_shape, token) => {
      const text = `start ${token} then ${b64(`x-access-token:${token}`)} and ${encodeURIComponent(b64(token))} end\n`;
      const whole = redactText(text);
      const wrong: number[] = [];

      for (let cut = 1; cut < text.length; cut++) {
        const out = streamed([text.slice(0, cut), text.slice(cut)]);
        if (out !== whole || leaks(out, token).length > 0) wrong.push(cut);
      }

      expect(whole).toBe(`start ${REDACTED} then ${REDACTED} and ${REDACTED} end\n`);
      expect(wrong).toEqual([]);
    },
  );

  it("finds a known secret split at every place, with the token shapes around it", () => {
    const secret = "hunter2 with spaces & symbols";
    const token = TOKENS["GitHub installation (ghs_)"];
    const text = `a ${secret} b ${token} c ${b64(`:${secret}`)} d\n`;
    const wrong: number[] = [];

    for (let cut = 1; cut < text.length; cut++) {
      const out = streamed([text.slice(0, cut), text.slice(cut)], [secret]);
      if (out !== `a ${REDACTED} b ${REDACTED} c ${REDACTED} d\n`) wrong.push(cut);
    }

    expect(wrong).toEqual([]);
  });

  it("redacts text fed one character at a time", () => {
    const token = TOKENS["kanbot runner (kbr_)"];
    const text = `plain ${token}\nbase64 ${b64(token)}\n`;

    expect(streamed([...text])).toBe(`plain ${REDACTED}\nbase64 ${REDACTED}\n`);
  });

  it("holds back only a trailing run of token characters, and releases whole lines", () => {
    const redactor = createStreamRedactor();

    expect(redactor.push("line one\nline tw")).toBe("line one\nline ");
    expect(redactor.held()).toBe(2);
    expect(redactor.push("o\n")).toBe("two\n");
    expect(redactor.held()).toBe(0);
  });

  it("reads a secret source on every chunk (a job token issued mid-stream)", () => {
    const secrets: string[] = [];
    const redactor = createStreamRedactor(() => secrets);

    const before = redactor.push("no token yet: ");
    secrets.push("job-token-not-shaped-1234");
    const after = redactor.push("job-token-not-shaped-1234 now\n") + redactor.flush();

    expect(before + after).toBe(`no token yet: ${REDACTED} now\n`);
  });

  it("does not hold an endless run of token characters forever", () => {
    const redactor = createStreamRedactor();
    const run = "a".repeat(MAX_HELD_RUN + 10_000);

    const released = redactor.push(run);

    expect(released.length).toBeGreaterThan(0);
    expect(released + redactor.flush()).toBe(run);
  });
});

describe("redactJson", () => {
  it("redacts every string of a result and keeps its shape", () => {
    const token = TOKENS["kanbot runner (kbr_)"];
    const result = {
      status: "failed",
      summary: `done with ${token}`,
      error: `push failed: ${b64(`x-access-token:${token}`)}`,
      validation: [{ command: "npm test", passed: false, exitCode: 1, outputTail: `env ${token}` }],
      costUsd: 0.5,
    };

    const out = redactJson(result);

    expect(out).toEqual({
      status: "failed",
      summary: `done with ${REDACTED}`,
      error: `push failed: ${REDACTED}`,
      validation: [
        { command: "npm test", passed: false, exitCode: 1, outputTail: `env ${REDACTED}` },
      ],
      costUsd: 0.5,
    });
  });
});

describe("redactingSink", () => {
  it("redacts every pino line, whatever field the token is in, and keeps the line JSON", () => {
    const lines: string[] = [];
    const secret = "configured-secret-value";
    const log = pino(
      { level: "info" },
      redactingSink({ write: (line) => lines.push(line) }, [secret]),
    );
    const token = TOKENS["kanbot runner (kbr_)"];

    log.error({ err: new Error(`refused ${token}`), url: `https://x:${secret}@h/` }, "call failed");
    log.info(`message with ${b64(`x-access-token:${token}`)}`);

    expect(lines).toHaveLength(2);
    expect(leaks(lines.join(""), token)).toEqual([]);
    expect(lines.join("")).not.toContain(secret);
    const [first, second] = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect((first?.err as { message: string }).message).toBe(`refused ${REDACTED}`);
    expect(first?.url).toBe(`https://x:${REDACTED}@h/`);
    expect(second?.msg).toBe(`message with ${REDACTED}`);
  });
});
