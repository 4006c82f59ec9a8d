/**
 * The one redaction policy (DESIGN section 7), shared by the runner and the app for every sink:
 * the stored job log, `jobs.result`, the `kanbot` check run, the PR body, the progress comment,
 * replies and both processes' own logs. It removes:
 *
 * 1. **known secrets** (the runner token, job tokens, configured secrets) in every form output
 *    is likely to hold: as is, base64 (standard and URL-safe, at any byte alignment, so a secret
 *    inside a longer encoded value such as `x-access-token:<token>` is found too) and
 *    URL-encoded;
 * 2. **token-shaped strings**, known or not: GitHub tokens (`ghp_`, `gho_`, `ghu_`, `ghs_`,
 *    `ghr_`, `github_pat_`), kanbot runner and registration tokens (`kbr_`, `kbreg_`) and model
 *    API keys (`sk-ant-…`, `sk-…` with mixed case and digits, so `sk-learn-…` survives);
 * 3. **encoded token shapes**: a run of base64 (either alphabet) or URL-encoded text is decoded
 *    and, when the decoded text holds a token shape or a known secret, the whole run is replaced.
 *
 * Streams arrive in chunks, and a secret may be split across two of them. The stream redactor
 * holds back the tail that is still the beginning of a known secret's form, and the trailing run
 * of token characters (letters, digits, `+/=_%.~-`), which no token or encoding crosses, so a
 * match is always seen whole before any part of it is released, and redacts what it releases as
 * {@link redactText} would.
 *
 * Pure: no I/O, no Node APIs (base64 is done here, UTF-8 through the standard TextEncoder).
 *
 * Why one long file: every form a secret is redacted in (plain, URL-encoded, base64 at each
 * offset, inside longer values) sits beside the others, so no writer redacts differently.
 */

export const REDACTED = "[REDACTED]";

/** Secrets shorter than this are ignored: redacting `a` or `1` would mangle every line. */
export const MIN_SECRET_LENGTH = 6;

/** A run of token characters longer than this is released in pieces (see the stream redactor). */
export const MAX_HELD_RUN = 64 * 1024;

/** How much of an over-long run is kept back when it is released in pieces. */
const HELD_RUN_TAIL = 1024;

/** Shortest base64 run worth decoding: `sk-` and 20 characters encode to 31, 28 when cut. */
const MIN_ENCODED_RUN = 28;

export interface StreamRedactor {
  /** Feeds a chunk; returns the text that is now safe to release (possibly empty). */
  push(chunk: string): string;
  /** Releases what is held back, redacted; call once at the end of the stream. */
  flush(): string;
  /** How many characters are held back now. */
  held(): number;
}

/** The secrets to redact: a list, or a function read on every chunk (job tokens arrive later). */
export type SecretSource = readonly string[] | (() => readonly string[]);

// ---------------------------------------------------------------------------------------------
// Token shapes
// ---------------------------------------------------------------------------------------------

/**
 * Token-shaped strings. GitHub's classic tokens are a prefix and 36 characters; fine-grained PATs
 * `github_pat_` and 82; kanbot's `kbr_`/`kbreg_` and 43 characters of base64url; Anthropic keys
 * `sk-ant-api03-…`; OpenAI keys `sk-…` (legacy 48 characters, `sk-proj-…` longer). `sk-` must
 * start a word (not `risk-…`, `task-…`).
 */
const TOKEN_SHAPE =
  /gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,}|kbr(?:eg)?_[A-Za-z0-9_-]{32,}|(?<![A-Za-z0-9])sk-(?:ant-)?[A-Za-z0-9_-]{20,}/g;

/** Characters that tokens and their encodings are made of: a run of them is held back whole. */
const TOKEN_CHAR = /[A-Za-z0-9+/=_%.~-]/;

/** A percent escape: text without one has no URL-encoded run to decode. */
const PERCENT_ESCAPE = /%[0-9A-Fa-f]{2}/;

/** A maximal run of URL-safe characters and percent escapes. */
const URL_RUN = /(?:[A-Za-z0-9._~+/=-]|%[0-9A-Fa-f]{2})+/g;

/** A maximal run of base64 (standard or URL-safe alphabet) with its padding. */
const BASE64_RUN = new RegExp(`[A-Za-z0-9+/_-]{${MIN_ENCODED_RUN},}={0,2}`, "g");

