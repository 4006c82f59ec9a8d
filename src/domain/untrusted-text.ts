/**
 * Untrusted text (issue 11, DESIGN section 7): what kanbot does to every piece of text written on
 * GitHub (issue title and body, comments, review comments, `/kanbot <text>` instructions) or by
 * CI (check output) before it is stored or reaches an agent's prompt. Pure.
 *
 * 1. {@link stripInvisible}: characters a person reading the issue on GitHub cannot see, but a
 *    language model reads, are removed: zero-width characters, bidi controls, Unicode tag
 *    characters, every other format character (category Cf) and default-ignorable code point,
 *    and control characters. What emoji need survives: a zero-width joiner between two emoji, a
 *    variation selector right after the character it selects, and the tag sequences of the
 *    subdivision flags that are displayed as flags (England, Scotland, Wales).
 * 2. {@link defuseMarkers}: text that could be read as one of the prompt's untrusted-block
 *    markers (`<<<BEGIN UNTRUSTED`, `<<<END UNTRUSTED`) is labelled `[defused]`, in every variant
 *    that reads the same: any case, any whitespace (none included), invisible characters inside,
 *    compatibility forms (fullwidth `＜`, mathematical letters) and common look-alike letters.
 * 3. {@link capText}: text longer than GitHub itself allows is cut, with a visible note.
 */

/** GitHub's limit for an issue body and a comment, in characters ("body is too long (maximum is 65536 characters)"). */
export const GITHUB_BODY_LIMIT = 65_536;

/** GitHub's limit for an issue title, in characters. */
export const GITHUB_TITLE_LIMIT = 256;

/**
 * The stored issue text kanbot gives an agent (the body followed by the comments of trusted
 * people, each capped at {@link GITHUB_BODY_LIMIT}): at most four bodies' worth.
 */
export const ISSUE_THREAD_LIMIT = 4 * GITHUB_BODY_LIMIT;

/** The prompt's marker that opens a block of untrusted text (followed by `: label>>>`). */
export const UNTRUSTED_BEGIN = "<<<BEGIN UNTRUSTED";
/** The prompt's marker that closes a block of untrusted text (followed by `: label>>>`). */
export const UNTRUSTED_END = "<<<END UNTRUSTED";

/** What a defused marker phrase is prefixed with (its `<<<`, if any, is replaced by it). */
export const DEFUSED = "[defused] ";

/** The tag sequences (after U+1F3F4) that platforms display as flags: England, Scotland, Wales. */
export const FLAG_TAG_SEQUENCES: readonly string[] = ["gbeng", "gbsct", "gbwls"];

const ZWJ = "\u200d";
const BLACK_FLAG = 0x1f3f4;
const TAG_CANCEL = 0xe007f;

/** Printable ASCII, tabs and newlines: nothing to strip (a fast path for the common case). */
const PLAIN_ASCII = /^[\t\n\x20-\x7e]*$/;
const FORMAT_OR_IGNORABLE = /^[\p{Cf}\p{Default_Ignorable_Code_Point}]$/u;
const CONTROL = /^\p{Cc}$/u;
const PICTOGRAPHIC = /^\p{Extended_Pictographic}$/u;
const EMOJI_MODIFIER = /^\p{Emoji_Modifier}$/u;
/** A character a variation selector may follow: a letter, digit, symbol or punctuation. */
const SELECTABLE = /^[\p{L}\p{N}\p{S}\p{P}]$/u;

function isVariationSelector(code: number): boolean {
  return (code >= 0xfe00 && code <= 0xfe0f) || (code >= 0xe0100 && code <= 0xe01ef);
}

/**
 * `text` without the characters GitHub does not show: format characters (Unicode category Cf:
 * zero-width space, non-joiner and joiner, word joiner, byte order mark, bidi embeddings,
 * overrides, isolates and marks, tag characters…), the other default-ignorable code points
 * (Hangul fillers, unassigned tag-plane code points…), and control characters other than tab
 * and newline (`\r\n` and `\r` become `\n`; U+2028 and U+2029 become `\n`). A lone surrogate
 * becomes U+FFFD.
 *
 * Kept, because emoji need them and each is bound to a visible character:
 * - U+200D (zero-width joiner) between two emoji (👨‍👩‍👧, 🏳️‍🌈, 👩🏽‍💻);
 * - one variation selector (U+FE00-U+FE0F, U+E0100-U+E01EF) right after a letter, digit, symbol
 *   or punctuation (❤️, 1️⃣, ideographic variants); a second one in a row is removed, so they
 *   cannot carry hidden data;
 * - tag characters only in the flag sequences of {@link FLAG_TAG_SEQUENCES} (🏴󠁧󠁢󠁥󠁮󠁧󠁿): any
 *   other tag sequence is shown as a plain black flag with the tags invisible, so its tags go.
 */
