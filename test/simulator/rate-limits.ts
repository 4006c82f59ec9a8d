/**
 * GitHub's API rate limits, as the simulator enforces them (issue 15, part 1). Pure: the clock is
 * passed in, so tests move time without sleeping. The server (./server.ts) asks `admit()` before
 * it handles a REST or GraphQL request and answers a refusal with `limitAnswer()`.
 *
 * The limits and answers, from GitHub's documentation (github/docs, 2025-2026):
 *
 * - content/rest/using-the-rest-api/rate-limits-for-the-rest-api.md: an installation token gets
 *   5,000 requests an hour (the minimum; more with many repositories or users), a user 5,000;
 *   every response carries `x-ratelimit-limit`, `-remaining`, `-used`, `-reset` (UTC epoch
 *   seconds) and `-resource`. "If you exceed your primary rate limit, you will receive a 403 or
 *   429 response, and the x-ratelimit-remaining header will be 0"; a secondary limit is "a 403 or
 *   429 response and an error message that indicates that you exceeded a secondary rate limit",
 *   with `retry-after` (seconds) when present.
 * - data/reusables/rest-api/secondary-rate-limit-rest-graphql.md: no more than 100 concurrent
 *   requests (REST and GraphQL together); 900 points a minute on REST, 2,000 on GraphQL (GET,
 *   HEAD, OPTIONS and queries 1 point; POST, PATCH, PUT, DELETE and mutations 5); no more than 80
 *   content-generating requests a minute and 500 an hour. GitHub does not say which requests
 *   generate content; here every REST write and every mutation does, unless configured otherwise.
 * - content/graphql/overview/rate-limits-and-query-limits-for-the-graphql-api.md: 5,000 points an
 *   hour per installation; past the primary limit "the response status will still be 200, but you
 *   will receive an error message, and the value of the x-ratelimit-remaining header will be 0";
 *   past a secondary limit "the response status will be 200 or 403". The error's `type` is
 *   `RATE_LIMITED` (what @octokit/plugin-throttling 11.0.5's wrap-request.js looks for); GitHub
 *   has since been seen answering `"type":"RATE_LIMIT","code":"graphql_rate_limit"` with "API
 *   rate limit already exceeded for user ID …" (yanyongyu/githubkit#271,
 *   octokit/plugin-throttling.js#848): `graphqlErrorType` picks either.
 * - content/rest/using-the-rest-api/best-practices-for-using-the-rest-api.md: a conditional
 *   request answered `304 Not Modified` does not count against the primary rate limit.
 *
 * The messages are GitHub's as seen in the wild: "API rate limit exceeded for installation ID
 * 12770951." (bobheadxi/deployments#67) and "You have exceeded a secondary rate limit. Please wait
 * a few minutes before you try again. If you reach out to GitHub Support for help, please include
 * the request ID FA2D:87B1:8879E3:1176C87:6570B7E6." with its documentation URL
 * (github-changelog-generator/github-changelog-generator#993).
 *
 * Windows: the primary limit is a fixed hour that starts with the first counted request (its end
 * is `x-ratelimit-reset`); the secondary limits are sliding windows (the last minute, the last
 * hour), and `retry-after` is the whole seconds until enough of the window has slid out to admit
 * the request. A refused request counts nowhere but in `limited`. Concurrency has no time to wait
 * for, so that refusal carries no `retry-after` (the docs then say: wait at least a minute).
 */

/** Who a request counts against: an installation token, a user token, or the app's JWT. */
export type LimitClient =
  | { kind: "installation"; id: number }
  | { kind: "user"; login: string; id: number }
  | { kind: "app" };

export type RequestClass =
  "rest-read" | "rest-write" | "graphql-query" | "graphql-mutation" | "conditional-304" | "limited";

export const REQUEST_CLASSES: readonly RequestClass[] = [
  "rest-read",
  "rest-write",
  "graphql-query",
  "graphql-mutation",
  "conditional-304",
  "limited",
];

export type LimitName =
  | "primary"
  | "concurrency"
  | "content-per-minute"
  | "content-per-hour"
  | "rest-points"
  | "graphql-points";

/** A request as the limits see it. */
export interface LimitedRequest {
  api: "rest" | "graphql";
  method: string;
  /** REST: the path without `/api/v3`; GraphQL: `/api/graphql`. */
  path: string;
  /** GraphQL: the operation is a mutation. */
  mutation?: boolean;
}

