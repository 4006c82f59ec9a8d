/**
 * The `fix-checks` job's input (issue 5 item 3): what the agent needs to know about each failing
 * check — name, conclusion, output title/summary/text, annotations and, for GitHub Actions, the
 * tail of the failed job's log — cleaned (terminal colour codes stripped, tokens redacted) and
 * trimmed to fit a prompt, with a visible marker wherever text was cut.
 *
 * Also the text helpers the other renderers share: {@link cleanText}, {@link redactSecrets},
 * {@link trimStart} and {@link trimEnd}.
 */

import { fencedBlock } from "./progress-comment.js";
import { redactText } from "./redaction.js";

// ---------------------------------------------------------------------------------------------
// Text helpers
// ---------------------------------------------------------------------------------------------

// Terminal colour codes and other CSI/OSC sequences, which agents and test runners print.
// eslint-disable-next-line no-control-regex
const ANSI = /\u001b(?:\[[0-?]*[ -/]*[@-~]|\][^\u0007\u001b]*(?:\u0007|\u001b\\)|[@-Z\\-_])/g;

// GitHub tokens (installation `ghs_`, personal `ghp_`, OAuth `gho_`, user-to-server `ghu_`,
// refresh `ghr_`, fine-grained `github_pat_`) and credentials in URLs.
const TOKEN = /\b(?:gh[pousr]_[A-Za-z0-9]{16,}|github_pat_[A-Za-z0-9_]{16,})/g;
const URL_CREDENTIALS = /(\bhttps?:\/\/)[^\s/@:]+:[^\s/@]+@/gi;
const BEARER = /\b(authorization:\s*(?:bearer|token|basic)\s+)[^\s'"]+/gi;

export const REDACTED = "[redacted]";

/** `text` with GitHub tokens, credentials in URLs and authorization headers replaced. */
export function redactSecrets(text: string): string {
  // These rules, then the shared policy (token shapes in any encoding, src/domain/redaction.ts).
  return redactText(
    text
      .replace(TOKEN, REDACTED)
      .replace(URL_CREDENTIALS, `$1${REDACTED}@`)
      .replace(BEARER, `$1${REDACTED}`),
  );
}

// `2025-03-01T12:00:00.1234567Z ` at the start of each line of a GitHub Actions job log.
const ACTIONS_TIMESTAMP = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z ?/gm;

/**
 * Text as kanbot passes it on: line endings normalised, terminal escape codes and other control
 * characters (except tab and newline) removed, secrets redacted, trailing blank space trimmed.
 * `actionsLog` also drops the timestamp GitHub Actions puts before every log line.
 */
export function cleanText(text: string, options: { actionsLog?: boolean } = {}): string {
  let clean = text.replace(/\r\n?/g, "\n").replace(ANSI, "");
  // eslint-disable-next-line no-control-regex
  clean = clean.replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, "");
  if (options.actionsLog === true) clean = clean.replace(ACTIONS_TIMESTAMP, "");
  return redactSecrets(clean).trimEnd();
}

/** The visible marker left where text was cut. */
export function trimmedMarker(count: number): string {
  return `[… trimmed ${count} characters]`;
}

/**
 * `text` cut to at most `limit` characters, keeping its start: the end is replaced by a line
 * with {@link trimmedMarker}. The marker counts toward the limit when there is room for it.
 */
export function trimStart(text: string, limit: number): string {
  if (text.length <= limit) return text;
  const keep = Math.max(0, limit - trimmedMarker(text.length).length - 1);
  const kept = text.slice(0, avoidSplitPair(text, keep)).trimEnd();
  return `${kept}${kept === "" ? "" : "\n"}${trimmedMarker(text.length - kept.length)}`;
}

/**
 * `text` cut to at most `limit` characters, keeping its end (where a log has the failure): the
 * start is replaced by a line with {@link trimmedMarker}, and the kept part starts at a line
 * when one starts near the cut.
 */
export function trimEnd(text: string, limit: number): string {
  if (text.length <= limit) return text;
  const keep = Math.max(0, limit - trimmedMarker(text.length).length - 1);
  let kept = text.slice(avoidSplitPair(text, text.length - keep, true));
  const newline = kept.indexOf("\n");
  if (newline !== -1 && newline < Math.min(200, keep / 4)) kept = kept.slice(newline + 1);
  return `${trimmedMarker(text.length - kept.length)}${kept === "" ? "" : "\n"}${kept}`;
}