export function stripInvisible(text: string): string {
  if (PLAIN_ASCII.test(text)) return text;
  const chars = Array.from(text.replace(/\r\n?|[\u2028\u2029]/g, "\n"));
  const out: string[] = [];
  for (let at = 0; at < chars.length; at++) {
    const char = chars[at] ?? "";
    const code = char.codePointAt(0) ?? 0;
    if (code >= 0xd800 && code <= 0xdfff) {
      out.push("\ufffd");
      continue;
    }
    if (code === BLACK_FLAG) {
      const flag = flagTagSequence(chars, at);
      out.push(char, ...flag);
      at += flag.length;
      continue;
    }
    if (isVariationSelector(code)) {
      const previous = out[out.length - 1];
      if (previous !== undefined && SELECTABLE.test(previous)) out.push(char);
      continue;
    }
    if (char === ZWJ) {
      if (joinsEmoji(out, chars[at + 1])) out.push(char);
      continue;
    }
    if (char === "\t" || char === "\n") {
      out.push(char);
      continue;
    }
    if (CONTROL.test(char) || FORMAT_OR_IGNORABLE.test(char)) continue;
    out.push(char);
  }
  return out.join("");
}

/** The tags and cancel tag after a black flag at `at`, when they form a displayed flag. */
function flagTagSequence(chars: readonly string[], at: number): string[] {
  let spec = "";
  for (let next = at + 1; next < chars.length; next++) {
    const code = chars[next]?.codePointAt(0) ?? 0;
    if (code === TAG_CANCEL) {
      return FLAG_TAG_SEQUENCES.includes(spec) ? chars.slice(at + 1, next + 1) : [];
    }
    if (code < 0xe0020 || code > 0xe007e || spec.length >= 8) return [];
    spec += String.fromCodePoint(code - 0xe0000);
  }
  return [];
}

/** Whether a zero-width joiner between the kept text `out` and `next` joins two emoji. */
function joinsEmoji(out: readonly string[], next: string | undefined): boolean {
  if (next === undefined || !PICTOGRAPHIC.test(next)) return false;
  const previous = out[out.length - 1] ?? "";
  const code = previous.codePointAt(0) ?? 0;
  if (PICTOGRAPHIC.test(previous) || EMOJI_MODIFIER.test(previous) || code === TAG_CANCEL) {
    return true;
  }
  // An emoji with its emoji-style selector: ❤️‍🔥, 🏳️‍🌈.
  return code === 0xfe0f && PICTOGRAPHIC.test(out[out.length - 2] ?? "");
}

// ---------------------------------------------------------------------------------------------
// Markers
// ---------------------------------------------------------------------------------------------

/**
 * Letters that look like the marker words' letters (b, d, e, g, i, n, r, s, t, u) and that NFKC
 * leaves alone: Cyrillic, Greek, Armenian and Latin small capitals, after lower-casing. A partial
 * list (UTS #39 confusable skeletons are not implemented).
 */
const LOOKALIKES: Readonly<Record<string, string>> = {
  "\u0430": "a",
  "\u0432": "b",
  "\u0435": "e",
  "\u0451": "e",
  "\u0456": "i",
  "\u0457": "i",
  "\u0455": "s",
  "\u0442": "t",
  "\u0501": "d",
  "\u0261": "g",
  "\u0131": "i",
  "\u03b2": "b",
  "\u03b5": "e",
  "\u03b9": "i",
  "\u03bd": "n",
  "\u03c4": "t",
  "\u03c5": "u",
  "\u0578": "n",
  "\u057d": "u",
  "\u0299": "b",
  "\u1d05": "d",
  "\u1d07": "e",
  "\u0262": "g",
  "\u026a": "i",
  "\u0274": "n",
  "\u0280": "r",
  "\ua731": "s",
  "\u1d1b": "t",
  "\u1d1c": "u",
};