export interface LimitConfig {
  /** REST requests an hour per installation or user (`x-ratelimit-limit`, resource `core`). */
  restPerHour: number;
  /** GraphQL points an hour per installation or user (resource `graphql`; a request costs 1). */
  graphqlPerHour: number;
  /** Concurrent requests per installation or user, REST and GraphQL together. */
  concurrent: number;
  /** REST secondary points a minute (reads 1, writes 5). */
  restPointsPerMinute: number;
  /** GraphQL secondary points a minute (queries 1, mutations 5). */
  graphqlPointsPerMinute: number;
  contentPerMinute: number;
  contentPerHour: number;
  /** Whether a request generates content; default every REST write and every mutation. */
  contentGenerating: (request: LimitedRequest) => boolean;
  /** The REST status of a refusal: GitHub documents "403 or 429". Default 403. */
  restStatus: 403 | 429;
  /** The GraphQL status of a secondary refusal: GitHub documents "200 or 403". Default 403. */
  graphqlSecondaryStatus: 200 | 403;
  /** The `type` of a GraphQL primary refusal (see the file's comment). Default `RATE_LIMITED`. */
  graphqlErrorType: "RATE_LIMITED" | "RATE_LIMIT";
}

function isWrite(method: string): boolean {
  return !["GET", "HEAD", "OPTIONS"].includes(method.toUpperCase());
}

export const GITHUB_LIMITS: LimitConfig = {
  restPerHour: 5000,
  graphqlPerHour: 5000,
  concurrent: 100,
  restPointsPerMinute: 900,
  graphqlPointsPerMinute: 2000,
  contentPerMinute: 80,
  contentPerHour: 500,
  contentGenerating: (request) =>
    request.api === "rest" ? isWrite(request.method) : request.mutation === true,
  restStatus: 403,
  graphqlSecondaryStatus: 403,
  graphqlErrorType: "RATE_LIMITED",
};

/** `limits` as the simulator's options take it: off, GitHub's, or GitHub's with changes. */
export type LimitsOption = boolean | Partial<LimitConfig>;

export function limitConfig(option: LimitsOption | undefined): LimitConfig | undefined {
  if (option === undefined || option === false) return undefined;
  return option === true ? GITHUB_LIMITS : { ...GITHUB_LIMITS, ...option };
}

export type ClassCounts = Record<RequestClass, number>;

function zero(): ClassCounts {
  return Object.fromEntries(REQUEST_CLASSES.map((name) => [name, 0])) as ClassCounts;
}

/** One request the limits refused. */
export interface LimitRefusal {
  at: Date;
  /** `installation:<id>` or `user:<login>`. */
  client: string;
  api: "rest" | "graphql";
  method: string;
  path: string;
  limit: LimitName;
  /** Seconds, when the answer carries `retry-after`. */
  retryAfter: number | undefined;
}

/** The rate limit headers of an answer. */
export type RateHeaders = Record<string, string>;

export type Admission =
  | {
      ok: true;
      headers: RateHeaders;
      /**
       * Call once the request is answered: `notModified` when it was a 304 to a conditional
       * request (not counted against the primary limit). Ends its concurrency slot; returns the
       * headers as they stand after it (a 304's show the request uncounted).
       */
      done(outcome?: { notModified: boolean }): RateHeaders;
    }
  | {
      ok: false;
      refusal: LimitRefusal;
      headers: RateHeaders;
    };

interface Entry {
  at: number;
  cost: number;
}

interface PrimaryWindow {
  start: number;
  used: number;
}

interface ClientState {
  inFlight: number;
  primary: { rest: PrimaryWindow | undefined; graphql: PrimaryWindow | undefined };
  content: Entry[];
  points: { rest: Entry[]; graphql: Entry[] };
}

const MINUTE = 60_000;
const HOUR = 3_600_000;

/** The key of a client in the counts: `installation:<id>`, `user:<login>` or `app`. */
export function clientKey(client: LimitClient): string {
  if (client.kind === "installation") return `installation:${client.id}`;
  if (client.kind === "user") return `user:${client.login}`;
  return "app";
}

/** Drops the entries older than `window` (the longest window the entries are kept for). */
function prune(entries: Entry[], now: number, window: number): void {
  while (entries.length > 0 && (entries[0] as Entry).at <= now - window) entries.shift();
}

