/**
 * What kanbot writes on a task's pull request (issue 5 item 1): the title, the body (agent's
 * summary, acceptance criteria as a checklist, attempts, time and cost, `Closes #N`, a hidden
 * marker, a footer) and the output of the `kanbot` check run on the head SHA.
 *
 * Choices where the issue is silent:
 * - Title: the issue's title with a `(#N)` suffix (`owner/repo#N` across repositories). A
 *   prefix `#N …` would be dropped as a comment line by `git commit` when someone edits a
 *   squash message locally; the suffix survives.
 * - Everything not written by kanbot (agent summary, acceptance criteria, error text) is escaped
 *   line by line: no HTML, no hidden marker, no @mention, no heading, and closing keywords
 *   (`fixes #12`) are broken with a zero-width space so the agent cannot close other issues.
 * - The marker is the body's first line; {@link parsePullRequestMarker} accepts it on any line
 *   (a person may add text above it), so callers must also check that the PR's author is kanbot.
 */

import { formatIssueRef, type IssueRef, type RepoRef } from "./dependencies.js";
import { cleanText, trimEnd, trimStart } from "./fix-bundle.js";
import { extractAcceptanceCriteria } from "./issue-text.js";
import { escapeMarkdown, fencedBlock } from "./progress-comment.js";
import { redactText } from "./redaction.js";
import type { Budget, JobKind } from "./types.js";

/** GitHub's limit for a check run's `output.summary` and `output.text`, and a PR body. */
export const GITHUB_TEXT_LIMIT = 65535;
/** GitHub's limit for a pull request title. */
export const TITLE_LIMIT = 256;

// ---------------------------------------------------------------------------------------------
// Marker and references
// ---------------------------------------------------------------------------------------------

/** `<!-- kanbot:pr owner/repo#N task=ID -->`: the first line of a kanbot PR's body. */
export function pullRequestMarker(issue: IssueRef, taskId: string | number): string {
  return `<!-- kanbot:pr ${formatIssueRef(issue)} task=${safeTaskId(taskId)} -->`;
}

export interface PullRequestMarker {
  issue: IssueRef;
  taskId: string;
}