/**
 * Whether a `sk-` match is a key rather than a word: a generated key has upper and lower case
 * letters and digits (the chance that 20 random characters lack one of them is about 1 in 50,000);
 * names such as `sk-learn-compatible-estimators` do not.
 */
function isTokenMatch(match: string): boolean {
  if (!match.startsWith("sk-") || match.startsWith("sk-ant-")) return true;
  const body = match.slice(3);
  return /[A-Z]/.test(body) && /[a-z]/.test(body) && /[0-9]/.test(body);
}

/** The token shapes without the word boundary before `sk-`, for text decoded from an encoding. */
const TOKEN_SHAPE_ANYWHERE = new RegExp(TOKEN_SHAPE.source.replace("(?<![A-Za-z0-9])", ""), "g");

/**
 * Whether `text` holds a token shape. `anywhere`: also `sk-` inside a word, for text decoded from
 * base64, where the bytes before a key are whatever the encoded value held.
 */
export function hasTokenShape(text: string, anywhere = false): boolean {
  for (const match of text.matchAll(anywhere ? TOKEN_SHAPE_ANYWHERE : TOKEN_SHAPE)) {
    if (isTokenMatch(match[0])) return true;
  }
  return false;
}

// ---------------------------------------------------------------------------------------------
// Known secrets
// ---------------------------------------------------------------------------------------------