/** Milliseconds until `cost` more fits under `limit` in a sliding `window`, or 0 if it fits. */
function waitFor(entries: Entry[], now: number, window: number, cost: number, limit: number) {
  const inWindow = entries.filter((entry) => entry.at > now - window);
  let used = inWindow.reduce((sum, entry) => sum + entry.cost, 0);
  if (used + cost <= limit) return 0;
  for (const entry of inWindow) {
    used -= entry.cost;
    if (used + cost <= limit) return entry.at + window - now;
  }
  return window;
}

/**
 * Counts every request by client and class, and (when `config` is given) refuses those past
 * GitHub's limits. Without a config nothing is refused and the headers are the simulator's old
 * constant ones, so functional tests see no change.
 */
export class RateLimiter {
  readonly #clients = new Map<string, ClientState>();
  readonly #counts = new Map<string, ClassCounts>();
  readonly refusals: LimitRefusal[] = [];

  constructor(
    readonly config: LimitConfig | undefined,
    readonly now: () => number = Date.now,
  ) {}

  get enabled(): boolean {
    return this.config !== undefined;
  }

  /** Totals over every client. */
  total(): ClassCounts {
    const sum = zero();
    for (const counts of this.#counts.values())
      for (const name of REQUEST_CLASSES) sum[name] += counts[name];
    return sum;
  }

  /** The counts of one client (`installation:<id>`, `user:<login>`, `app`); zeros if unseen. */
  of(client: string): ClassCounts {
    return { ...(this.#counts.get(client) ?? zero()) };
  }

  /** The clients seen, by key. */
  clients(): string[] {
    return [...this.#counts.keys()].sort();
  }

  /** Zeroes the counts and forgets the refusals; the limits' windows go on. */
  resetCounts(): void {
    this.#counts.clear();
    this.refusals.length = 0;
  }

  /** Zeroes the counts and the windows: every client starts afresh. */
  reset(): void {
    this.resetCounts();
    this.#clients.clear();
  }

  #count(key: string, name: RequestClass, by = 1): void {
    let counts = this.#counts.get(key);
    if (counts === undefined) {
      counts = zero();
      this.#counts.set(key, counts);
    }
    counts[name] += by;
  }

  #state(key: string): ClientState {
    let state = this.#clients.get(key);
    if (state === undefined) {
      state = {
        inFlight: 0,
        primary: { rest: undefined, graphql: undefined },
        content: [],
        points: { rest: [], graphql: [] },
      };
      this.#clients.set(key, state);
    }
    return state;
  }

  #window(state: ClientState, api: "rest" | "graphql", now: number): PrimaryWindow {
    const current = state.primary[api];
    if (current !== undefined && now < current.start + HOUR) return current;
    const fresh = { start: now, used: 0 };
    state.primary[api] = fresh;
    return fresh;
  }

  #headers(window: PrimaryWindow, api: "rest" | "graphql", limit: number): RateHeaders {
    return {
      "x-ratelimit-limit": String(limit),
      "x-ratelimit-remaining": String(Math.max(limit - window.used, 0)),
      "x-ratelimit-used": String(window.used),
      "x-ratelimit-reset": String(Math.ceil((window.start + HOUR) / 1000)),
      "x-ratelimit-resource": api === "rest" ? "core" : "graphql",
    };
  }

