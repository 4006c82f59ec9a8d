/**
 * From a claimed job to the agent's prompt (pure): the protocol's `JobDescription` becomes
 * `buildPrompt`'s input, and a failed validation becomes the next round's prompt.
 */
import { buildPrompt, untrusted, type PromptInput, type PromptJob } from "../prompt.js";
import type { JobDescription, ValidationResult } from "../../src/protocol/index.js";

/** The first round's prompt. */
export function promptForJob(job: JobDescription): string {
  return buildPrompt(promptInput(job));
}

export function promptInput(job: JobDescription): PromptInput {
  return {
    repository: job.repository.fullName,
    branch: job.workspace.branch,
    issue: {
      number: job.issue.number,
      title: job.issue.title,
      body: job.issue.body,
      // The app sends only comments of people trusted to steer the task.
      comments: job.issue.comments.map((comment) => ({ ...comment, trusted: true })),
      acceptanceCriteria: job.issue.acceptanceCriteria,
    },
    job: promptJob(job),
    validationCommands: job.workspace.validationCommands,
    forbiddenPaths: job.workspace.forbiddenPaths,
  };
}

/**
 * The kind-specific part. The app queues `input` as plain text (instructions for `revise`, check
 * output for `fix-checks`) or as an object with the prompt's own fields; both are read.
 */
export function promptJob(job: JobDescription): PromptJob {
  const input = job.input;
  const record = isRecord(input) ? input : undefined;
  switch (job.kind) {
    case "implement":
      return { kind: "implement" };
    case "fix-checks": {
      const checks = Array.isArray(record?.failingChecks) ? record.failingChecks : undefined;
      if (checks !== undefined) {
        return {
          kind: "fix-checks",
          failingChecks: records(checks).map((check) => ({
            name: stringOr(check.name, "check"),
            ...(typeof check.summary === "string" ? { summary: check.summary } : {}),
            output: stringOr(check.output, ""),
          })),
        };
      }
      return {
        kind: "fix-checks",
        failingChecks: [{ name: "failing checks", output: typeof input === "string" ? input : "" }],
      };
    }
    case "revise": {
      if (typeof input === "string") return { kind: "revise", comments: [], instructions: input };
      const review = isRecord(record?.review) ? record.review : undefined;
      const comments = Array.isArray(record?.comments) ? records(record.comments) : [];
      return {
        kind: "revise",
        ...(review !== undefined
          ? {
              review: {
                author: stringOr(review.author, "reviewer"),
                body: stringOr(review.body, ""),
              },
            }
          : {}),
        comments: comments.map((comment) => ({
          author: stringOr(comment.author, "reviewer"),
          body: stringOr(comment.body, ""),
          ...(typeof comment.path === "string" ? { path: comment.path } : {}),
          ...(typeof comment.line === "number" ? { line: comment.line } : {}),
        })),
        ...(typeof record?.instructions === "string" ? { instructions: record.instructions } : {}),
      };
    }
    case "rebase": {
      const files = Array.isArray(record?.conflictingFiles)
        ? record.conflictingFiles.filter((file): file is string => typeof file === "string")
        : undefined;
      return {
        kind: "rebase",
        baseBranch: job.workspace.baseBranch ?? "the default branch",
        ...(files !== undefined ? { conflictingFiles: files } : {}),
      };
    }
  }
}

/**
 * The prompt of a validation round: the job's prompt, then what failed. The output is the
 * repository's commands run on the agent's changes; it is marked untrusted like all other text
 * the agent did not get from kanbot itself.
 */
export function validationRoundPrompt(
  basePrompt: string,
  failed: readonly ValidationResult[],
  round: number,
  rounds: number,
): string {
  const sections = failed.map((result) =>
    [
      `- \`${result.command}\` ${result.exitCode === null ? "was stopped" : `exited with code ${result.exitCode}`}. The end of its output:`,
      untrusted(`output of ${result.command}`, result.outputTail ?? ""),
    ].join("\n"),
  );
  return [
    basePrompt,
    "",
    `## Validation failed (round ${round} of ${rounds})`,
    "",
    "Your changes are still in the working tree. The repository's validation commands ran after your last turn and did not pass:",
    "",
    ...sections,
    "",
    "Fix the cause of these failures (not the commands themselves). The same commands run again when you finish.",
  ].join("\n");
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function records(list: readonly unknown[]): Record<string, unknown>[] {
  const found: Record<string, unknown>[] = [];
  for (const item of list) if (isRecord(item)) found.push(item);
  return found;
}

function stringOr(value: unknown, fallback: string): string {
  return typeof value === "string" ? value : fallback;
}