/** `at`, moved off the middle of a surrogate pair (forward when `forward`, else back). */
function avoidSplitPair(text: string, at: number, forward = false): number {
  const code = text.charCodeAt(at);
  const low = code >= 0xdc00 && code <= 0xdfff;
  if (!low || at <= 0) return at;
  return forward ? at + 1 : at - 1;
}

// ---------------------------------------------------------------------------------------------
// The fix bundle
// ---------------------------------------------------------------------------------------------

export type AnnotationLevel = "notice" | "warning" | "failure";

/** One check run annotation. */
export interface CheckAnnotation {
  path: string;
  startLine: number | null;
  endLine?: number | null | undefined;
  /** Absent when GitHub does not say; shown as `warning`. */
  level?: AnnotationLevel | undefined;
  title?: string | null | undefined;
  message: string;
}

/** A failing check with what the app could read about it. */
export interface FailingCheck {
  name: string;
  /** The check run's conclusion or the status's state (`failure`, `timed_out`, `error`…). */
  conclusion: string;
  url?: string | null | undefined;
  /** Output title (check runs) or description (statuses). */
  title?: string | null | undefined;
  summary?: string | null | undefined;
  text?: string | null | undefined;
  annotations?: readonly CheckAnnotation[] | undefined;
  /** For GitHub Actions: the failed job's log (the handler passes what it downloaded; only its
   * tail is kept). */
  log?: string | null | undefined;
  /** The failed job's name, when the log is from one GitHub Actions job. */
  jobName?: string | null | undefined;
}

/** Limits in characters (annotations: a count). */
export interface FixBundleLimits {
  /** Output summary of one check. Default 2000. */
  summary: number;
  /** Output text of one check. Default 4000. */
  text: number;
  /** Annotations shown per check (failures first). Default 30. */
  annotations: number;
  /** One annotation's message. Default 500. */
  annotationMessage: number;
  /** Log tail of one check. Default 8000. */
  log: number;
  /** The whole bundle. Default 24000. */
  total: number;
}

export const DEFAULT_FIX_BUNDLE_LIMITS: FixBundleLimits = {
  summary: 2000,
  text: 4000,
  annotations: 30,
  annotationMessage: 500,
  log: 8000,
  total: 24000,
};

export interface FixBundle {
  /** The `fix-checks` job's instructions (markdown, for the agent's prompt). */
  instructions: string;
  /** The failing checks' names, in the order shown. */
  checks: string[];
  /** Characters left out over all checks (0 when nothing was cut). */
  trimmedCharacters: number;
}

const LEVEL_ORDER = { failure: 0, warning: 1, notice: 2 } as const satisfies Record<
  AnnotationLevel,
  number
>;

/** Parts of one check, in the order they are cut when the bundle is over its total. */
type Part = "log" | "text" | "annotations" | "summary";
const CUT_ORDER: readonly Part[] = ["log", "text", "annotations", "summary"];

interface Rendered {
  name: string;
  header: string;
  parts: Record<Part, string>;
  /** Cleaned, before any trim: for re-trimming under the total. */
  sources: Record<Part, string>;
  trimmed: number;
}

/**
 * Builds the fix-checks instructions from the failing checks, sorted by name. Each part is
 * cleaned and trimmed to its limit (summaries and text keep their start, logs their end); when
 * the whole is still over `limits.total`, each check gets a fair share and its log, text,
 * annotations and summary are cut in that order.
 */
export function buildFixBundle(
  checks: readonly FailingCheck[],
  limits: Partial<FixBundleLimits> = {},
): FixBundle {
  const limit = { ...DEFAULT_FIX_BUNDLE_LIMITS, ...limits };
  const sorted = [...checks].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const intro =
    sorted.length === 0
      ? "No failing check was reported; run the repository's checks locally and fix what fails."
      : `${sorted.length === 1 ? "One required check" : `${sorted.length} required checks`} failed on the pull request's head. Fix the code so that ${sorted.length === 1 ? "it passes" : "they pass"}; do not weaken or skip the checks.`;
  const rendered = sorted.map((check) => renderCheck(check, limit));
  fitTotal(rendered, limit.total - intro.length - 2);
  const body = rendered.map(joinCheck);
  return {
    instructions: [intro, ...body].join("\n\n"),
    checks: rendered.map((check) => check.name),
    trimmedCharacters: rendered.reduce((sum, check) => sum + check.trimmed, 0),
  };
}

