/**
 * Issue text as kanbot reads it: hidden HTML comments removed (DESIGN section 7), the lines a
 * person can see as prose (for commands and dependency lines), and the acceptance criteria.
 */

const COMMENT_OPEN = "<!--";
const COMMENT_CLOSE = "-->";

/**
 * Removes every HTML comment (`<!-- … -->`) from `text`, including multi-line ones. An
 * unterminated `<!--` hides the rest of the text on GitHub, so everything after it is removed.
 *
 * Comments are removed everywhere, code blocks included: a parser that disagreed with GitHub
 * about where a code block ends would let hidden text through, and losing a comment from a code
 * sample costs much less than that. The search for `-->` starts after the whole `<!--`, so the
 * ambiguous `<!-->` also hides what follows it (the conservative reading).
 *
 * Lines left empty by a removed comment are dropped, runs of blank lines are collapsed to one and
 * the result is trimmed at the end.
 */
export function stripHtmlComments(text: string): string {
  const normalized = normalizeNewlines(text);
  let out = "";
  let at = 0;
  let removedSome = false;
  for (;;) {
    const open = normalized.indexOf(COMMENT_OPEN, at);
    if (open === -1) {
      out += normalized.slice(at);
      break;
    }
    out += normalized.slice(at, open);
    removedSome = true;
    const close = normalized.indexOf(COMMENT_CLOSE, open + COMMENT_OPEN.length);
    if (close === -1) break;
    at = close + COMMENT_CLOSE.length;
  }
  if (!removedSome) return normalized;
  return out
    .split("\n")
    .map((line) => line.replace(/[ \t]+$/, ""))
    .join("\n")
    .replace(/\n{3,}/g, "\n\n")
    .replace(/^\n+/, "")
    .trimEnd();
}

/** `\r\n` and lone `\r` become `\n`. */
export function normalizeNewlines(text: string): string {
  return text.replace(/\r\n?/g, "\n");
}

/** What a line of markdown is, as far as kanbot cares. */
export type LineKind = "prose" | "code" | "quote";

export interface MarkdownLine {
  /** The line without its newline. */
  text: string;
  kind: LineKind;
}

const FENCE = /^ {0,3}(`{3,}|~{3,})(.*)$/;
const QUOTE = /^ {0,3}>/;

/**
 * Splits markdown into lines and tells fenced code (the fences included) and block quotes from
 * prose. HTML comments are removed first, so nothing hidden counts. An unterminated fence runs to
 * the end of the text, as on GitHub. Indented code blocks are not detected (they cannot be told
 * from list continuations without a full parser); commands additionally require that a line
 * starts with at most three spaces.
 */
export function classifyLines(text: string): MarkdownLine[] {
  const lines = stripHtmlComments(text).split("\n");
  const result: MarkdownLine[] = [];
  let fence: { char: string; length: number } | undefined;
  for (const line of lines) {
    if (fence !== undefined) {
      result.push({ text: line, kind: "code" });
      const close = FENCE.exec(line);
      const marker = close?.[1];
      if (
        marker !== undefined &&
        marker[0] === fence.char &&
        marker.length >= fence.length &&
        (close?.[2] ?? "").trim() === ""
      ) {
        fence = undefined;
      }
      continue;
    }
    const open = FENCE.exec(line);
    const marker = open?.[1];
    // A backtick fence's info string may not contain a backtick (CommonMark).
    if (marker !== undefined && !(marker[0] === "`" && (open?.[2] ?? "").includes("`"))) {
      fence = { char: marker[0] ?? "`", length: marker.length };
      result.push({ text: line, kind: "code" });
      continue;
    }
    result.push({ text: line, kind: QUOTE.test(line) ? "quote" : "prose" });
  }
  return result;
}

/** The prose lines of `text`: outside fenced code blocks and block quotes, comments removed. */
export function proseLines(text: string): string[] {
  return classifyLines(text)
    .filter((line) => line.kind === "prose")
    .map((line) => line.text);
}

