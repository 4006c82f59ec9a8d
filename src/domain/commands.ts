/**
 * `/kanbot …` commands in issue and pull request comments (DESIGN section 5).
 */

import { classifyLines } from "./issue-text.js";

/** A command found in a comment. */
export type Command =
  /** Start (or re-run) the task; `agent` is the name as written, `undefined` to route as usual. */
  | { kind: "run"; agent: string | undefined }
  | { kind: "cancel" }
  | { kind: "retry" }
  | { kind: "status" }
  /** Mark the task's PR ready for review when no check ran on its head (docs/checks-gate.md). */
  | { kind: "ready" }
  /** The answer to the agent's question (a `needs-input` task); the text after `answer`. */
  | { kind: "answer"; text: string }
  /** Free text for the agent (a `revise` job on a pull request). */
  | { kind: "instructions"; text: string };

export type CommandKind = Command["kind"];

const COMMAND_LINE = /^ {0,3}\/kanbot(?:[ \t]+(.*))?$/i;
function withoutTrailingPunctuation(word: string): string {
  return word.replace(/[.,;:!?]+$/, "");
}

const AGENT_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/**
 * The first command in a comment, or `undefined` when there is none.
 *
 * - A command is a line that starts with `/kanbot` (at most three spaces before it; the word is
 *   case-insensitive) followed by a space or the end of the line. A bare `/kanbot` is no command.
 * - Lines in fenced code blocks, quoted (`>`) lines and hidden HTML comments never count: quoting
 *   someone's command must not repeat it, and a command nobody can see must not run.
 * - `run`, `cancel`, `retry`, `status` and `ready` are keywords (case-insensitive) when they
 *   are the first word. `run` takes one optional agent name as its next word; other words after
 *   a keyword are ignored (`/kanbot cancel, wrong approach` cancels).
 * - `answer` (case-insensitive) takes the rest of its line and every line after it as the answer
 *   to the agent's question, trimmed.
 * - Any other text is instructions: the rest of the line and every line after it in the comment
 *   (code blocks included, since they usually carry the error to fix), trimmed.
 */
export function parseCommand(comment: string): Command | undefined {
  const lines = classifyLines(comment);
  for (const [index, line] of lines.entries()) {
    if (line.kind !== "prose") continue;
    const match = COMMAND_LINE.exec(line.text);
    if (match === null) continue;
    const rest = (match[1] ?? "").trim();
    if (rest === "") continue;
    const [first = "", second] = rest.split(/\s+/).map(withoutTrailingPunctuation);
    switch (first.toLowerCase()) {
      case "run":
        return {
          kind: "run",
          agent: second !== undefined && AGENT_NAME.test(second) ? second : undefined,
        };
      case "cancel":
        return { kind: "cancel" };
      case "retry":
        return { kind: "retry" };
      case "status":
        return { kind: "status" };
      case "ready":
        return { kind: "ready" };
      case "answer": {
        const following = lines.slice(index + 1).map((next) => next.text);
        const first = rest.replace(/^answer[.,;:!?]*/i, "");
        return { kind: "answer", text: [first, ...following].join("\n").trim() };
      }
      default: {
        const following = lines.slice(index + 1).map((next) => next.text);
        return { kind: "instructions", text: [rest, ...following].join("\n").trim() };
      }
    }
  }
  return undefined;
}
