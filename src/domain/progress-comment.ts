/**
 * The one sticky progress comment on a task's issue (issue 3 item 5): found again by a hidden
 * marker on its first line, rendered from a view model, edited for the task's whole life.
 */

import { formatCycle, formatIssueRef, type IssueRef } from "./dependencies.js";
import { redactText } from "./redaction.js";
import type { Budget, BudgetUsed, JobKind, TaskState } from "./types.js";

const MARKER_PREFIX = "<!-- kanbot:progress ";
const MARKER_SUFFIX = " -->";

/** `<!-- kanbot:progress owner/repo#N -->`: the first line of the progress comment. */
export function progressMarker(issue: IssueRef): string {
  return `${MARKER_PREFIX}${formatIssueRef(issue)}${MARKER_SUFFIX}`;
}

/** The issue a marker line names, or `undefined` when the line is not a progress marker. */
export function parseProgressMarker(line: string): IssueRef | undefined {
  const match = /^<!-- kanbot:progress ([^/\s]+)\/([^#\s]+)#(\d+) -->$/.exec(line.trim());
  if (match === null) return undefined;
  return { owner: match[1] ?? "", repo: match[2] ?? "", number: Number(match[3]) };
}

/** A comment as GitHub lists it, as far as finding the progress comment needs. */
export interface CommentLike {
  id: number;
  body?: string | null;
  user?: { login: string } | null;
}

/**
 * The progress comment among an issue's comments: written by `botLogin` (case-insensitive) with
 * a progress marker on its first line. A marker naming this issue wins; failing that, any
 * progress marker by the bot counts, so a renamed or transferred repository does not get a
 * second comment. With several candidates the first (oldest, as GitHub lists them) wins.
 * Comments by anyone else never count, whatever they contain.
 */
export function findProgressComment<C extends CommentLike>(
  comments: readonly C[],
  options: { issue: IssueRef; botLogin: string },
): C | undefined {
  const bot = options.botLogin.toLowerCase();
  const candidates = comments.flatMap((comment) => {
    if (comment.user?.login.toLowerCase() !== bot) return [];
    const firstLine = (comment.body ?? "").split("\n", 1)[0] ?? "";
    const marked = parseProgressMarker(firstLine);
    return marked === undefined ? [] : [{ comment, marked }];
  });
  const wanted = formatIssueRef(options.issue).toLowerCase();
  const exact = candidates.find(({ marked }) => formatIssueRef(marked).toLowerCase() === wanted);
  return (exact ?? candidates[0])?.comment;
}

/** One line of the timeline: plain text (escaped when rendered) or a kanbot-written note. */
export type TimelineEntry =
  | {
      at: Date;
      /** Plain text; escaped when rendered. */
      text: string;
    }
  | {
      at: Date;
      /** Markdown built with {@link note}: shown as it is (on one line). */
      markdown: NoteMarkdown;
    };

declare const NOTE_MARKDOWN: unique symbol;

/**
 * A timeline note as markdown that kanbot wrote: its own words and code spans, with every piece
 * of outside text escaped. Only {@link note} makes one, so a plain string (which may hold an
 * agent's error, a person's words or an issue title) can never pass for it.
 */
export type NoteMarkdown = string & { readonly [NOTE_MARKDOWN]: true };

const MARKUP = Symbol("kanbot note markup");

/** A piece of markdown {@link note} inserts as it is. Only {@link code} and {@link nested} make one. */
export class NoteMarkup {
  readonly #markdown: string;
  constructor(token: typeof MARKUP, markdown: string) {
    if (token !== MARKUP) throw new TypeError("NoteMarkup is made by code() or nested()");
    this.#markdown = markdown;
  }
  toString(): string {
    return this.#markdown;
  }
}

/**
 * Builds a timeline note: the template's own text is kanbot's markdown (use it for nothing but
 * kanbot's words); every interpolated string or number is outside text and is escaped
 * ({@link escapeMarkdown}: no formatting, no HTML, no mentions), unless it is a {@link code}
 * span or a {@link nested} note.
 *
 * ```ts
 * note`Canceled by ${code("/kanbot cancel")}.`
 * note`The ${kind} job failed: ${agentError}` // agentError is escaped
 * ```
 */
export function note(
  template: TemplateStringsArray,
  ...values: readonly (string | number | NoteMarkup)[]
): NoteMarkdown {
  let markdown = template[0] ?? "";
  values.forEach((value, index) => {
    const text =
      value instanceof NoteMarkup ? value.toString() : escapeMarkdown(String(value), false);
    markdown += text + (template[index + 1] ?? "");
  });
  return markdown.replace(/\s+/g, " ").trim() as NoteMarkdown;
}

/** `text` as an inline code span (safe for any text: nothing in it formats or mentions). */
export function code(text: string): NoteMarkup {
  return new NoteMarkup(MARKUP, inlineCode(text));
}

/**
 * Plain text that kanbot wrote itself, with no outside text in it (a budget message, a blocking
 * reason), whose `` `backtick` `` spans are meant as code: the spans become code spans, the
 * rest is escaped. Never pass text that holds anything from outside (use an interpolation).
 */
export function ownText(text: string): NoteMarkup {
  const parts = text.split(/(`[^`\n]+`)/);
  const markdown = parts
    .map((part, index) =>
      index % 2 === 1 ? inlineCode(part.slice(1, -1)) : escapeMarkdown(part, false),
    )
    .join("");
  return new NoteMarkup(MARKUP, markdown);
}

/** A note inside another note, as it is. */
export function nested(markdown: NoteMarkdown): NoteMarkup {
  return new NoteMarkup(MARKUP, markdown);
}

/** Everything the progress comment shows. All strings but timeline notes are plain text and are escaped. */
export interface ProgressView {
  issue: IssueRef;
  state: TaskState;
  /** The state label, shown next to the state. */
  stateLabel?: string | undefined;
  agent?: { name: string; reason: string } | undefined;
  runner?: string | undefined;
  /** The current (or last) job. */
  job?: { kind: JobKind; attempt: number } | undefined;
  budget: { used: BudgetUsed; limit: Budget };
  /** While the checks gate is pending: the head (shown as 7 characters) and what the gate waits
   * for, as `gateWaitingText` (src/domain/gate-progress.ts) words it. */
  checks?: { headSha: string; waiting: string } | undefined;
  links?: {
    pullRequest?: string | undefined;
    checkRun?: string | undefined;
    jobLog?: string | undefined;
  };
  /** Open blockers, for a waiting task. */
  waitingOn?: readonly IssueRef[] | undefined;
  /** The dependency cycle the task is on. */
  cycle?: readonly IssueRef[] | undefined;
  /** Why a blocked task stopped: the real error text, shown in a code block. */
  error?: string | undefined;
  /** Things a person should know (an ignored `use:` label, an unknown dependency). */
  notes?: readonly string[] | undefined;
  timeline: readonly TimelineEntry[];
}

export interface RenderOptions {
  /** Timeline entries shown; older ones are summarised as "N earlier events". Default 10. */
  timelineLimit?: number;
  /** Longest error text shown; longer text keeps its end. Default 4000 characters. */
  errorLimit?: number;
}

const STATE_TEXT = {
  waiting: "Waiting for dependencies",
  queued: "Queued, waiting for a runner",
  running: "Working",
  checks: "Checks running on the pull request",
  "needs-input": "Needs input: the agent asked a question",
  review: "Ready for review",
  done: "Done",
  blocked: "Blocked, needs a human",
  canceled: "Canceled",
} as const satisfies Record<TaskState, string>;

/** Renders the progress comment: markdown whose first line is {@link progressMarker}. */
export function renderProgressComment(view: ProgressView, options: RenderOptions = {}): string {
  const sections: string[] = [];
  const label = view.stateLabel === undefined ? "" : ` ${inlineCode(view.stateLabel)}`;
  sections.push(`${progressMarker(view.issue)}\n### kanbot: ${STATE_TEXT[view.state]}${label}`);
  sections.push(renderFacts(view));

  if (view.cycle !== undefined && view.cycle.length > 0) {
    sections.push(
      `**Dependency cycle:** ${formatCycle(view.cycle)}. ` +
        `Remove one of these dependencies to let the tasks run.`,
    );
  } else if (view.waitingOn !== undefined && view.waitingOn.length > 0) {
    const refs = view.waitingOn.map(formatIssueRef).join(", ");
    sections.push(`**Waiting on:** ${refs}. kanbot queues this task when they are closed.`);
  }

  if (view.state === "blocked") sections.push(renderError(view.error, options.errorLimit ?? 4000));

  if (view.notes !== undefined && view.notes.length > 0) {
    sections.push(
      ["**Notes:**", ...view.notes.map((note) => `- ${escapeMarkdown(note)}`)].join("\n"),
    );
  }

  sections.push(renderTimeline(view.timeline, options.timelineLimit ?? 10));
  // The redaction policy once more over the whole comment (code spans and blocks included).
  return redactText(`${sections.filter((section) => section !== "").join("\n\n")}\n`);
}

function renderFacts(view: ProgressView): string {
  const facts: string[] = [];
  if (view.agent !== undefined) {
    facts.push(
      `- **Agent:** ${escapeMarkdown(view.agent.name)} (${escapeMarkdown(view.agent.reason)})`,
    );
  }
  if (view.runner !== undefined) facts.push(`- **Runner:** ${escapeMarkdown(view.runner)}`);
  if (view.job !== undefined) {
    facts.push(
      `- **Attempt:** ${view.job.attempt} of ${view.budget.limit.attempts} (${view.job.kind})`,
    );
  }
  const { used, limit } = view.budget;
  facts.push(
    `- **Budget used:** ${used.attempts}/${limit.attempts} attempts · ` +
      `${formatMinutes(used.minutes)}/${formatMinutes(limit.minutes)} min · ` +
      `${formatUsd(used.usd)}/${formatUsd(limit.usd)}`,
  );
  if (view.checks !== undefined) {
    facts.push(
      `- **Checks on ${inlineCode(view.checks.headSha.slice(0, 7))}:** ${escapeMarkdown(view.checks.waiting)}`,
    );
  }
  const links = [
    link("pull request", view.links?.pullRequest),
    link("check run", view.links?.checkRun),
    link("job log", view.links?.jobLog),
  ].filter((text) => text !== undefined);
  if (links.length > 0) facts.push(`- **Links:** ${links.join(" · ")}`);
  return facts.join("\n");
}

function renderError(error: string | undefined, limit: number): string {
  const text = trimError(error ?? "", limit);
  if (text === "") {
    return "**Blocked:** the job recorded no error text. The job log and the check run have the details.";
  }
  return `**Blocked:**\n\n${fencedBlock(text)}`;
}

function renderTimeline(entries: readonly TimelineEntry[], limit: number): string {
  if (entries.length === 0) return "";
  const sorted = [...entries].sort((a, b) => a.at.getTime() - b.at.getTime());
  const shown = sorted.slice(Math.max(0, sorted.length - limit));
  const earlier = sorted.length - shown.length;
  const lines = ["<details open><summary>Timeline</summary>", ""];
  if (earlier > 0) lines.push(`- _${earlier} earlier event${earlier === 1 ? "" : "s"}_`);
  for (const entry of shown) {
    const text = "markdown" in entry ? entry.markdown : escapeMarkdown(entry.text);
    lines.push(`- \`${formatUtc(entry.at)}\` ${text.replace(/\s+/g, " ")}`);
  }
  lines.push("", "</details>");
  return lines.join("\n");
}

/** `2025-01-02T03:04:05Z`: UTC, ISO 8601, whole seconds. */
export function formatUtc(at: Date): string {
  return at.toISOString().replace(/\.\d{3}Z$/, "Z");
}

function formatMinutes(minutes: number): string {
  return String(Math.round(minutes * 10) / 10);
}

function formatUsd(usd: number): string {
  return `$${usd.toFixed(2)}`;
}

function link(text: string, url: string | undefined): string | undefined {
  if (url === undefined || url === "") return undefined;
  if (!/^https?:\/\/[^\s]+$/i.test(url)) return `${text}: ${escapeMarkdown(url)}`;
  const safe = url.replace(
    /[()<>"'\\[\]]/g,
    (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`,
  );
  return `[${text}](${safe})`;
}

// Terminal colour codes and other CSI/OSC sequences, which agents and test runners print.
// eslint-disable-next-line no-control-regex
const ANSI = /\u001b(?:\[[0-?]*[ -/]*[@-~]|\][^\u0007\u001b]*(?:\u0007|\u001b\\)|[@-Z\\-_])/g;

/**
 * Error text as shown: terminal escape codes removed, surrounding blank space trimmed, and when
 * longer than `limit` characters only its end kept (the end of a log usually holds the failure)
 * after a line saying how much was left out.
 */
export function trimError(text: string, limit: number): string {
  const clean = redactText(text)
    .replace(/\r\n?/g, "\n")
    .replace(ANSI, "")
    .replace(/^\s*\n/, "")
    .trimEnd();
  if (clean.length <= limit) return clean;
  const kept = clean.slice(clean.length - limit);
  const fromLine = kept.indexOf("\n");
  const tail = fromLine === -1 || fromLine > limit / 2 ? kept : kept.slice(fromLine + 1);
  return `… (${clean.length - tail.length} earlier characters left out)\n${tail}`;
}

/** A fenced code block that `text` cannot close: its fence is longer than any backtick run in it. */
export function fencedBlock(text: string): string {
  const longest = Math.max(0, ...[...text.matchAll(/`+/g)].map((run) => run[0].length));
  const fence = "`".repeat(Math.max(3, longest + 1));
  return `${fence}text\n${text}\n${fence}`;
}

/** Inline code that `text` cannot break out of. */
function inlineCode(text: string): string {
  const oneLine = text.replace(/\s+/g, " ");
  const longest = Math.max(0, ...[...oneLine.matchAll(/`+/g)].map((run) => run[0].length));
  const ticks = "`".repeat(longest + 1);
  const pad = oneLine.startsWith("`") || oneLine.endsWith("`") ? " " : "";
  return `${ticks}${pad}${oneLine}${pad}${ticks}`;
}

/**
 * Plain text made safe inside one line of markdown (never at its start): line breaks become
 * spaces, inline markdown punctuation and `<` are backslash-escaped (so no HTML, no comment and no fake marker can start), `&` cannot
 * start an entity and `@` cannot mention anyone.
 */
export function escapeMarkdown(text: string, trim = true): string {
  // Redacted before escaping: a backslash inside `kbr\_…` would hide the token from the policy.
  const oneLine = redactText(text).replace(/\s+/g, " ");
  return (trim ? oneLine.trim() : oneLine)
    .replace(/[\\`*_{}[\]()#!|~<>]/g, "\\$&")
    .replace(/&/g, "&amp;")
    .replace(/@/g, "@&#8203;");
}
