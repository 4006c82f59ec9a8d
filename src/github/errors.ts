/**
 * GitHub's failures, translated at the edge (STYLE.md "Errors and logs"): every Octokit error
 * (`RequestError` for HTTP and network failures, `GraphqlResponseError` for a GraphQL answer
 * with `errors`) becomes a {@link GitHubError} that keeps the facts a person needs (status,
 * method, URL without credentials, GitHub's request id, the cause) and says what to do.
 *
 * Expected outcomes (a 404 for a missing file, label or collaborator) are handled where they
 * happen, in ./octokit-port.ts; this module only describes what is left.
 */

/** What kind of failure it was, for callers that decide whether to retry. */
export type GitHubErrorKind =
  | "unauthorized"
  | "forbidden"
  | "rate-limited"
  | "not-found"
  | "gone"
  | "conflict"
  | "invalid"
  | "server"
  | "network"
  | "graphql"
  | "other";

/** One error of a GraphQL answer, as GitHub reports it. */
export interface GraphQLErrorFact {
  /** `NOT_FOUND`, `FORBIDDEN`, `INSUFFICIENT_SCOPES`… when GitHub gives one. */
  type: string | undefined;
  message: string;
  path: (string | number)[] | undefined;
}

export interface GitHubErrorFacts {
  /** What kanbot was doing, in domain words: `read the collaborator permission of alice`. */
  action: string;
  kind: GitHubErrorKind;
  /** The HTTP status; 200 for a GraphQL answer with errors; undefined for a network failure. */
  status: number | undefined;
  method: string;
  /** The request URL without query-string credentials. */
  url: string;
  /** GitHub's `x-github-request-id`, to quote to GitHub support. */
  requestId: string | undefined;
  /** GitHub's own message (`Resource not accessible by integration`, `Not Found`…). */
  githubMessage: string;
  /** For GraphQL: every error GitHub listed. */
  graphqlErrors: GraphQLErrorFact[];
  /** When GitHub said the rate limit resets (Unix seconds), if it said so. */
  rateLimitResetAt: number | undefined;
  /** The app.yml permission the request needs (`issues: write`), when known. */
  permission: string | undefined;
}

/** A GitHub request that failed, with what failed and what to do next. */
export class GitHubError extends Error {
  override readonly name = "GitHubError";
  readonly action: string;
  readonly kind: GitHubErrorKind;
  readonly status: number | undefined;
  readonly method: string;
  readonly url: string;
  readonly requestId: string | undefined;
  readonly githubMessage: string;
  readonly graphqlErrors: GraphQLErrorFact[];
  readonly rateLimitResetAt: number | undefined;
  readonly permission: string | undefined;

  constructor(facts: GitHubErrorFacts, options: { cause?: unknown } = {}) {
    super(describe(facts), options);
    this.action = facts.action;
    this.kind = facts.kind;
    this.status = facts.status;
    this.method = facts.method;
    this.url = facts.url;
    this.requestId = facts.requestId;
    this.githubMessage = facts.githubMessage;
    this.graphqlErrors = facts.graphqlErrors;
    this.rateLimitResetAt = facts.rateLimitResetAt;
    this.permission = facts.permission;
  }

  /**
   * Whether trying again later may succeed: GitHub's server errors, rate limits and network
   * failures. A 401/403/404/422 will fail the same way until a person changes something.
   */
  get retryable(): boolean {
    return this.kind === "server" || this.kind === "rate-limited" || this.kind === "network";
  }
}

/** Whether `error` is a {@link GitHubError} with this HTTP status. */
export function isGitHubStatus(error: unknown, status: number): error is GitHubError {
  return error instanceof GitHubError && error.kind !== "graphql" && error.status === status;
}

/** Whether `error` is a GraphQL answer whose every error has one of `types` (e.g. `NOT_FOUND`). */
export function isGraphQLErrorOfType(error: unknown, ...types: string[]): error is GitHubError {
  return (
    error instanceof GitHubError &&
    error.kind === "graphql" &&
    error.graphqlErrors.length > 0 &&
    error.graphqlErrors.every((fact) => fact.type !== undefined && types.includes(fact.type))
  );
}

// ---------------------------------------------------------------------------------------------
// Translation of Octokit's errors. Duck-typed rather than `instanceof`: `@octokit/request-error`
// and `@octokit/graphql` are Probot's dependencies, not ours, and may exist in several copies.

interface RequestErrorShape {
  status: number;
  message: string;
  request: { method?: string; url?: string; body?: unknown };
  response?: { headers?: Record<string, string | number | undefined>; data?: unknown };
}

interface GraphQLResponseErrorShape {
  name: string;
  message: string;
  request: { method?: string; url?: string; query?: string };
  headers?: Record<string, string | number | undefined>;
  errors?: { type?: string; message: string; path?: (string | number)[] }[];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null;
}

