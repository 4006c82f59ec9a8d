/**
 * Questions to humans (issue 14, part 2), pure: an agent may ask one question and stop (it
 * writes `.kanbot/question.md` in the worktree); the task waits as `needs-input` until a person
 * with the trigger permission answers on the issue, then an `answer` job resumes the work.
 *
 * - The question is the agent's text, so it is untrusted: it loses invisible characters, is
 *   capped at {@link QUESTION_LIMIT} and is shown on the issue only inside a fenced block (no
 *   markup, no @-mention pings); the app's redaction policy ran over it at `complete`.
 * - The answer comes from a person who may steer the task: it reaches the prompt as a trusted
 *   maintainer comment (still wrapped as text from GitHub, like every comment).
 * - The planned `answer` job carries both in its instructions, as JSON ({@link QuestionInput}),
 *   so the question survives a crash, a retry and a lost lease like any job's input.
 */
import { fencedBlock, escapeMarkdown, formatUtc } from "./progress-comment.js";
import { capText, stripInvisible } from "./untrusted-text.js";
import type { IssueRef } from "./dependencies.js";
import type { Permission } from "./types.js";

/** Longest question kept (characters); a longer one is cut with a visible note. */
export const QUESTION_LIMIT = 4_000;
/** Longest answer kept in the prompt (GitHub's own comment limit). */
export const ANSWER_LIMIT = 65_536;
/** Longest earlier summary of the agent kept for the answer job's prompt. */
export const QUESTION_SUMMARY_LIMIT = 8_000;

/** Where the agent writes its question, relative to the worktree root. Never committed. */
export const QUESTION_FILE = ".kanbot/question.md";

/** Hours a question waits for an answer before the task is blocked, unless configured. */
export const DEFAULT_ANSWER_TIMEOUT_HOURS = 72;

/**
 * How long an `answer` job waits for the runner that ran the asking job, which holds the agent's
 * session (its CLI can resume the conversation there). After that any runner may claim the job
 * and starts a fresh session with the agent's summary. Short: a person who answered should not
 * wait long for a runner that went away.
 */
export const ANSWER_PREFERS_ASKER_MS = 2 * 60_000;

/** What an `answer` job (and the planned one while the task waits) carries. */
export interface QuestionInput {
  /** The agent's question, cleaned and capped. */
  question: string;
  /** The agent's last message before it asked (its own summary), when it gave one. */
  summary?: string;
  /** The person's answer; absent while unanswered, or when a person resumed without one. */
  answer?: string;
  /** Who answered (their login). */
  answeredBy?: string;
  /** The job kind that asked (`implement`, `fix-checks`…). */
  askedBy?: string;
}

/** The question as stored and shown: no invisible characters, trimmed, capped. */
export function cleanQuestion(text: string): string {
  return capText(stripInvisible(text).replace(/\r\n?/g, "\n").trim(), QUESTION_LIMIT);
}

/** The answer as the prompt gets it: no invisible characters, trimmed, capped. */
export function cleanAnswer(text: string): string {
  return capText(stripInvisible(text).replace(/\r\n?/g, "\n").trim(), ANSWER_LIMIT);
}

/** A job's instructions for `input`. */
export function questionInstructions(input: QuestionInput): string {
  return JSON.stringify({
    question: input.question,
    ...(input.summary !== undefined && input.summary !== ""
      ? { summary: capText(input.summary, QUESTION_SUMMARY_LIMIT) }
      : {}),
    ...(input.answer !== undefined ? { answer: input.answer } : {}),
    ...(input.answeredBy !== undefined ? { answeredBy: input.answeredBy } : {}),
    ...(input.askedBy !== undefined ? { askedBy: input.askedBy } : {}),
  });
}

/** The question input of a job's instructions or stored input; undefined when it has none. */
export function parseQuestionInput(value: unknown): QuestionInput | undefined {
  let record: unknown = value;
  if (typeof value === "string") {
    try {
      record = JSON.parse(value) as unknown;
    } catch {
      return undefined;
    }
  }
  if (typeof record !== "object" || record === null || Array.isArray(record)) return undefined;
  const fields = record as Record<string, unknown>;
  if (typeof fields.question !== "string") return undefined;
  const text = (key: string): string | undefined =>
    typeof fields[key] === "string" ? fields[key] : undefined;
  const summary = text("summary");
  const answer = text("answer");
  const answeredBy = text("answeredBy");
  const askedBy = text("askedBy");
  return {
    question: fields.question,
    ...(summary !== undefined ? { summary } : {}),
    ...(answer !== undefined ? { answer } : {}),
    ...(answeredBy !== undefined ? { answeredBy } : {}),
    ...(askedBy !== undefined ? { askedBy } : {}),
  };
}

/** The hidden marker of the question comment of one job (found again, never posted twice). */
export function questionMarker(issue: IssueRef, jobId: string): string {
  return `<!-- kanbot:question ${issue.owner}/${issue.repo}#${issue.number} job=${jobId} -->`;
}

/** What the question comment says besides the question. */
export interface QuestionCommentView {
  issue: IssueRef;
  jobId: string;
  question: string;
  /** The agent, when known (a name; shown escaped). */
  agent?: string | undefined;
  /** Who may answer: the repository's `minimumPermission`. */
  minimumPermission: Permission;
  /** When the task is blocked if nobody answers; undefined: it waits as long as it takes. */
  dueAt?: Date | undefined;
  /** A reminder: nobody answered in time and the task is blocked. */
  reminder?: boolean | undefined;
}

/**
 * The comment that asks the question on the issue: the question in a fenced block (the agent's
 * text cannot add markup or mention anyone), then who can answer and how.
 */
export function renderQuestionComment(view: QuestionCommentView): string {
  const who = view.agent === undefined ? "The agent" : `The agent ${escapeMarkdown(view.agent)}`;
  const due =
    view.dueAt === undefined
      ? ""
      : ` Without an answer by ${formatUtc(view.dueAt)} the task is blocked.`;
  if (view.reminder === true) {
    return [
      questionMarker(view.issue, view.jobId),
      `### kanbot: Reminder: the agent's question is still open`,
      `Nobody answered in time, so the task is blocked. ${who} asked:`,
      fencedBlock(cleanQuestion(view.question)),
      `**To answer**, reply on this issue: a plain comment, or \`/kanbot answer <your answer>\` ` +
        `(people with at least \`${view.minimumPermission}\` permission); the task then resumes. ` +
        `To let the agent go on without an answer, comment \`/kanbot retry\`.`,
    ].join("\n\n");
  }
  return [
    questionMarker(view.issue, view.jobId),
    `### kanbot: the agent has a question`,
    `${who} stopped to ask this before going on:`,
    fencedBlock(cleanQuestion(view.question)),
    `**To answer**, reply on this issue: a plain comment, or \`/kanbot answer <your answer>\`. ` +
      `Only people with at least \`${view.minimumPermission}\` permission on this repository can answer; ` +
      `other replies are ignored. The answer goes to the agent, which continues on the same branch.` +
      due,
    `To stop the task instead, comment \`/kanbot cancel\`.`,
  ].join("\n\n");
}

/** When a question asked at `askedAt` is due, or undefined when it waits without end (0 hours). */
export function answerDueAt(askedAt: Date, timeoutHours: number): Date | undefined {
  if (!(timeoutHours > 0)) return undefined;
  return new Date(askedAt.getTime() + timeoutHours * 3_600_000);
}