const HEADING = /^ {0,3}(#{1,6})[ \t]+(.*?)[ \t#]*$/;
const BOLD_TITLE = /^ {0,3}(?:\*\*|__)(.+?)(?:\*\*|__)[ \t]*:?[ \t]*$/;
const PLAIN_TITLE = /^ {0,3}([^\s].*?):[ \t]*$/;
const CRITERIA_TITLE = /^(?:acceptance criteria|done when|definition of done)\b[\s:]*$/i;
const LIST_ITEM = /^([ \t]*)(?:[-*+]|\d{1,9}[.)])[ \t]+(.*)$/;
const TASK_ITEM = /^[ \t]*(?:[-*+]|\d{1,9}[.)])[ \t]+\[[ xX]\][ \t]+(.*)$/;
const CHECKBOX = /^\[[ xX]\][ \t]+/;

/**
 * The acceptance criteria of an issue, one string per criterion, with hidden comments removed.
 *
 * 1. A section titled `Acceptance criteria`, `Done when` or `Definition of done` (case-insensitive;
 *    a `#`-heading of any level, a line in bold, or a plain line ending in `:`). The section ends
 *    at the next heading of the same or a higher level (any heading for a bold or plain title).
 *    Each list item is one criterion (a `[ ]`/`[x]` checkbox is dropped, continuation lines are
 *    joined); a paragraph outside a list is one criterion.
 * 2. Otherwise every task-list item (`- [ ] …`, `- [x] …`) in the body.
 *
 * Lines in fenced code blocks never start or end a section; within a section they are skipped.
 */
export function extractAcceptanceCriteria(body: string): string[] {
  const lines = classifyLines(body);
  const fromSection = criteriaFromSection(lines);
  if (fromSection !== undefined && fromSection.length > 0) return fromSection;
  return lines
    .filter((line) => line.kind === "prose")
    .map((line) => TASK_ITEM.exec(line.text)?.[1]?.trim())
    .filter((text): text is string => text !== undefined && text !== "");
}

function criteriaFromSection(lines: readonly MarkdownLine[]): string[] | undefined {
  const start = lines.findIndex(
    (line) => line.kind === "prose" && criteriaTitleLevel(line.text) !== undefined,
  );
  const title = lines[start];
  if (title === undefined) return undefined;
  const level = criteriaTitleLevel(title.text) ?? 0;

  const items: string[] = [];
  let current: string[] | undefined;
  let inList = false;
  let afterBlank = false;
  const flush = (): void => {
    const text = current?.join(" ").trim();
    if (text !== undefined && text !== "") items.push(text);
    current = undefined;
  };
  for (const line of lines.slice(start + 1)) {
    if (line.kind === "code") continue;
    const heading = HEADING.exec(line.text);
    if (heading !== null && (level === 0 || (heading[1]?.length ?? 1) <= level)) break;
    if (heading !== null) {
      // A subheading groups criteria; it is not one.
      flush();
      inList = false;
      continue;
    }
    if (line.kind === "quote") continue;
    if (line.text.trim() === "") {
      afterBlank = true;
      continue;
    }
    const item = LIST_ITEM.exec(line.text);
    const indented = /^(?: {2,}|\t)/.test(line.text);
    const collected = items.length > 0 || current !== undefined;
    // A bold or plain title has no heading level to end it: its section is one block.
    if (level === 0 && afterBlank && collected && item === null && !indented) break;
    if (item !== null) {
      flush();
      current = [(item[2] ?? "").replace(CHECKBOX, "").trim()];
      inList = true;
    } else if (current !== undefined && (!afterBlank || (inList && indented))) {
      current.push(line.text.trim());
    } else {
      flush();
      current = [line.text.trim()];
      inList = false;
    }
    afterBlank = false;
  }
  flush();
  return items;
}

/**
 * Whether `line` titles an acceptance-criteria section: the heading level (1-6) for a
 * `#`-heading, 0 for a bold or plain title line, `undefined` when it is not such a title.
 */
function criteriaTitleLevel(line: string): number | undefined {
  const heading = HEADING.exec(line);
  if (heading !== null) {
    return CRITERIA_TITLE.test(heading[2] ?? "") ? (heading[1]?.length ?? 1) : undefined;
  }
  const titled = BOLD_TITLE.exec(line) ?? PLAIN_TITLE.exec(line);
  if (titled !== null && CRITERIA_TITLE.test(titled[1] ?? "")) return 0;
  return undefined;
}