function isRequestError(error: unknown): error is RequestErrorShape {
  return (
    error instanceof Error &&
    typeof (error as Partial<RequestErrorShape>).status === "number" &&
    isRecord((error as Partial<RequestErrorShape>).request)
  );
}

function isGraphQLResponseError(error: unknown): error is GraphQLResponseErrorShape {
  return (
    error instanceof Error &&
    error.name === "GraphqlResponseError" &&
    Array.isArray((error as Partial<GraphQLResponseErrorShape>).errors)
  );
}

/** Drops query-string parameters that can carry credentials, and any user:password. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.username = "";
    parsed.password = "";
    for (const name of [...parsed.searchParams.keys()]) {
      if (/token|secret|password|signature|^code$|^sig$/i.test(name)) {
        parsed.searchParams.set(name, "[REDACTED]");
      }
    }
    return parsed.href.replace(/%5BREDACTED%5D/g, "[REDACTED]");
  } catch {
    return url.replace(/([?&](?:[^=&]*token|[^=&]*secret)[^=&]*=)[^&]*/gi, "$1[REDACTED]");
  }
}

/** One response header as text (Octokit gives numbers for some). */
export function header(
  headers: Record<string, string | number | undefined> | undefined,
  name: string,
): string | undefined {
  const value = headers?.[name];
  return value === undefined ? undefined : String(value);
}

/** GitHub's own message from an error body (`{ message, errors }`), else Octokit's. */
function githubMessageOf(error: RequestErrorShape): string {
  const data = error.response?.data;
  if (isRecord(data) && typeof data.message === "string") {
    const details = Array.isArray(data.errors)
      ? data.errors
          .map((entry: unknown) =>
            isRecord(entry)
              ? String(entry.message ?? [entry.resource, entry.field, entry.code].join(" "))
              : String(entry),
          )
          .filter((text) => text.trim() !== "")
      : [];
    return details.length > 0 ? `${data.message} (${details.join("; ")})` : data.message;
  }
  return error.message;
}

function kindOf(status: number, headers: RequestErrorShape["response"], message: string) {
  const remaining = header(headers?.headers, "x-ratelimit-remaining");
  if (status === 429 || (status === 403 && (remaining === "0" || /rate limit/i.test(message)))) {
    return "rate-limited" satisfies GitHubErrorKind;
  }
  const byStatus: Record<number, GitHubErrorKind> = {
    401: "unauthorized",
    403: "forbidden",
    404: "not-found",
    409: "conflict",
    410: "gone",
    422: "invalid",
  };
  return byStatus[status] ?? (status >= 500 ? "server" : "other");
}

/**
 * The permission app.yml must grant for a request, by what it touches. Used to tell a person
 * what to change when GitHub answers "Resource not accessible by integration".
 */
