/**
 * Routing (issue 3 item 4): which agent works on a task, which runner labels it needs and how
 * urgent it is, each with the reason, so the progress comment and `kanbot plan` can say why.
 */

import { stripHtmlComments } from "./issue-text.js";
import type { Priority } from "./types.js";

/** A keyword rule: when any of `match` occurs in the title or body, use `agent`. */
export interface KeywordRule {
  match: readonly string[];
  agent: string;
}

/** The routing part of a repository's config. */
export interface RoutingRules {
  defaultAgent: string;
  /** Tried in order; the first rule with a match wins. */
  keywordRules: readonly KeywordRule[];
  /** Whether `use:<agent>` labels choose the agent. */
  useLabels: boolean;
  /** Whether a `[agent]` title prefix chooses the agent. */
  titlePrefix: boolean;
  /** Runner labels every task of the repository needs. */
  runnerLabels: readonly string[];
}

/** What routing reads from an issue. */
export interface RoutedIssue {
  title: string;
  body: string;
  labels: readonly string[];
}

/** Where the agent choice came from, strongest first. */
export type AgentSource = "command" | "label" | "title-prefix" | "keyword" | "default";

export interface AgentChoice {
  agent: string;
  source: AgentSource;
  /** For people: `label use:codex`, `title prefix [gemini]`, `keyword "flaky test" -> aider`. */
  reason: string;
  /** Requests that were not used, and why (an unknown agent, a second `use:` label). */
  ignored: IgnoredAgentRequest[];
}

export interface IgnoredAgentRequest {
  source: "command" | "label" | "title-prefix";
  /** As the person wrote it: `use:codx`, `[wip]`, `/kanbot run codx`. */
  request: string;
  reason: string;
}

export interface AgentRoutingInput {
  issue: RoutedIssue;
  rules: RoutingRules;
  /** Agents that can be asked for: the built-in ones and those a registered runner offers. */
  knownAgents: readonly string[];
  /** The agent named in a `/kanbot run <agent>` command, if any. */
  requestedAgent?: string | undefined;
}

const USE_LABEL = /^use:\s*(.+)$/i;
const TITLE_PREFIX = /^\s*\[([^\]\s]+)\]/;

/**
 * Chooses the agent, in order: the agent named by `/kanbot run <agent>`, a `use:<agent>` label,
 * a `[agent]` title prefix, the first keyword rule with a match, the default.
 *
 * Names a person typed (command, label, title prefix) count only when they name a known agent,
 * compared case-insensitively and returned in the known spelling. An unknown name is never used:
 * routing goes on to the next rule and the request is listed in `ignored` with the reason, so
 * the progress comment can show it (a typo must not leave a task queued for an agent no runner
 * has). Several leading brackets are all tried (`[WIP][codex] …`); an unknown one is listed too,
 * since it may be a typo. When several `use:` labels name known agents, the first label wins and
 * the others are listed. Agent names from the config (keyword rules, default) are trusted here:
 * the config check and `kanbot plan` report an agent no runner offers.
 */
export function routeAgent(input: AgentRoutingInput): AgentChoice {
  const { issue, rules } = input;
  const ignored: IgnoredAgentRequest[] = [];
  const known = (name: string): string | undefined =>
    input.knownAgents.find((agent) => agent.toLowerCase() === name.trim().toLowerCase());
  const unknownReason = (name: string): string =>
    `no agent named "${name}" (known: ${input.knownAgents.join(", ") || "none"})`;
  let choice: Omit<AgentChoice, "ignored"> | undefined;

  if (input.requestedAgent !== undefined) {
    const agent = known(input.requestedAgent);
    if (agent !== undefined) {
      choice = { agent, source: "command", reason: `command /kanbot run ${agent}` };
    } else {
      ignored.push({
        source: "command",
        request: `/kanbot run ${input.requestedAgent}`,
        reason: unknownReason(input.requestedAgent),
      });
    }
  }

  if (rules.useLabels) {
    for (const label of issue.labels) {
      const name = USE_LABEL.exec(label)?.[1]?.trim();
      if (name === undefined) continue;
      const agent = known(name);
      if (agent === undefined) {
        ignored.push({ source: "label", request: label, reason: unknownReason(name) });
      } else if (choice === undefined) {
        choice = { agent, source: "label", reason: `label use:${agent}` };
      } else {
        ignored.push({ source: "label", request: label, reason: `${choice.reason} came first` });
      }
    }
  }

  if (rules.titlePrefix && choice === undefined) {
    let title = issue.title;
    for (let match = TITLE_PREFIX.exec(title); match !== null; match = TITLE_PREFIX.exec(title)) {
      const name = match[1] ?? "";
      const agent = known(name);
      if (agent !== undefined) {
        choice = { agent, source: "title-prefix", reason: `title prefix [${agent}]` };
        break;
      }
      ignored.push({ source: "title-prefix", request: `[${name}]`, reason: unknownReason(name) });
      title = title.slice(match[0].length);
    }
  }

  if (choice === undefined) {
    const text = `${issue.title}\n${stripHtmlComments(issue.body)}`;
    for (const rule of rules.keywordRules) {
      const word = rule.match.find((term) => containsTerm(text, term));
      if (word !== undefined) {
        choice = {
          agent: rule.agent,
          source: "keyword",
          reason: `keyword "${word}" -> ${rule.agent}`,
        };
        break;
      }
    }
  }

  choice ??= { agent: rules.defaultAgent, source: "default", reason: "default" };
  return { ...choice, ignored };
}