const MARKER = /^<!-- kanbot:pr ([^/\s]+)\/([^#\s]+)#(\d+) task=([A-Za-z0-9._:-]+) -->$/;

/** The issue and task a PR body's marker names, or `undefined` without a marker line. */
export function parsePullRequestMarker(
  body: string | null | undefined,
): PullRequestMarker | undefined {
  for (const line of (body ?? "").split(/\r?\n/)) {
    const match = MARKER.exec(line.trim());
    if (match === null) continue;
    return {
      issue: { owner: match[1] ?? "", repo: match[2] ?? "", number: Number(match[3]) },
      taskId: match[4] ?? "",
    };
  }
  return undefined;
}

/** `#N` for an issue in the PR's repository, else `owner/repo#N`. */
export function issueReference(issue: IssueRef, pullRequestRepo: RepoRef): string {
  const same =
    issue.owner.toLowerCase() === pullRequestRepo.owner.toLowerCase() &&
    issue.repo.toLowerCase() === pullRequestRepo.repo.toLowerCase();
  return same ? `#${issue.number}` : formatIssueRef(issue);
}

/** `Closes #N`, or `Closes owner/repo#N` across repositories. */
export function closingReference(issue: IssueRef, pullRequestRepo: RepoRef): string {
  return `Closes ${issueReference(issue, pullRequestRepo)}`;
}

// ---------------------------------------------------------------------------------------------
// Title
// ---------------------------------------------------------------------------------------------

export interface TitleInput {
  issue: IssueRef;
  /** The issue's title. */
  title: string;
  pullRequestRepo: RepoRef;
  /** Drop a leading `[agent]` prefix (when routing used it to pick the agent). */
  stripAgentPrefix?: boolean | undefined;
}

/** `Fix the login redirect (#12)`: one line, at most {@link TITLE_LIMIT} characters. */
export function pullRequestTitle(input: TitleInput): string {
  let title = input.title.replace(/\s+/g, " ").trim();
  if (input.stripAgentPrefix === true) title = title.replace(/^\[[^\]\s]+\]\s*/, "");
  const suffix = ` (${issueReference(input.issue, input.pullRequestRepo)})`;
  if (title === "") return `Task${suffix}`;
  const room = TITLE_LIMIT - suffix.length;
  if (title.length > room) title = `${title.slice(0, room - 1).trimEnd()}…`;
  return `${title}${suffix}`;
}

// ---------------------------------------------------------------------------------------------
// Body
// ---------------------------------------------------------------------------------------------

/** What the task spent over all its jobs. */
export interface SpentView {
  attempts: number;
  minutes: number;
  usd: number;
}

export interface PullRequestView {
  issue: IssueRef;
  pullRequestRepo: RepoRef;
  taskId: string | number;
  /** The agent's summary of the change (plain text or markdown; escaped). */
  summary: string | null;
  /** The issue's body; its acceptance criteria become the checklist. */
  issueBody: string | null;
  spent: SpentView;
  /** The budget limits, shown next to what was spent. */
  budget?: Budget | undefined;
  agent?: string | undefined;
  /** Link to the progress comment on the issue. */
  progressUrl?: string | undefined;
}

export interface BodyLimits {
  /** Longest agent summary kept. Default 20000 characters. */
  summary: number;
  /** Criteria shown. Default 50. */
  criteria: number;
  /** Longest criterion. Default 500 characters. */
  criterion: number;
}

export const DEFAULT_BODY_LIMITS: BodyLimits = { summary: 20000, criteria: 50, criterion: 500 };

/** Renders a kanbot PR body: marker, summary, criteria, run facts, `Closes`, footer. */
export function renderPullRequestBody(
  view: PullRequestView,
  limits: Partial<BodyLimits> = {},
): string {
  const limit = { ...DEFAULT_BODY_LIMITS, ...limits };
  const ref = issueReference(view.issue, view.pullRequestRepo);
  const sections = [pullRequestMarker(view.issue, view.taskId)];

  const summary = escapeWithin(cleanText(view.summary ?? ""), limit.summary, escapeBlock);
  sections.push(
    `## Summary\n\n${summary === "" ? `_The agent left no summary; see the commits and the \`kanbot\` check run._` : summary}`,
  );

  const criteria = extractAcceptanceCriteria(view.issueBody ?? "");
  if (criteria.length > 0) {
    const shown = criteria.slice(0, limit.criteria);
    const lines = shown.map(
      (criterion) =>
        `- [ ] ${escapeWithin(criterion.replace(/\s+/g, " "), limit.criterion, escapeInline)}`,
    );
    const more = criteria.length - shown.length;
    if (more > 0) lines.push(`- _… and ${more} more in ${ref}_`);
    sections.push(`## Acceptance criteria (from ${ref})\n\n${lines.join("\n")}`);
  }

  const facts = [
    `- **Attempts:** ${view.spent.attempts}${view.budget ? ` of ${view.budget.attempts}` : ""}`,
    `- **Time:** ${formatDuration(view.spent.minutes)}${view.budget ? ` of ${formatDuration(view.budget.minutes)}` : ""}`,
    `- **Cost:** ${formatUsd(view.spent.usd)}${view.budget ? ` of ${formatUsd(view.budget.usd)}` : ""}`,
  ];
  if (view.agent !== undefined) facts.unshift(`- **Agent:** ${escapeInline(view.agent)}`);
  sections.push(`## Run\n\n${facts.join("\n")}`);

  sections.push(closingReference(view.issue, view.pullRequestRepo));
  const progress =
    view.progressUrl !== undefined && /^https?:\/\/\S+$/.test(view.progressUrl)
      ? ` ([progress](${view.progressUrl.replace(/[()<>"'\\[\]]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)}))`
      : "";
  sections.push(
    `---\n<sub>Opened by kanbot for ${ref}${progress}. It stays a draft until the required checks pass. ` +
      "To ask for changes, submit a review with changes requested or comment `/kanbot <instructions>`; " +
      "`/kanbot cancel` stops the task. Merging closes the issue.</sub>",
  );
  // The redaction policy once more over the whole body (it only ever shortens the text).
  const body = redactText(`${sections.join("\n\n")}\n`);
  return body.length <= GITHUB_TEXT_LIMIT ? body : trimStart(body, GITHUB_TEXT_LIMIT);
}

// ---------------------------------------------------------------------------------------------
// The `kanbot` check run
// ---------------------------------------------------------------------------------------------

export type JobOutcome = "succeeded" | "failed" | "canceled";

export interface ValidationResult {
  command: string;
  passed: boolean;
  exitCode?: number | null | undefined;
}

