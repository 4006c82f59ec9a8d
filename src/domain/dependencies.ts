/**
 * Dependencies between issues (DESIGN section 5, issue 3 item 3): `depends on #N` / `blocked by
 * #N` lines in the body, GitHub's `blocked_by` dependencies and open sub-issues. A task waits
 * until all are closed; a cycle is found and named so every issue in it can be told.
 */

import { proseLines } from "./issue-text.js";

/** A repository, as `owner/name`. */
export interface RepoRef {
  owner: string;
  repo: string;
}

/** One issue (or pull request) anywhere. */
export interface IssueRef extends RepoRef {
  number: number;
}

/** `owner/repo#N`. */
export function formatIssueRef(ref: IssueRef): string {
  return `${ref.owner}/${ref.repo}#${ref.number}`;
}

/** A key that is equal for the same issue (owner and repository names are case-insensitive). */
export function issueKey(ref: IssueRef): string {
  return formatIssueRef(ref).toLowerCase();
}

export function sameIssue(a: IssueRef, b: IssueRef): boolean {
  return issueKey(a) === issueKey(b);
}

/** Orders refs by owner, repository (case-insensitive), then number. */
export function compareIssueRefs(a: IssueRef, b: IssueRef): number {
  const byRepo = `${a.owner}/${a.repo}`
    .toLowerCase()
    .localeCompare(`${b.owner}/${b.repo}`.toLowerCase(), "en");
  return byRepo !== 0 ? byRepo : a.number - b.number;
}

/** Where a dependency was declared. */
export type DependencySource = "body" | "blocked-by" | "sub-issue";

export interface ParseContext extends RepoRef {
  /** The GitHub host whose issue URLs count (`github.com`, or the GHE_HOST). */
  host?: string;
}

const OWNER = String.raw`[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})`;
const REPO = String.raw`[A-Za-z0-9._-]{1,100}`;
const KEYWORD = /\b(?:depends[ \t]+on|blocked[ \t]+by)\b[ \t]*:?[ \t]*/gi;
const SEPARATOR = /^(?:[ \t]*(?:,|;|&|\band\b)[ \t]*|[ \t]+)/i;

function refPattern(host: string): RegExp {
  const escapedHost = host.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return new RegExp(
    String.raw`^(?:` +
      String.raw`https?://${escapedHost}/(${OWNER})/(${REPO})/(?:issues|pull)/(\d+)(?![\w/])` +
      String.raw`|(?:(${OWNER})/(${REPO}))?#(\d+)(?!\w)` +
      String.raw`)`,
    "i",
  );
}

/**
 * The issues a body declares as dependencies, in order of appearance, without duplicates.
 *
 * A declaration is `depends on` or `blocked by` (case-insensitive, an optional `:`) followed
 * directly by one or more references separated by commas, `;`, `&`, `and` or spaces:
 * `#12`, `owner/repo#12` or `https://<host>/owner/repo/issues/12` (or `/pull/12`). Several
 * declarations may share a line and may appear anywhere in it. Only prose counts: lines in fenced
 * code blocks, quoted (`>`) lines, inline code spans and hidden HTML comments are ignored.
 */