const INVISIBLE_OR_MARK = /^[\p{Cf}\p{Default_Ignorable_Code_Point}\p{M}\p{Cc}]$/u;
// Not `\s`: it counts U+FEFF as a space, and an invisible character must fold to nothing.
const SPACE_LIKE = /^[\p{Z}\t\n\v\f\r\u0085\-_*~`]$/u;
const MARKER_PHRASE = /((?:< *)*)(?<![\p{L}\p{N}])(?:begin|end) *untrusted/gu;

/**
 * `text` with every phrase that reads as `BEGIN UNTRUSTED` or `END UNTRUSTED` labelled
 * {@link DEFUSED}: a run of `<` before it (the marker's `<<<`) is replaced by the label, so the
 * text can neither close its own block nor open a new one, and stays readable.
 *
 * Phrases are compared on a folded copy of the text: each character in NFKC form and lower case,
 * look-alike letters mapped to ASCII, invisible characters, combining marks and control
 * characters dropped, and whitespace of any kind, `-`, `_`, `*`, `~` and backticks read as a
 * space; any number of spaces (none included) may separate the two words and the `<`s. A phrase
 * must start a word (`weekend untrusted` is left alone). Idempotent: an already defused phrase
 * is not labelled twice.
 */
export function defuseMarkers(text: string): string {
  if (PLAIN_ASCII.test(text) && !/untrusted/i.test(text)) return text;
  let folded = "";
  const origin: number[] = [];
  let offset = 0;
  for (const char of text) {
    const piece = foldChar(char);
    for (let unit = 0; unit < piece.length; unit++) origin.push(offset);
    folded += piece;
    offset += char.length;
  }
  origin.push(offset);

  let result = "";
  let copied = 0;
  for (const match of folded.matchAll(MARKER_PHRASE)) {
    const start = origin[match.index] ?? 0;
    const word = origin[match.index + (match[1] ?? "").length] ?? start;
    if (start === word && text.startsWith(DEFUSED, word - DEFUSED.length)) continue;
    if (start < copied) continue;
    result += text.slice(copied, start) + DEFUSED;
    copied = word;
  }
  return result + text.slice(copied);
}

function foldChar(char: string): string {
  const code = char.charCodeAt(0);
  if (code > 0x20 && code < 0x7f && !SPACE_LIKE.test(char)) return char.toLowerCase();
  if (SPACE_LIKE.test(char)) return " ";
  if (INVISIBLE_OR_MARK.test(char)) return "";
  let folded = "";
  for (const part of char.normalize("NFKC").toLowerCase()) {
    if (SPACE_LIKE.test(part)) folded += " ";
    else if (!INVISIBLE_OR_MARK.test(part)) folded += LOOKALIKES[part] ?? part;
  }
  return folded;
}

// ---------------------------------------------------------------------------------------------
// Caps
// ---------------------------------------------------------------------------------------------

/** The visible note left where text was cut. */
export function cutNote(removed: number, limit: number): string {
  return `[… ${groupDigits(removed)} more characters cut: kanbot keeps at most ${groupDigits(limit)}]`;
}

/**
 * `text` when it has at most `limit` characters (UTF-16 code units, which never undercount
 * GitHub's characters); otherwise its start and a {@link cutNote}, together at most `limit`
 * characters. `separator` goes between the kept text and the note (`" "` for one-line text).
 * A surrogate pair, emoji sequence or invisible character cut in half is removed.
 */
export function capText(text: string, limit: number, separator: "\n" | " " = "\n"): string {
  if (text.length <= limit) return text;
  const room = Math.max(0, limit - cutNote(text.length, limit).length - separator.length);
  const kept = stripInvisible(text.slice(0, room)).replace(/[\uFFFD\s]+$/u, "");
  const note = cutNote(text.length - kept.length, limit);
  return kept === "" ? note : `${kept}${separator}${note}`;
}

function groupDigits(value: number): string {
  return String(value).replace(/\B(?=(\d{3})+$)/g, ",");
}

// ---------------------------------------------------------------------------------------------
// What callers use
// ---------------------------------------------------------------------------------------------

/**
 * Issue or comment text as kanbot stores it: capped at `limit` (default
 * {@link GITHUB_BODY_LIMIT}; GitHub counts invisible characters too, so the cap comes first)
 * and invisible characters stripped. Markers are defused later, in the prompt.
 */
export function storedIssueText(text: string, limit: number = GITHUB_BODY_LIMIT): string {
  return stripInvisible(capText(text, limit));
}

/** An issue title as kanbot stores it: capped at 256, invisible characters stripped, one line. */
export function storedIssueTitle(title: string): string {
  return oneLine(stripInvisible(capText(title, GITHUB_TITLE_LIMIT, " ")));
}

/**
 * Untrusted text as it enters a prompt: capped at `limit` (default {@link GITHUB_BODY_LIMIT}),
 * invisible characters stripped and marker phrases defused. Defusing lengthens the text a little;
 * when that takes it over `limit` it is cut again.
 */
export function promptSafeText(text: string, limit: number = GITHUB_BODY_LIMIT): string {
  return capText(defuseMarkers(stripInvisible(capText(text, limit))), limit);
}

/**
 * A label for an untrusted block (an author, a path, a check's name): the same rules, on one
 * line, without `<` or `>`, capped at 256 characters.
 */
export function promptSafeLabel(label: string): string {
  const line = stripInvisible(capText(label, GITHUB_TITLE_LIMIT, " "));
  return capText(
    defuseMarkers(oneLine(line.replace(/[<>\uFF1C\uFF1E\uFE64\uFE65]+/g, " "))),
    GITHUB_TITLE_LIMIT,
    " ",
  );
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, " ").trim();
}