  /** Asks to serve `request` for `client`: either a slot (call `done()`) or a refusal. */
  admit(client: LimitClient, request: LimitedRequest): Admission {
    const key = clientKey(client);
    const name: RequestClass =
      request.api === "rest"
        ? isWrite(request.method)
          ? "rest-write"
          : "rest-read"
        : request.mutation === true
          ? "graphql-mutation"
          : "graphql-query";
    const config = this.config;
    if (config === undefined || client.kind === "app") {
      this.#count(key, name);
      const headers = staticHeaders(this.now());
      return { ok: true, headers, done: () => headers };
    }
    const now = this.now();
    const state = this.#state(key);
    const api = request.api;
    const hourly = api === "rest" ? config.restPerHour : config.graphqlPerHour;
    const window = this.#window(state, api, now);
    const refuse = (limit: LimitName, retryAfterMs: number | undefined): Admission => {
      const refusal: LimitRefusal = {
        at: new Date(now),
        client: key,
        api,
        method: request.method,
        path: request.path,
        limit,
        retryAfter:
          retryAfterMs === undefined ? undefined : Math.max(Math.ceil(retryAfterMs / 1000), 1),
      };
      this.refusals.push(refusal);
      this.#count(key, "limited");
      const headers = this.#headers(window, api, hourly);
      if (refusal.retryAfter !== undefined) headers["retry-after"] = String(refusal.retryAfter);
      return { ok: false, refusal, headers };
    };

    if (window.used >= hourly) return refuse("primary", undefined);
    if (state.inFlight >= config.concurrent) return refuse("concurrency", undefined);
    prune(state.points[api], now, MINUTE);
    prune(state.content, now, HOUR);
    const write = api === "rest" ? isWrite(request.method) : request.mutation === true;
    const cost = write ? 5 : 1;
    const pointsLimit = api === "rest" ? config.restPointsPerMinute : config.graphqlPointsPerMinute;
    const waits: [LimitName, number][] = [
      [
        api === "rest" ? "rest-points" : "graphql-points",
        waitFor(state.points[api], now, MINUTE, cost, pointsLimit),
      ],
    ];
    const content = config.contentGenerating(request);
    if (content) {
      waits.push([
        "content-per-minute",
        waitFor(state.content, now, MINUTE, 1, config.contentPerMinute),
      ]);
      waits.push(["content-per-hour", waitFor(state.content, now, HOUR, 1, config.contentPerHour)]);
    }
    const blocking = waits.filter(([, wait]) => wait > 0);
    if (blocking.length > 0) {
      const [limit, wait] = blocking.reduce((longest, next) =>
        next[1] > longest[1] ? next : longest,
      );
      return refuse(limit, wait);
    }

    window.used += 1;
    state.points[api].push({ at: now, cost });
    if (content) state.content.push({ at: now, cost: 1 });
    state.inFlight += 1;
    this.#count(key, name);
    const headers = this.#headers(window, api, hourly);
    let finished = false;
    return {
      ok: true,
      headers,
      done: (outcome) => {
        if (finished) return headers;
        finished = true;
        state.inFlight -= 1;
        if (outcome?.notModified !== true) return headers;
        // GitHub: a 304 to a conditional request does not count against the primary limit.
        if (state.primary[api] === window) window.used -= 1;
        this.#count(key, name, -1);
        this.#count(key, "conditional-304");
        return this.#headers(window, api, hourly);
      },
    };
  }
}

/** The headers the simulator sent before it had limits (and still sends with them off). */
export function staticHeaders(now: number): RateHeaders {
  return {
    "x-ratelimit-limit": "5000",
    "x-ratelimit-remaining": "4999",
    "x-ratelimit-used": "1",
    "x-ratelimit-reset": String(Math.floor(now / 1000) + 3600),
  };
}

const PRIMARY_DOCS = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api";
const SECONDARY_DOCS =
  "https://docs.github.com/free-pro-team@latest/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits";

/** GitHub's answer to a refused request: status, headers and body. */
export function limitAnswer(
  config: LimitConfig,
  client: LimitClient,
  refusal: LimitRefusal,
  requestId: string,
): { status: number; body: unknown } {
  const who =
    client.kind === "installation"
      ? `installation ID ${client.id}`
      : client.kind === "user"
        ? `user ID ${client.id}`
        : "the app";
  if (refusal.limit === "primary") {
    if (refusal.api === "graphql") {
      const body =
        config.graphqlErrorType === "RATE_LIMITED"
          ? { type: "RATE_LIMITED", message: `API rate limit exceeded for ${who}.` }
          : {
              type: "RATE_LIMIT",
              code: "graphql_rate_limit",
              message: `API rate limit already exceeded for ${who}.`,
            };
      return { status: 200, body: { errors: [body] } };
    }
    return {
      status: config.restStatus,
      body: { message: `API rate limit exceeded for ${who}.`, documentation_url: PRIMARY_DOCS },
    };
  }
  const message = `You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out to GitHub Support for help, please include the request ID ${requestId}.`;
  const status = refusal.api === "rest" ? config.restStatus : config.graphqlSecondaryStatus;
  if (status === 200) return { status, body: { errors: [{ type: "RATE_LIMITED", message }] } };
  return { status, body: { message, documentation_url: SECONDARY_DOCS } };
}
