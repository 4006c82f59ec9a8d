/**
 * The repository's prompt: `.github/kanbot/prompt.md`, a Liquid template (liquidjs) rendered with
 * the job's variables. kanbot's built-in prompt is the default template, {@link DEFAULT_TEMPLATE},
 * which renders exactly what `buildPrompt` (runner/prompt.ts) builds.
 *
 * Untrusted text stays wrapped whatever the template does: the template never sees it. Every
 * value that holds text written on GitHub (issue title and body, comments, review, check output,
 * and the built-in sections that contain them) reaches the template as an opaque placeholder;
 * after rendering, each placeholder is replaced by the text already wrapped and defused by
 * `untrusted` (runner/prompt.ts). A template can place, repeat or leave out a value, never read,
 * cut or unwrap it: a placeholder altered by a filter is refused. The template's own text may not
 * contain anything that reads as an untrusted-text marker.
 *
 * Liquid is configured without a file system (`include`, `render` and `layout` find nothing),
 * with unknown filters and variables refused, and with parse, render-time and memory limits; the
 * output is capped at {@link MAX_PROMPT_CHARS}.
 */
import { randomBytes } from "node:crypto";
import { Liquid } from "liquidjs";
import { defuseMarkers, promptSafeLabel, stripInvisible } from "../src/domain/untrusted-text.js";
import { stripHtmlComments } from "../src/domain/issue-text.js";
import { GITHUB_TITLE_LIMIT, ISSUE_THREAD_LIMIT } from "../src/domain/untrusted-text.js";
import { gitEnv, runGit } from "./workspace/git.js";
import type { GitContext } from "./workspace/mirror.js";
import { readVerifiedObjects } from "./workspace/verified-tree.js";
import { keepCheckOutputEnd, promptSections, untrusted, type PromptInput } from "./prompt.js";

/** Where the repository's template lives (read from the job's base commit). */
export const PROMPT_TEMPLATE_PATH = ".github/kanbot/prompt.md";

/** Longest template source read. */
export const MAX_TEMPLATE_CHARS = 64 * 1024;

/** Longest prompt a template may render (after the untrusted values are put in). */
export const MAX_PROMPT_CHARS = 1024 * 1024;

/** kanbot's built-in prompt as a template: the same text as `buildPrompt`. */
export const DEFAULT_TEMPLATE = `{{ sections.intro }}

{{ sections.rules }}

{{ sections.issue }}
{%- if sections.job != "" %}

{{ sections.job }}
{%- endif %}
{%- if sections.history != "" %}

{{ sections.history }}
{%- endif %}

{{ sections.closing }}
`;

/** A template that cannot be parsed or rendered, or whose output is refused. */
export class PromptTemplateError extends Error {
  constructor(
    readonly line: number | undefined,
    reason: string,
  ) {
    // One line: the progress comment shows a failed job's first line.
    const text = reason.replace(/\s*\n\s*/g, " ");
    super(`\`${PROMPT_TEMPLATE_PATH}\`${line === undefined ? "" : ` line ${line}`}: ${text}`);
    this.name = "PromptTemplateError";
  }
}

const engine = new Liquid({
  // No file system: every include/render/layout lookup goes to this empty map and fails.
  templates: {},
  relativeReference: false,
  dynamicPartials: false,
  strictFilters: true,
  strictVariables: true,
  lenientIf: true,
  ownPropertyOnly: true,
  jsTruthy: false,
  cache: false,
  parseLimit: MAX_TEMPLATE_CHARS,
  renderLimit: 2_000,
  memoryLimit: 16 * 1024 * 1024,
});

/**
 * The repository's template at `commit` (the job's base: `origin/<base>` when the job started), or
 * `undefined` when there is none. Read from the mirror's objects, never from the worktree: on a
 * continued task branch an agent could have changed the file, and an agent must not write its own
 * next prompt. Only a change merged into the base branch changes the prompt.
 */