function renderCheck(check: FailingCheck, limit: FixBundleLimits): Rendered {
  const name = oneLine(check.name);
  const lines = [`## ${name}: ${oneLine(check.conclusion)}`];
  if (check.url) lines.push(`Details: ${oneLine(check.url)}`);
  const title = cleanText(check.title ?? "");
  if (title !== "") lines.push(`Title: ${oneLine(title)}`);
  const sources: Record<Part, string> = {
    summary: cleanText(check.summary ?? ""),
    text: cleanText(check.text ?? ""),
    annotations: renderAnnotations(check.annotations ?? [], limit),
    log: cleanText(check.log ?? "", { actionsLog: true }),
  };
  const parts: Record<Part, string> = {
    summary: trimStart(sources.summary, limit.summary),
    text: trimStart(sources.text, limit.text),
    annotations: sources.annotations,
    log: trimEnd(sources.log, limit.log),
  };
  const rendered: Rendered = { name, header: lines.join("\n"), parts, sources, trimmed: 0 };
  rendered.trimmed = countTrimmed(rendered);
  if (check.jobName) rendered.header += `\nFailed job: ${oneLine(check.jobName)}`;
  return rendered;
}

function renderAnnotations(
  annotations: readonly CheckAnnotation[],
  limit: FixBundleLimits,
): string {
  if (annotations.length === 0) return "";
  const sorted = [...annotations].sort(
    (a, b) =>
      LEVEL_ORDER[a.level ?? "warning"] - LEVEL_ORDER[b.level ?? "warning"] ||
      (a.path < b.path ? -1 : a.path > b.path ? 1 : 0) ||
      (a.startLine ?? 0) - (b.startLine ?? 0),
  );
  const shown = sorted.slice(0, Math.max(0, limit.annotations));
  const lines = shown.map((annotation) => {
    const where =
      annotation.startLine === null
        ? annotation.path
        : annotation.endLine != null && annotation.endLine !== annotation.startLine
          ? `${annotation.path}:${annotation.startLine}-${annotation.endLine}`
          : `${annotation.path}:${annotation.startLine}`;
    const title = annotation.title ? `${oneLine(cleanText(annotation.title))}: ` : "";
    const message = trimStart(cleanText(annotation.message), limit.annotationMessage);
    return `- ${annotation.level ?? "warning"} ${oneLine(where)}: ${title}${message.replace(/\n/g, "\n  ")}`;
  });
  const more = sorted.length - shown.length;
  if (more > 0) lines.push(`- … and ${more} more annotation${more === 1 ? "" : "s"}`);
  return lines.join("\n");
}

function joinCheck(check: Rendered): string {
  const sections = [check.header];
  if (check.parts.summary !== "") sections.push(`Summary:\n${check.parts.summary}`);
  if (check.parts.annotations !== "") sections.push(`Annotations:\n${check.parts.annotations}`);
  if (check.parts.text !== "") sections.push(`Details:\n${fencedBlock(check.parts.text)}`);
  if (check.parts.log !== "") sections.push(`Log tail:\n${fencedBlock(check.parts.log)}`);
  return sections.join("\n\n");
}

/** Cuts the rendered checks until they fit `total` characters together. */
function fitTotal(checks: Rendered[], total: number): void {
  const size = (check: Rendered): number => joinCheck(check).length + 2;
  const sum = (): number => checks.reduce((acc, check) => acc + size(check), 0);
  if (sum() <= total) return;
  // Fair shares: small checks keep what they have, the rest split what is left.
  const bySize = [...checks].sort((a, b) => size(a) - size(b));
  let left = Math.max(0, total);
  for (const [index, check] of bySize.entries()) {
    const share = Math.floor(left / (bySize.length - index));
    if (size(check) > share) shrink(check, share);
    left -= Math.min(size(check), left);
  }
}

function shrink(check: Rendered, budget: number): void {
  for (const part of CUT_ORDER) {
    const over = joinCheck(check).length + 2 - budget;
    if (over <= 0) break;
    const current = check.parts[part];
    if (current === "") continue;
    const target = Math.max(0, current.length - over);
    const source = check.sources[part];
    const cut =
      part === "log"
        ? trimEnd(source, target)
        : part === "annotations"
          ? trimStart(current, target)
          : trimStart(source, target);
    // A cut down to the marker alone is still shown: the agent learns something was there.
    if (cut.length < current.length) check.parts[part] = cut;
  }
  check.trimmed = countTrimmed(check);
}

function countTrimmed(check: Rendered): number {
  let count = 0;
  for (const part of CUT_ORDER) {
    for (const match of check.parts[part].matchAll(/\[… trimmed (\d+) characters\]/g)) {
      count += Number(match[1]);
    }
  }
  return count;
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, " ").trim();
}