export interface CheckRunView {
  job: {
    kind: JobKind;
    attempt: number;
    outcome: JobOutcome;
    agent?: string | undefined;
    minutes: number;
    usd: number;
    /** The agent's summary. */
    summary?: string | null | undefined;
    /** The real error text of a failed job. */
    error?: string | null | undefined;
  };
  validation?: readonly ValidationResult[] | undefined;
  /** The job's log (its tail is shown). */
  log?: string | null | undefined;
  issue: IssueRef;
  pullRequestRepo: RepoRef;
}

export type CheckRunConclusionOut = "success" | "failure" | "cancelled";

export interface CheckRunOutput {
  conclusion: CheckRunConclusionOut;
  title: string;
  summary: string;
  /** The log tail in a fenced block; null without a log. */
  text: string | null;
}

const CONCLUSION = {
  succeeded: "success",
  failed: "failure",
  canceled: "cancelled",
} as const satisfies Record<JobOutcome, CheckRunConclusionOut>;

/**
 * The `kanbot` check run's conclusion and output: a title, a summary with the job's result, and
 * the tail of its log in a fenced block, each within GitHub's 65535 limit (counted in UTF-8
 * bytes, which is also safe if GitHub counts characters). kanbot's gate ignores this run.
 */
export function renderCheckRunOutput(view: CheckRunView): CheckRunOutput {
  const { job } = view;
  const title = `${capitalise(job.kind)} job ${job.outcome} (attempt ${job.attempt})`;
  const lines = [
    `**${title}** for ${issueReference(view.issue, view.pullRequestRepo)}`,
    "",
    ...(job.agent !== undefined ? [`- **Agent:** ${escapeInline(job.agent)}`] : []),
    `- **Time:** ${formatDuration(job.minutes)}`,
    `- **Cost:** ${formatUsd(job.usd)}`,
  ];
  for (const result of view.validation ?? []) {
    const code = result.exitCode == null ? "" : ` (exit ${result.exitCode})`;
    lines.push(
      `- **Validation** ${result.passed ? "passed" : "failed"}${code}: ${inlineCommand(result.command)}`,
    );
  }
  const error = cleanText(job.error ?? "");
  const agentSummary = cleanText(job.summary ?? "");
  const fixed = lines.join("\n");
  const summary = fitBytes((room) =>
    [
      fixed,
      ...(error !== "" ? [`**Error:**\n\n${fencedBlock(trimEnd(error, room))}`] : []),
      ...(agentSummary !== ""
        ? [`**Agent's summary:**\n\n${escapeWithin(agentSummary, room, escapeBlock)}`]
        : []),
    ].join("\n\n"),
  );
  const log = cleanText(view.log ?? "");
  const text =
    log === "" ? null : fitBytes((room) => `Log tail:\n\n${fencedBlock(trimEnd(log, room))}`);
  return {
    conclusion: CONCLUSION[job.outcome],
    title,
    // The redaction policy once more over what GitHub shows (it only ever shortens the text).
    summary: redactText(summary),
    text: text === null ? null : redactText(text),
  };
}

/** Renders with shrinking room until the result fits {@link GITHUB_TEXT_LIMIT} UTF-8 bytes. */
function fitBytes(render: (room: number) => string): string {
  let room = GITHUB_TEXT_LIMIT;
  let text = render(room);
  for (let round = 0; round < 20 && utf8Length(text) > GITHUB_TEXT_LIMIT; round++) {
    room = Math.max(0, Math.floor((room * GITHUB_TEXT_LIMIT) / utf8Length(text)) - 64);
    text = render(room);
  }
  return utf8Length(text) > GITHUB_TEXT_LIMIT ? trimStart(text, GITHUB_TEXT_LIMIT / 4) : text;
}

/** The length of `text` in UTF-8 bytes. */
export function utf8Length(text: string): number {
  let bytes = 0;
  for (const char of text) {
    const code = char.codePointAt(0) ?? 0;
    bytes += code < 0x80 ? 1 : code < 0x800 ? 2 : code < 0x10000 ? 3 : 4;
  }
  return bytes;
}

// ---------------------------------------------------------------------------------------------
// Escaping
// ---------------------------------------------------------------------------------------------