/**
 * Whether `term` occurs in `text` as whole words: case-insensitive, not inside a longer word
 * (`test` does not match `testing`), any run of whitespace matching the spaces of a phrase. A
 * blank term never matches.
 */
export function containsTerm(text: string, term: string): boolean {
  const words = term
    .trim()
    .split(/\s+/)
    .filter((word) => word !== "");
  if (words.length === 0) return false;
  const body = words.map((word) => word.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join("\\s+");
  return new RegExp(`(?<![\\p{L}\\p{N}_])${body}(?![\\p{L}\\p{N}_])`, "iu").test(text);
}

export interface RunnerRequirements {
  /** Every label a runner must carry, lower-cased, without duplicates: config first. */
  labels: string[];
  fromConfig: string[];
  /** From `runs-on:<label>` issue labels. */
  fromIssue: string[];
}

const RUNS_ON_LABEL = /^runs-on:\s*(.+)$/i;

/**
 * The runner labels a task needs: the config's `runnerLabels` and every `runs-on:<label>` issue
 * label. Runner labels compare case-insensitively (as GitHub Actions runner labels do), so they
 * are lower-cased.
 */
export function runnerRequirements(
  issueLabels: readonly string[],
  rules: Pick<RoutingRules, "runnerLabels">,
): RunnerRequirements {
  const clean = (labels: readonly string[]): string[] => [
    ...new Set(labels.map((label) => label.trim().toLowerCase()).filter((label) => label !== "")),
  ];
  const fromConfig = clean(rules.runnerLabels);
  const fromIssue = clean(issueLabels.flatMap((label) => RUNS_ON_LABEL.exec(label)?.[1] ?? []));
  return { labels: clean([...fromConfig, ...fromIssue]), fromConfig, fromIssue };
}

/** Where a priority came from. */
export type PrioritySource = "label" | "board" | "default";

export interface PriorityChoice {
  priority: Priority;
  source: PrioritySource;
  /** For people: `label priority:P1`, `board Priority "High"`, `default`. */
  reason: string;
}

export const DEFAULT_PRIORITY = 2 satisfies Priority;

const PRIORITY_LABEL = /^priority:\s*p([0-3])$/i;

/**
 * Names of the board's Priority field options, lower-cased. `P0`..`P3` map to themselves;
 * `urgent`/`critical` = P0, `high` = P1, `medium`/`normal` = P2, `low` = P3.
 */
const BOARD_PRIORITIES: Readonly<Record<string, Priority>> = {
  p0: 0,
  p1: 1,
  p2: 2,
  p3: 3,
  urgent: 0,
  critical: 0,
  high: 1,
  medium: 2,
  normal: 2,
  low: 3,
};

/** Parses a board Priority option (trimmed, case-insensitive, emoji and punctuation ignored). */
export function parseBoardPriority(value: string): Priority | undefined {
  const key = value
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, " ")
    .trim();
  return BOARD_PRIORITIES[key];
}

/**
 * The task's priority: the most urgent `priority:P0`..`P3` label (lowest number wins), else the
 * board's Priority field, else P2. Labels win over the board because they sit on the issue
 * itself; an unrecognised board value falls through to the default, and the reason says so.
 */
export function choosePriority(
  labels: readonly string[],
  boardPriority?: string | null,
): PriorityChoice {
  let best: { priority: Priority; label: string } | undefined;
  for (const label of labels) {
    const digit = PRIORITY_LABEL.exec(label.trim())?.[1];
    if (digit === undefined) continue;
    const priority = toPriority(Number(digit));
    if (best === undefined || priority < best.priority) best = { priority, label };
  }
  if (best !== undefined) {
    return { priority: best.priority, source: "label", reason: `label ${best.label}` };
  }
  if (boardPriority !== undefined && boardPriority !== null && boardPriority.trim() !== "") {
    const priority = parseBoardPriority(boardPriority);
    if (priority !== undefined) {
      return { priority, source: "board", reason: `board Priority "${boardPriority.trim()}"` };
    }
    return {
      priority: DEFAULT_PRIORITY,
      source: "default",
      reason: `default (board Priority "${boardPriority.trim()}" not recognised)`,
    };
  }
  return { priority: DEFAULT_PRIORITY, source: "default", reason: "default" };
}

function toPriority(n: number): Priority {
  switch (n) {
    case 0:
    case 1:
    case 2:
    case 3:
      return n;
    default:
      return DEFAULT_PRIORITY;
  }
}

/** The whole routing decision for a task. */
export interface Routing {
  agent: AgentChoice;
  runner: RunnerRequirements;
  priority: PriorityChoice;
}

export interface RoutingInput extends AgentRoutingInput {
  /** The value of the board's Priority field, when the issue is on the board. */
  boardPriority?: string | null;
}

/** Agent, runner labels and priority in one call. */
export function routeTask(input: RoutingInput): Routing {
  return {
    agent: routeAgent(input),
    runner: runnerRequirements(input.issue.labels, input.rules),
    priority: choosePriority(input.issue.labels, input.boardPriority),
  };
}