/** Every form of `secret` that output may contain, longest first. */
export function secretForms(secret: string): string[] {
  if (secret.length < MIN_SECRET_LENGTH) return [];
  const forms = new Set<string>([secret]);
  const bytes = utf8(secret);
  // The secret encoded on its own, padding included (redacted whole, not leaving "Q==" behind).
  forms.add(base64(bytes));
  forms.add(base64(bytes).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_"));
  for (let shift = 0; shift < 3; shift++) {
    const shifted = new Uint8Array(shift + bytes.length);
    shifted.set(bytes, shift);
    // Characters that depend only on the secret's bits: skip those mixing in the filler bytes
    // before it and those mixing in whatever follows it.
    const from = Math.ceil((shift * 8) / 6);
    const to = Math.floor(((shift + bytes.length) * 8) / 6);
    const standard = base64(shifted).slice(from, to);
    if (standard.length >= MIN_SECRET_LENGTH) {
      forms.add(standard);
      forms.add(standard.replace(/\+/g, "-").replace(/\//g, "_"));
    }
  }
  forms.add(encodeURIComponent(secret));
  forms.add(encodeURIComponent(secret).replace(/%20/g, "+"));
  return [...forms].sort((a, b) => b.length - a.length);
}

interface KnownSecrets {
  /** Every form of every secret, longest first. */
  forms: string[];
  /** One pattern matching any form (longest first at each place), or null without secrets. */
  pattern: RegExp | null;
  /** The secrets as they look once decoded from base64 (bytes as Latin-1 characters). */
  decoded: string[];
  plain: string[];
}

const NO_SECRETS: KnownSecrets = { forms: [], pattern: null, decoded: [], plain: [] };

function knownSecrets(secrets: readonly string[]): KnownSecrets {
  const plain = secrets.filter((secret) => secret.length >= MIN_SECRET_LENGTH);
  if (plain.length === 0) return NO_SECRETS;
  const forms = [...new Set(plain.flatMap(secretForms))].sort((a, b) => b.length - a.length);
  return {
    forms,
    pattern: new RegExp(forms.map(escapeRegExp).join("|"), "g"),
    decoded: plain.map((secret) => latin1(utf8(secret))),
    plain,
  };
}

// ---------------------------------------------------------------------------------------------
// Whole texts
// ---------------------------------------------------------------------------------------------

/** `text` with every known secret, token shape and encoded token shape replaced. */
export function redactText(text: string, secrets: readonly string[] = []): string {
  return redactWith(text, knownSecrets(secrets));
}

/** Every string inside a JSON-like value redacted (a job's result, an outcome); keys kept. */
export function redactJson<T>(value: T, secrets: readonly string[] = []): T {
  const known = knownSecrets(secrets);
  const walk = (node: unknown): unknown => {
    if (typeof node === "string") return redactWith(node, known);
    if (Array.isArray(node)) return node.map(walk);
    if (typeof node === "object" && node !== null) {
      return Object.fromEntries(Object.entries(node).map(([key, inner]) => [key, walk(inner)]));
    }
    return node;
  };
  return walk(value) as T;
}

/**
 * The policy's steps, in order: encoded runs that decode to a token shape or a known secret go
 * whole (so no edge of an encoding is left behind), then the known secrets' own forms, then
 * plain token shapes.
 */
function redactWith(text: string, known: KnownSecrets): string {
  let out = !PERCENT_ESCAPE.test(text)
    ? text
    : text.replace(URL_RUN, (match) => {
        // A sentence's full stop is not part of an encoding.
        const run = match.replace(/\.+$/, "");
        const dots = match.slice(run.length);
        return run.includes("%") && urlHides(run, known, 1) ? REDACTED + dots : match;
      });
  out = out.replace(BASE64_RUN, (run) => (base64Hides(run, known, 1) ? REDACTED : run));
  if (known.pattern !== null) out = out.replace(known.pattern, REDACTED);
  return out.replace(TOKEN_SHAPE, (match) => (isTokenMatch(match) ? REDACTED : match));
}

/** Whether decoded text holds a token shape or a known secret, looking `depth` encodings deeper. */
function isSensitive(text: string, known: KnownSecrets, depth: number): boolean {
  if (hasTokenShape(text, true)) return true;
  if (known.plain.some((secret) => text.includes(secret))) return true;
  if (known.decoded.some((secret) => text.includes(secret))) return true;
  if (depth <= 0) return false;
  if (PERCENT_ESCAPE.test(text)) {
    for (const [run] of text.matchAll(URL_RUN)) {
      if (run.includes("%") && urlHides(run, known, depth - 1)) return true;
    }
  }
  for (const [run] of text.matchAll(BASE64_RUN)) {
    if (base64Hides(run, known, depth - 1)) return true;
  }
  return false;
}

/** Whether a URL-encoded run, decoded (`+` as itself and as a space), holds something secret. */
function urlHides(run: string, known: KnownSecrets, depth: number): boolean {
  const decoded = percentDecode(run);
  if (isSensitive(decoded, known, depth)) return true;
  return run.includes("+") && isSensitive(percentDecode(run.replace(/\+/g, "%20")), known, depth);
}

/** Whether a base64 run, decoded from any of its four character offsets, holds something secret. */
function base64Hides(run: string, known: KnownSecrets, depth: number): boolean {
  // Encoded text always has capitals or digits; a path such as `src/pull-request-service` has
  // none and is not decoded (the known secrets' own base64 forms are matched as they are).
  if (!/[A-Z0-9]/.test(run)) return false;
  const standard = run.replace(/=+$/, "").replace(/-/g, "+").replace(/_/g, "/");
  for (let offset = 0; offset < 4; offset++) {
    if (standard.length - offset < MIN_ENCODED_RUN - 3) break;
    if (isSensitive(latin1(decodeBase64(standard.slice(offset))), known, depth)) return true;
  }
  return false;
}

// ---------------------------------------------------------------------------------------------
// Streams
// ---------------------------------------------------------------------------------------------

/**
 * A redactor for one stream (keep one per stdout/stderr: their chunks interleave). `secrets` may
 * be a function, read on every chunk, for secrets that become known during the stream.
 *
 * It releases the text before the first place a match could still be growing from, redacted as
 * a whole text would be: it holds back (1) a tail that is the beginning of a known secret's form
 * (or a whole form that a longer one could grow from), (2) the trailing run of token characters,
 * which no token or encoding crosses, and (3) any known form that would straddle the cut.
 */
export function createStreamRedactor(secrets: SecretSource = []): StreamRedactor {
  const read = typeof secrets === "function" ? secrets : () => secrets;
  let key: string | undefined;
  let known = NO_SECRETS;
  let pending = "";

  function current(): KnownSecrets {
    const list = read();
    const next = list.join("\u0000");
    if (next !== key) {
      key = next;
      known = knownSecrets(list);
    }
    return known;
  }

  /** Where the text that can be released now ends. */
  function cutPoint(secretsNow: KnownSecrets): number {
    let cut = pending.length;
    while (cut > 0 && TOKEN_CHAR.test(pending[cut - 1] as string)) cut--;
    if (pending.length - cut > MAX_HELD_RUN) cut = pending.length - HELD_RUN_TAIL;
    if (secretsNow.pattern === null) return cut;
    cut = Math.min(cut, heldFrom(pending, 0, secretsNow.forms));
    for (const match of pending.matchAll(secretsNow.pattern)) {
      if (match.index >= cut) break;
      if (match.index + match[0].length > cut) return match.index;
    }
    return cut;
  }

  return {
    push(chunk) {
      const secretsNow = current();
      pending += chunk;
      const cut = cutPoint(secretsNow);
      const out = redactWith(pending.slice(0, cut), secretsNow);
      pending = pending.slice(cut);
      return out;
    },
    flush() {
      const out = redactWith(pending, current());
      pending = "";
      return out;
    },
    held() {
      return pending.length;
    },
  };
}

/**
 * Where the held-back tail of `text` starts: the earliest place at or after `from` from which the
 * rest of `text` is the beginning of a form (not yet a whole one, or a whole one that a longer
 * form could still grow from). `text.length` when nothing needs holding.
 */
function heldFrom(text: string, from: number, forms: readonly string[]): number {
  let held = text.length;
  for (const form of forms) {
    const longest = Math.min(form.length - 1, text.length - from);
    for (let size = longest; size > 0; size--) {
      const start = text.length - size;
      if (start >= held) break;
      if (text.endsWith(form.slice(0, size))) {
        held = start;
        break;
      }
    }
  }
  return held;
}

// ---------------------------------------------------------------------------------------------
// Log lines
// ---------------------------------------------------------------------------------------------

/** Something text is written to: a pino destination, a stream. */
export interface TextSink {
  write(text: string): unknown;
}

/**
 * A pino destination that redacts each log line before writing it to `target`. pino writes one
 * line per record, so nothing is split; a JSON line stays valid (`[REDACTED]` needs no escaping
 * and no token character is JSON syntax).
 */
export function redactingSink(target: TextSink, secrets: SecretSource = []): TextSink {
  const read = typeof secrets === "function" ? secrets : () => secrets;
  let key: string | undefined;
  let known = NO_SECRETS;
  return {
    write(text: string) {
      const list = read();
      const next = list.join("\u0000");
      if (next !== key) {
        key = next;
        known = knownSecrets(list);
      }
      return target.write(redactWith(text, known));
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Encodings (pure)
// ---------------------------------------------------------------------------------------------

const BASE64_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
/** The value of each base64 character by its code (-1: not base64). */
const BASE64_VALUE = new Int8Array(128).fill(-1);
for (let index = 0; index < BASE64_ALPHABET.length; index++) {
  BASE64_VALUE[BASE64_ALPHABET.charCodeAt(index)] = index;
}

function utf8(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

const SINGLE_BYTE = new TextDecoder("latin1");

/** Bytes as a string of the same length, one character per byte (ASCII kept as is). */
function latin1(bytes: Uint8Array): string {
  return SINGLE_BYTE.decode(bytes);
}

/** Standard base64 with padding. */
function base64(bytes: Uint8Array): string {
  let out = "";
  for (let i = 0; i < bytes.length; i += 3) {
    const a = bytes[i] as number;
    const b = bytes[i + 1];
    const c = bytes[i + 2];
    const n = (a << 16) | ((b ?? 0) << 8) | (c ?? 0);
    out += BASE64_ALPHABET[(n >> 18) & 63];
    out += BASE64_ALPHABET[(n >> 12) & 63];
    out += b === undefined ? "=" : BASE64_ALPHABET[(n >> 6) & 63];
    out += c === undefined ? "=" : BASE64_ALPHABET[n & 63];
  }
  return out;
}

/** Decodes standard base64 without padding; a trailing lone character is ignored. */
function decodeBase64(text: string): Uint8Array {
  const bytes = new Uint8Array(Math.floor((text.length * 3) / 4));
  let size = 0;
  let bits = 0;
  let count = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    const value = code < 128 ? (BASE64_VALUE[code] as number) : -1;
    if (value < 0) continue;
    bits = ((bits << 6) | value) & 0xffffff;
    count += 6;
    if (count >= 8) {
      count -= 8;
      bytes[size++] = (bits >> count) & 0xff;
    }
  }
  return bytes.subarray(0, size);
}

/** `%XX` escapes decoded to characters (bytes as Latin-1; never throws on bad UTF-8). */
function percentDecode(text: string): string {
  return text.replace(/%([0-9A-Fa-f]{2})/g, (_match, hex: string) =>
    String.fromCharCode(parseInt(hex, 16)),
  );
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