// A closing keyword followed by a reference (after escaping, `#` is `\#`): `fixes #1`,
// `Closes: owner/repo#2`, `resolved GH-3`, `fix https://…/issues/4`.
const CLOSING_KEYWORD =
  /\b(?:(c)(los(?:e|es|ed))|(f)(ix(?:|es|ed))|(r)(esolv(?:e|es|ed)))\b(?=\s*:?\s*(?:\\#|GH-|[\w.\\-]+\/[\w.\\-]+\\#|https?:))/gi;

/**
 * Untrusted text for one line: {@link escapeMarkdown} (no HTML, no marker, no @mention), and
 * closing keywords broken with a zero-width space so the text cannot close an issue.
 */
export function escapeInline(text: string): string {
  return escapeMarkdown(text).replace(
    CLOSING_KEYWORD,
    (_m, c1?: string, r1?: string, c2?: string, r2?: string, c3?: string, r3?: string) =>
      `${c1 ?? c2 ?? c3 ?? ""}&#8203;${r1 ?? r2 ?? r3 ?? ""}`,
  );
}

const LIST_LINE = /^(\s*)([-*+]|\d{1,9}[.)])\s+(.*)$/;

/**
 * Untrusted multi-line text as markdown paragraphs: each line escaped with
 * {@link escapeInline}, list items kept as lists (nesting by indentation, at most three
 * levels), blank lines kept as paragraph breaks.
 */
export function escapeBlock(text: string): string {
  const out: string[] = [];
  for (const line of text.replace(/\r\n?/g, "\n").split("\n")) {
    if (line.trim() === "") {
      if (out.length > 0 && out[out.length - 1] !== "") out.push("");
      continue;
    }
    const item = LIST_LINE.exec(line);
    if (item !== null) {
      const depth = Math.min(3, Math.floor((item[1] ?? "").replace(/\t/g, "  ").length / 2));
      const marker = /^\d/.test(item[2] ?? "") ? `${(item[2] ?? "1.").replace(")", ".")}` : "-";
      out.push(`${"  ".repeat(depth)}${marker} ${escapeInline(item[3] ?? "")}`);
      continue;
    }
    // A line of only `-` or `=` would turn the line above into a heading.
    const escaped = escapeInline(line);
    out.push(/^[-=+]/.test(escaped) ? `\\${escaped}` : escaped);
  }
  while (out[out.length - 1] === "") out.pop();
  return out.join("\n");
}

/**
 * `text` escaped with `escape` in at most about `limit` characters: the raw text is trimmed
 * (keeping its start) before escaping, and trimmed harder when escaping made it longer, so an
 * escape sequence is never cut in half.
 */
function escapeWithin(text: string, limit: number, escape: (text: string) => string): string {
  let room = limit;
  let escaped = escape(trimStart(text, room));
  for (let round = 0; round < 5 && escaped.length > limit && room > 0; round++) {
    room = Math.floor((room * limit) / escaped.length) - 1;
    escaped = escape(trimStart(text, Math.max(0, room)));
  }
  return escaped;
}

function inlineCommand(command: string): string {
  const oneLine = command.replace(/\s+/g, " ").trim();
  const longest = Math.max(0, ...[...oneLine.matchAll(/`+/g)].map((run) => run[0].length));
  const ticks = "`".repeat(longest + 1);
  const pad = oneLine.startsWith("`") || oneLine.endsWith("`") ? " " : "";
  return `${ticks}${pad}${oneLine}${pad}${ticks}`;
}

// ---------------------------------------------------------------------------------------------
// Formatting
// ---------------------------------------------------------------------------------------------

/** `45 s`, `14 min`, `2 h 05 min`. */
export function formatDuration(minutes: number): string {
  if (!Number.isFinite(minutes) || minutes <= 0) return "0 min";
  if (minutes < 1) return `${Math.max(1, Math.round(minutes * 60))} s`;
  const whole = Math.round(minutes);
  if (whole < 60) return `${whole} min`;
  return `${Math.floor(whole / 60)} h ${String(whole % 60).padStart(2, "0")} min`;
}

function formatUsd(usd: number): string {
  return `$${(Number.isFinite(usd) ? usd : 0).toFixed(2)}`;
}

function capitalise(text: string): string {
  return `${text.slice(0, 1).toUpperCase()}${text.slice(1)}`;
}

function safeTaskId(taskId: string | number): string {
  const id = String(taskId).replace(/[^A-Za-z0-9._:-]/g, "");
  return id === "" ? "unknown" : id;
}