export async function readPromptTemplate(
  mirrorPath: string,
  commit: string,
): Promise<string | undefined> {
  const env = gitEnv();
  const listing = await runGit({
    args: ["--git-dir", mirrorPath, "ls-tree", "-z", commit, "--", PROMPT_TEMPLATE_PATH],
    cwd: mirrorPath,
    env,
  });
  const entry = listing.stdout.split("\0")[0] ?? "";
  if (entry === "") return undefined;
  const [mode, type, oid] = (entry.split("\t")[0] ?? "").split(" ");
  if (type !== "blob" || mode === "120000" || oid === undefined) {
    throw new PromptTemplateError(undefined, "is not a regular file");
  }
  // Only `env` is read; the object's bytes are checked against its name.
  const context = { env } as GitContext;
  const object = (await readVerifiedObjects(context, mirrorPath, [oid])).get(oid);
  const content = object?.content ?? Buffer.alloc(0);
  if (content.length > MAX_TEMPLATE_CHARS * 4) {
    throw new PromptTemplateError(
      undefined,
      `the template has ${content.length} bytes, more than ${MAX_TEMPLATE_CHARS * 4}`,
    );
  }
  return content.toString("utf8");
}

/** Renders `template` for `input`; throws {@link PromptTemplateError}. */
export async function renderPromptTemplate(template: string, input: PromptInput): Promise<string> {
  if (template.length > MAX_TEMPLATE_CHARS) {
    throw new PromptTemplateError(
      undefined,
      `the template has ${template.length} characters, more than ${MAX_TEMPLATE_CHARS}`,
    );
  }
  const markerLine = linesOf(template).findIndex((line) => defuseMarkers(line) !== line);
  if (markerLine >= 0) {
    throw new PromptTemplateError(
      markerLine + 1,
      "the template contains text that reads as an untrusted-text marker; only kanbot writes those",
    );
  }
  const values = new OpaqueValues();
  const variables = templateVariables(input, values);
  let rendered: string;
  try {
    const parsed = engine.parse(template);
    rendered = String(await engine.render(parsed, variables));
  } catch (error) {
    throw liquidError(error);
  }
  if (rendered.length > MAX_PROMPT_CHARS) {
    throw new PromptTemplateError(undefined, tooLong(rendered.length));
  }
  const prompt = values.substitute(rendered);
  if (prompt.length > MAX_PROMPT_CHARS)
    throw new PromptTemplateError(undefined, tooLong(prompt.length));
  return prompt;
}

function tooLong(length: number): string {
  return `the rendered prompt has ${length} characters, more than ${MAX_PROMPT_CHARS}`;
}

/** Placeholders for untrusted values, unique to one render. */
class OpaqueValues {
  private readonly nonce = randomBytes(9).toString("hex");
  private readonly texts: string[] = [];

  /** A placeholder for `wrapped` (text already wrapped by `untrusted`). */
  add(wrapped: string): string {
    this.texts.push(wrapped);
    return `\u0001kanbot-${this.nonce}-${this.texts.length - 1}\u0001`;
  }

  /** The output with each intact placeholder replaced; any leftover means a value was altered. */
  substitute(rendered: string): string {
    const pattern = new RegExp(`\\u0001kanbot-${this.nonce}-(\\d+)\\u0001`, "g");
    const pieces: string[] = [];
    let last = 0;
    for (const match of rendered.matchAll(pattern)) {
      const rest = rendered.slice(last, match.index);
      this.checkRest(rest);
      pieces.push(rest, this.texts[Number(match[1])] ?? "");
      last = match.index + match[0].length;
    }
    const tail = rendered.slice(last);
    this.checkRest(tail);
    pieces.push(tail);
    return pieces.join("");
  }

  private checkRest(text: string): void {
    if (text.includes("\u0001") || text.includes(this.nonce)) {
      throw new PromptTemplateError(
        undefined,
        "the template changed an untrusted value (a filter applied to it); untrusted values can only be output as they are",
      );
    }
  }
}