export function permissionFor(method: string, url: string, query?: string): string | undefined {
  const write = method.toUpperCase() !== "GET";
  const level = write ? "write" : "read";
  if (/\/graphql$/.test(url.split("?")[0] ?? url)) {
    return query !== undefined && /projectV2|ProjectV2/.test(query)
      ? `organization_projects: ${/^\s*mutation/.test(query) ? "write" : "read"}`
      : undefined;
  }
  const path = new URL(url, "https://github.invalid").pathname;
  if (/\/collaborators\//.test(path)) return "metadata: read";
  if (/\/contents\//.test(path)) return `contents: ${level}`;
  // Merging writes to the base branch: GitHub checks contents, not pull_requests.
  if (/\/pulls\/\d+\/merge$/.test(path)) return "contents: write";
  if (/\/pulls(\/|$)/.test(path)) return `pull_requests: ${level}`;
  if (/\/git\/refs(\/|$)/.test(path)) return `contents: ${level}`;
  if (/\/actions\//.test(path)) return `actions: ${level}`;
  if (/\/commits\/[^/]+\/(statuses|status)$/.test(path)) return `statuses: ${level}`;
  // Classic branch protection's own endpoints need administration (app.yml does not ask for it);
  // kanbot reads its summary from "Get a branch" instead, which needs contents.
  if (/\/branches\/[^/]+\/protection(\/|$)/.test(path)) return `administration: ${level}`;
  if (/\/rules\/branches\//.test(path)) return "metadata: read";
  if (/^(\/api\/v3)?\/repos\/[^/]+\/[^/]+\/branches\/[^/]+$/.test(path))
    return `contents: ${level}`;
  if (/\/(check-runs|check-suites)(\/|$)/.test(path)) return `checks: ${level}`;
  if (/\/(issues|labels)(\/|$)/.test(path)) return `issues: ${level}`;
  if (/^(\/api\/v3)?\/installation\/repositories$/.test(path)) return "metadata: read";
  if (/^(\/api\/v3)?\/repos\/[^/]+\/[^/]+$/.test(path)) return "metadata: read";
  return undefined;
}

function advice(facts: GitHubErrorFacts): string {
  const permission = facts.permission;
  switch (facts.kind) {
    case "unauthorized":
      return "The installation token was refused: check APP_ID and PRIVATE_KEY, and that the app is still installed.";
    case "forbidden":
      return permission === undefined
        ? "The app is not allowed to do this: check the permissions in app.yml and that the installation accepted them."
        : `The app needs the "${permission}" permission: grant it in app.yml (default_permissions) and in the app's settings, then have the owner accept the new permissions on the installation.`;
    case "rate-limited":
      return facts.rateLimitResetAt === undefined
        ? "GitHub's rate limit is spent: kanbot retries later."
        : `GitHub's rate limit is spent until ${new Date(facts.rateLimitResetAt * 1000).toISOString()}: kanbot retries after that.`;
    case "not-found":
      return "It does not exist, or the installation cannot see it: check the name and that kanbot is installed on the repository.";
    case "gone":
      return "It was deleted on GitHub.";
    case "conflict":
      return "GitHub refused because of the current state (for example a branch that moved): kanbot will look again on the next event.";
    case "invalid":
      return "GitHub refused the request as invalid; this is a kanbot bug unless the message names something a person chose (a label name, a field).";
    case "server":
      return "GitHub had a server error: kanbot retries later.";
    case "network":
      return "GitHub could not be reached: check the network (and GHE_HOST for GitHub Enterprise Server); kanbot retries later.";
    case "graphql":
      if (facts.graphqlErrors.some((fact) => fact.type === "FORBIDDEN")) {
        return permission === undefined
          ? "The app is not allowed to do this: check the permissions in app.yml."
          : `The app needs the "${permission}" permission: grant it in app.yml (default_permissions) and in the app's settings, then have the owner accept it on the installation.`;
      }
      return "GitHub rejected the GraphQL request; see the errors listed.";
    case "other":
      return "See GitHub's message.";
  }
}

function describe(facts: GitHubErrorFacts): string {
  const answered =
    facts.status === undefined ? "could not reach GitHub" : `GitHub answered ${facts.status}`;
  const request = `${facts.method} ${facts.url}`;
  return `Could not ${facts.action}: ${answered} to ${request}: ${facts.githubMessage}. ${advice(facts)}${facts.requestId === undefined ? "" : ` (GitHub request id ${facts.requestId})`}`;
}

/**
 * Turns whatever Octokit threw into a {@link GitHubError}; a `GitHubError` is returned as it is,
 * and an error that did not come from Octokit (a bug of ours) is returned unchanged. `baseUrl`
 * (the Octokit's REST base) completes GraphQL's relative `/graphql` URL on github.com.
 */
export function toGitHubError(error: unknown, action: string, baseUrl?: string): unknown {
  if (error instanceof GitHubError) return error;
  if (isGraphQLResponseError(error)) {
    const relative = String(error.request.url ?? "/graphql");
    const absolute =
      relative.startsWith("/") && baseUrl !== undefined
        ? `${baseUrl.replace(/\/+$/, "")}${relative}`
        : relative;
    const url = redactUrl(absolute);
    const graphqlErrors = (error.errors ?? []).map((entry) => ({
      type: entry.type,
      message: entry.message,
      path: entry.path,
    }));
    return new GitHubError(
      {
        action,
        kind: "graphql",
        status: 200,
        method: (error.request.method ?? "POST").toUpperCase(),
        url,
        requestId: header(error.headers, "x-github-request-id"),
        githubMessage: graphqlErrors.map((entry) => entry.message).join("; ") || error.message,
        graphqlErrors,
        rateLimitResetAt: undefined,
        permission: permissionFor("POST", url, error.request.query),
      },
      { cause: error },
    );
  }
  if (isRequestError(error)) {
    const method = (error.request.method ?? "GET").toUpperCase();
    const url = redactUrl(String(error.request.url ?? ""));
    const network = error.response === undefined;
    const githubMessage = network ? error.message : githubMessageOf(error);
    const reset = header(error.response?.headers, "x-ratelimit-reset");
    const query = readQuery(error.request.body);
    return new GitHubError(
      {
        action,
        kind: network ? "network" : kindOf(error.status, error.response, githubMessage),
        status: network ? undefined : error.status,
        method,
        url,
        requestId: header(error.response?.headers, "x-github-request-id"),
        githubMessage,
        graphqlErrors: [],
        rateLimitResetAt: reset === undefined ? undefined : Number(reset),
        permission: permissionFor(method, url, query),
      },
      { cause: error },
    );
  }
  return error;
}

/** The GraphQL document of a request body (a JSON string or the object Octokit built). */
function readQuery(body: unknown): string | undefined {
  let parsed = body;
  if (typeof body === "string") {
    try {
      parsed = JSON.parse(body);
    } catch {
      return undefined;
    }
  }
  return isRecord(parsed) && typeof parsed.query === "string" ? parsed.query : undefined;
}