export function parseDependencies(body: string, context: ParseContext): IssueRef[] {
  const pattern = refPattern(context.host ?? "github.com");
  const found: IssueRef[] = [];
  for (const rawLine of proseLines(body)) {
    const line = rawLine.replace(/(`+)(?:(?!\1)[\s\S])*?\1/g, " ");
    for (const keyword of line.matchAll(KEYWORD)) {
      let rest = line.slice(keyword.index + keyword[0].length);
      for (;;) {
        const match = pattern.exec(rest);
        if (match === null) break;
        const ref = toRef(match, context);
        if (ref !== undefined && !found.some((seen) => sameIssue(seen, ref))) found.push(ref);
        rest = rest.slice(match[0].length);
        const separator = SEPARATOR.exec(rest);
        if (separator === null) break;
        rest = rest.slice(separator[0].length);
      }
    }
  }
  return found;
}

function toRef(match: RegExpExecArray, context: RepoRef): IssueRef | undefined {
  const [, urlOwner, urlRepo, urlNumber, owner, repo, number] = match;
  const ref =
    urlNumber !== undefined
      ? { owner: urlOwner ?? "", repo: urlRepo ?? "", number: Number(urlNumber) }
      : {
          owner: owner ?? context.owner,
          repo: repo ?? context.repo,
          number: Number(number),
        };
  return Number.isSafeInteger(ref.number) && ref.number > 0 ? ref : undefined;
}

/** An issue's open/closed state as GitHub reports it. */
export type IssueState = "open" | "closed";

/** An issue GitHub linked to this one (a `blocked_by` dependency or a sub-issue), with its state. */
export interface LinkedIssue {
  ref: IssueRef;
  state: IssueState;
}

/** One dependency of a task, merged over every place it was declared. */
export interface Dependency {
  ref: IssueRef;
  sources: DependencySource[];
  /** `unknown` for a body reference kanbot could not look up (missing, or no access). */
  state: IssueState | "unknown";
}

export interface DependencyInput {
  /** The task's own issue; its body's short `#N` references resolve against its repository. */
  issue: IssueRef;
  body: string;
  /** GitHub's issue dependencies (`blocked_by`). */
  blockedBy: readonly LinkedIssue[];
  /** The issue's sub-issues; closed ones are kept, but do not block. */
  subIssues: readonly LinkedIssue[];
  /**
   * States of the issues named in the body, keyed by {@link issueKey}; a reference missing here
   * is `unknown`. (GitHub's own links carry their state.)
   */
  bodyStates: ReadonlyMap<string, IssueState>;
  host?: string;
}

/**
 * Every dependency of a task, merged by issue (first declaration first: body, then `blocked_by`,
 * then sub-issues), each with all its sources. A state GitHub reported on a link wins over the
 * body lookup.
 */
export function collectDependencies(input: DependencyInput): Dependency[] {
  const byKey = new Map<string, Dependency>();
  const add = (ref: IssueRef, source: DependencySource, state: Dependency["state"]): void => {
    const key = issueKey(ref);
    const existing = byKey.get(key);
    if (existing === undefined) {
      byKey.set(key, { ref, sources: [source], state });
      return;
    }
    if (!existing.sources.includes(source)) existing.sources.push(source);
    if (existing.state === "unknown") existing.state = state;
  };
  const context: ParseContext = { ...input.issue };
  if (input.host !== undefined) context.host = input.host;
  for (const ref of parseDependencies(input.body, context)) {
    add(ref, "body", input.bodyStates.get(issueKey(ref)) ?? "unknown");
  }
  for (const link of input.blockedBy) add(link.ref, "blocked-by", link.state);
  for (const link of input.subIssues) add(link.ref, "sub-issue", link.state);
  return [...byKey.values()];
}

/** Dependencies that keep the task waiting: those still open. */
export function openBlockers(dependencies: readonly Dependency[]): Dependency[] {
  return dependencies.filter((dependency) => dependency.state === "open");
}

/**
 * Body references kanbot could not look up. They do not block (a typo such as `depends on
 * #9999` must not hold a task forever); the progress comment lists them instead.
 */
export function unknownDependencies(dependencies: readonly Dependency[]): Dependency[] {
  return dependencies.filter((dependency) => dependency.state === "unknown");
}

/** One task of the dependency graph and the issues it still waits for (open blockers only). */
export interface TaskDependencies {
  issue: IssueRef;
  dependsOn: readonly IssueRef[];
}

/**
 * A cycle, as an ordered list of issues, each depending on the next and the last on the first.
 * It starts at its smallest issue ({@link compareIssueRefs}) and names each issue once; a
 * self-dependency is a cycle of one.
 */
export type DependencyCycle = IssueRef[];

/** `owner/repo#1 -> owner/repo#2 -> owner/repo#1`. */
export function formatCycle(cycle: readonly IssueRef[]): string {
  const first = cycle[0];
  if (first === undefined) return "";
  return [...cycle, first].map(formatIssueRef).join(" -> ");
}

interface Graph {
  refs: Map<string, IssueRef>;
  edges: Map<string, string[]>;
}

function buildGraph(tasks: readonly TaskDependencies[]): Graph {
  const refs = new Map<string, IssueRef>();
  const edges = new Map<string, string[]>();
  for (const task of tasks) {
    const from = issueKey(task.issue);
    if (!refs.has(from)) refs.set(from, task.issue);
    const targets = edges.get(from) ?? [];
    for (const dependency of task.dependsOn) {
      const to = issueKey(dependency);
      if (!refs.has(to)) refs.set(to, dependency);
      if (!targets.includes(to)) targets.push(to);
    }
    edges.set(from, targets);
  }
  return { refs, edges };
}

/**
 * The shortest cycle through `issue` (breadth-first, neighbours in the order given), or
 * `undefined` when the issue is on none.
 */
export function findCycleThrough(
  issue: IssueRef,
  tasks: readonly TaskDependencies[],
): DependencyCycle | undefined {
  return cycleThrough(issueKey(issue), buildGraph(tasks));
}

function cycleThrough(start: string, graph: Graph): DependencyCycle | undefined {
  const parent = new Map<string, string>();
  const queue: string[] = [start];
  for (let head = 0; head < queue.length; head++) {
    const node = queue[head] ?? start;
    for (const next of graph.edges.get(node) ?? []) {
      if (next === start) {
        const path = [node];
        for (let at = node; at !== start;) {
          at = parent.get(at) ?? start;
          path.push(at);
        }
        return canonical(
          path.reverse().flatMap((key) => {
            const ref = graph.refs.get(key);
            return ref === undefined ? [] : [ref];
          }),
        );
      }
      if (parent.has(next)) continue;
      parent.set(next, node);
      queue.push(next);
    }
  }
  return undefined;
}

/** Rotates a cycle to start at its smallest issue. */
function canonical(cycle: IssueRef[]): DependencyCycle {
  let smallest = 0;
  cycle.forEach((ref, i) => {
    const current = cycle[smallest];
    if (current !== undefined && compareIssueRefs(ref, current) < 0) smallest = i;
  });
  return [...cycle.slice(smallest), ...cycle.slice(0, smallest)];
}

/**
 * Every cycle needed to tell each issue on a cycle which cycle it is on: for each such issue (in
 * {@link compareIssueRefs} order) the shortest cycle through it, without duplicates. Issues that
 * only wait for a cycle, without being on it, are not included.
 */
export function findCycles(tasks: readonly TaskDependencies[]): DependencyCycle[] {
  const graph = buildGraph(tasks);
  const covered = new Set<string>();
  const cycles: DependencyCycle[] = [];
  const keys = [...graph.refs.entries()]
    .sort(([, a], [, b]) => compareIssueRefs(a, b))
    .map(([key]) => key);
  for (const key of keys) {
    if (covered.has(key)) continue;
    const cycle = cycleThrough(key, graph);
    if (cycle === undefined) continue;
    for (const ref of cycle) covered.add(issueKey(ref));
    cycles.push(cycle);
  }
  return cycles;
}

/** Whether a task may be queued now. */
export type Readiness =
  | { status: "ready" }
  | { status: "waiting"; blockers: Dependency[] }
  | { status: "cycle"; cycle: DependencyCycle; blockers: Dependency[] };

export interface ReadinessInput {
  issue: IssueRef;
  /** The task's dependencies ({@link collectDependencies}). */
  dependencies: readonly Dependency[];
  /** The other tasks kanbot knows and their open blockers; the task itself may be in it or not. */
  graph: readonly TaskDependencies[];
}

/**
 * `cycle` when the task is on a dependency cycle (it would wait forever, so this wins over
 * `waiting`), `waiting` while any dependency is open, otherwise `ready`. The task's own open
 * blockers replace whatever the graph holds for it.
 */
export function decideReadiness(input: ReadinessInput): Readiness {
  const blockers = openBlockers(input.dependencies);
  if (blockers.length === 0) return { status: "ready" };
  const graph: TaskDependencies[] = [
    ...input.graph.filter((task) => !sameIssue(task.issue, input.issue)),
    { issue: input.issue, dependsOn: blockers.map((blocker) => blocker.ref) },
  ];
  const cycle = findCycleThrough(input.issue, graph);
  if (cycle !== undefined) return { status: "cycle", cycle, blockers };
  return { status: "waiting", blockers };
}
