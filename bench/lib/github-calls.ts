/**
 * The app's GitHub requests (as the tracing proxy of ./app.ts records them) by class and by
 * endpoint, as issue 15 counts them. Pure: no I/O.
 *
 * - A write is content-generating: every REST POST, PATCH, PUT and DELETE and every GraphQL
 *   mutation (GitHub does not list which requests generate content; the simulator's default
 *   `contentGenerating` takes the same view, test/simulator/rate-limits.ts).
 * - A counted request is every request but a `304 Not Modified` answer to a conditional request
 *   (GitHub does not count those against the primary limit) and but a refusal by a rate limit.
 * - The app's own JWT calls (`/app…`, e.g. an installation token) are not the installation's:
 *   they are kept apart, and so is git over HTTP (`…/info/refs`, `git-upload-pack`,
 *   `git-receive-pack`): GitHub's API limits are not git's.
 */

export type CallClass =
  | "rest-read"
  | "rest-write"
  | "graphql-query"
  | "graphql-mutation"
  | "conditional-304"
  | "limited"
  | "app"
  | "git";

/** What the classifier needs of a recorded call. */
export interface TracedCall {
  method: string;
  /** The path as the app sent it (`/api/v3/repos/…`, `/api/graphql`), without the query. */
  path: string;
  operation?: string;
  graphqlKind?: "query" | "mutation";
  status: number;
  /** The response body said a rate limit refused it (GraphQL's primary limit answers 200). */
  rateLimited?: boolean;
}

const READ_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/** The REST path without GitHub Enterprise's `/api/v3` prefix. */
function restPath(path: string): string {
  return path.replace(/^\/api\/v3(?=\/)/, "");
}

export function isGraphql(path: string): boolean {
  return /\/graphql$/.test(path);
}

/** Whether the call generates content (issue 15's "write"). */
export function isWrite(call: Pick<TracedCall, "method" | "path" | "graphqlKind">): boolean {
  if (isGraphql(call.path)) return call.graphqlKind === "mutation";
  return !READ_METHODS.has(call.method.toUpperCase());
}

export function isGit(path: string): boolean {
  return /\.git\/(info\/refs|git-upload-pack|git-receive-pack)$/.test(path);
}

export function classify(call: TracedCall): CallClass {
  if (isGit(call.path)) return "git";
  if (!isGraphql(call.path) && /^\/app(\/|$)/.test(restPath(call.path))) return "app";
  if (call.rateLimited === true) return "limited";
  if (call.status === 304) return "conditional-304";
  if (isGraphql(call.path))
    return call.graphqlKind === "mutation" ? "graphql-mutation" : "graphql-query";
  return isWrite(call) ? "rest-write" : "rest-read";
}

/**
 * A call's endpoint with the variable parts named: `PATCH /repos/{owner}/{repo}/issues/{n}`,
 * `DELETE /repos/{owner}/{repo}/issues/{n}/labels/{name}`, `graphql mutation updateStatus`.
 */
export function endpoint(
  call: Pick<TracedCall, "method" | "path" | "operation" | "graphqlKind">,
): string {
  if (isGraphql(call.path)) {
    return `graphql ${call.graphqlKind ?? "query"} ${call.operation ?? "(anonymous)"}`;
  }
  const parts = restPath(call.path).split("/");
  const named: string[] = [];
  for (let index = 0; index < parts.length; index++) {
    const part = parts[index] as string;
    const before = parts[index - 1];
    if (parts[1] === "repos" && index === 2) named.push("{owner}");
    else if (parts[1] === "repos" && index === 3) named.push("{repo}");
    else if (before === "contents" || before === "refs") {
      // Everything after `contents/` or `refs/` (`heads/x`, `heads%2Fx`) is one path.
      named.push(before === "refs" ? "{ref}" : "{path}");
      break;
    } else if (/^\d+$/.test(part)) named.push("{n}");
    else if (/^[0-9a-f]{40}$/.test(part)) named.push("{sha}");
    else if (before === "labels" || before === "branches") named.push("{name}");
    else if (before === "orgs" || before === "users") named.push("{login}");
    else named.push(part);
  }
  return `${call.method.toUpperCase()} ${named.join("/")}`;
}

export type ClassCounts = Record<CallClass, number>;

export function emptyCounts(): ClassCounts {
  return {
    "rest-read": 0,
    "rest-write": 0,
    "graphql-query": 0,
    "graphql-mutation": 0,
    "conditional-304": 0,
    limited: 0,
    app: 0,
    git: 0,
  };
}

export interface CallTally {
  counts: ClassCounts;
  /** Content-generating requests: REST writes and GraphQL mutations. */
  writes: number;
  /** Requests counted against the installation: all but 304s, refusals and the app's JWT calls. */
  counted: number;
  /** Per endpoint, most frequent first. */
  byEndpoint: { endpoint: string; class: CallClass; count: number }[];
}

export function tally(calls: readonly TracedCall[]): CallTally {
  const counts = emptyCounts();
  const rows = new Map<string, { endpoint: string; class: CallClass; count: number }>();
  for (const call of calls) {
    const kind = classify(call);
    counts[kind] += 1;
    const name = endpoint(call);
    const key = `${kind} ${name}`;
    const row = rows.get(key) ?? { endpoint: name, class: kind, count: 0 };
    row.count += 1;
    rows.set(key, row);
  }
  const writes = counts["rest-write"] + counts["graphql-mutation"];
  return {
    counts,
    writes,
    counted: writes + counts["rest-read"] + counts["graphql-query"],
    byEndpoint: [...rows.values()].sort(
      (a, b) => b.count - a.count || a.endpoint.localeCompare(b.endpoint),
    ),
  };
}

/** Tasks an hour one installation can finish under GitHub's content-generating budget. */
export function tasksPerHourCeiling(writesPerTask: number, contentPerHour = 500): number {
  return writesPerTask > 0 ? contentPerHour / writesPerTask : Number.POSITIVE_INFINITY;
}

/**
 * The fewest seconds in which `writes` content-generating requests fit under GitHub's secondary
 * limits: at most `perMinute` in any minute and `perHour` in any hour (sliding windows). The
 * k-th write goes as early as both windows allow: 60 s after the (k - perMinute)-th and 3,600 s
 * after the (k - perHour)-th. 0 when every write fits in the first minute.
 */
export function minimumSecondsForWrites(writes: number, perMinute = 80, perHour = 500): number {
  const at: number[] = [];
  for (let k = 0; k < writes; k++) {
    const minute = k >= perMinute ? (at[k - perMinute] as number) + 60 : 0;
    const hour = k >= perHour ? (at[k - perHour] as number) + 3600 : 0;
    at.push(Math.max(minute, hour));
  }
  return at.at(-1) ?? 0;
}