/** The documented variables (docs/agents.md, "The repository's prompt"). */
function templateVariables(input: PromptInput, values: OpaqueValues): Record<string, unknown> {
  const sections = promptSections(input);
  const wrap = (label: string, text: string, limit?: number): string =>
    values.add(untrusted(label, text, limit));
  const issue = input.issue;
  const trusted = issue.comments.filter((comment) => comment.trusted);
  const body = stripHtmlComments(stripInvisible(issue.body)).trim();
  const job = input.job;
  const maxCheckOutput = input.maxCheckOutputChars ?? 12_000;
  return {
    repository: input.repository,
    branch: input.branch,
    base_branch: input.baseBranch ?? null,
    attempt: input.attempt ?? 1,
    job: { kind: job.kind, attempt: input.attempt ?? 1 },
    issue: {
      number: issue.number,
      title: wrap("issue title", issue.title, GITHUB_TITLE_LIMIT),
      body: wrap("issue body", body === "" ? "(no description)" : body, ISSUE_THREAD_LIMIT),
      acceptance_criteria:
        issue.acceptanceCriteria.length === 0
          ? null
          : wrap(
              "acceptance criteria",
              issue.acceptanceCriteria.map((item) => `- ${item}`).join("\n"),
            ),
      comments: trusted.map((comment) => ({
        author: promptSafeLabel(comment.author),
        body: wrap(`comment by @${comment.author}`, stripHtmlComments(comment.body).trim()),
      })),
      omitted_comments: issue.comments.length - trusted.length,
    },
    failing_checks:
      job.kind === "fix-checks"
        ? job.failingChecks.map((check) => ({
            name: promptSafeLabel(check.name),
            summary: check.summary === undefined ? null : promptSafeLabel(check.summary),
            output: wrap(
              `output of check "${check.name}"${check.summary === undefined ? "" : ` (${check.summary})`}`,
              keepCheckOutputEnd(check.output, maxCheckOutput),
            ),
          }))
        : [],
    review:
      job.kind === "revise" && job.review !== undefined && job.review.body.trim() !== ""
        ? {
            author: promptSafeLabel(job.review.author),
            body: wrap(
              `review by @${job.review.author}`,
              stripHtmlComments(job.review.body).trim(),
            ),
          }
        : null,
    review_comments:
      job.kind === "revise"
        ? job.comments.map((comment) => ({
            author: promptSafeLabel(comment.author),
            path: comment.path === undefined ? null : promptSafeLabel(comment.path),
            line: comment.line ?? null,
            body: wrap(
              `review comment by @${comment.author}${comment.path === undefined ? "" : ` on ${comment.path}${comment.line === undefined ? "" : `:${comment.line}`}`}`,
              stripHtmlComments(comment.body).trim(),
            ),
          }))
        : [],
    instructions:
      job.kind === "revise" && job.instructions !== undefined && job.instructions.trim() !== ""
        ? wrap("instructions from a maintainer", job.instructions.trim())
        : null,
    question:
      job.kind === "answer"
        ? {
            text: wrap("your earlier question", job.question),
            answer:
              job.answer === undefined || job.answer.trim() === ""
                ? null
                : wrap(
                    `answer by @${job.answeredBy ?? "a maintainer"}, a maintainer of this repository`,
                    stripHtmlComments(job.answer).trim(),
                  ),
            answered_by: job.answeredBy === undefined ? null : promptSafeLabel(job.answeredBy),
          }
        : null,
    conflicting_files:
      job.kind === "rebase"
        ? (job.conflictingFiles ?? []).map((file) => promptSafeLabel(file))
        : [],
    // The task's earlier jobs (issue 14 part 4); the message is the runners' report: opaque.
    attempts: (input.history ?? []).map((earlier) => ({
      attempt: earlier.attempt,
      kind: earlier.kind,
      agent: promptSafeLabel(earlier.agent),
      outcome: earlier.outcome,
      failure_class: earlier.failureClass ?? null,
      message:
        earlier.message === undefined
          ? null
          : wrap(`attempt ${earlier.attempt} message`, earlier.message),
    })),
    validation_commands: [...(input.validationCommands ?? [])],
    forbidden_paths: [...(input.forbiddenPaths ?? [])],
    sections: {
      intro: values.add(sections.intro),
      rules: values.add(sections.rules),
      issue: values.add(sections.issue),
      job: sections.job === "" ? "" : values.add(sections.job),
      history: sections.history === "" ? "" : values.add(sections.history),
      closing: values.add(sections.closing),
    },
  };
}

function linesOf(text: string): string[] {
  return text.split("\n");
}

/** A liquidjs error as a {@link PromptTemplateError} with the template's line. */
function liquidError(error: unknown): PromptTemplateError {
  if (error instanceof PromptTemplateError) return error;
  const text = error instanceof Error ? error.message : String(error);
  const position = /,?\s*line:(\d+), col:\d+\s*$/.exec(text);
  const line = position?.[1] === undefined ? undefined : Number(position[1]);
  const reason = position === null ? text : text.slice(0, position.index);
  return new PromptTemplateError(
    line,
    reason.trim() === "" ? "the template failed" : reason.trim(),
  );
}
