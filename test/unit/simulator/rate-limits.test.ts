import { describe, expect, it } from "vitest";

import {
  GITHUB_LIMITS,
  limitAnswer,
  limitConfig,
  RateLimiter,
  type Admission,
  type LimitClient,
  type LimitConfig,
  type LimitedRequest,
} from "../../simulator/rate-limits.js";

const INSTALLATION: LimitClient = { kind: "installation", id: 7 };
const OTHER: LimitClient = { kind: "installation", id: 8 };
const USER: LimitClient = { kind: "user", login: "octocat", id: 583231 };
const GET: LimitedRequest = { api: "rest", method: "GET", path: "/repos/o/r/labels" };
const POST: LimitedRequest = { api: "rest", method: "POST", path: "/repos/o/r/issues/1/labels" };
const QUERY: LimitedRequest = { api: "graphql", method: "POST", path: "/api/graphql" };
const MUTATION: LimitedRequest = { ...QUERY, mutation: true };
const START = Date.UTC(2026, 0, 1, 12, 0, 0);

/** A limiter on a clock the test moves by hand (no sleeping). */
function limiter(config: Partial<LimitConfig> | true = true) {
  let now = START;
  const limits = new RateLimiter(limitConfig(config), () => now);
  return {
    limits,
    advance(ms: number) {
      now += ms;
    },
    /** Admits `times` requests one after another, each answered at once. */
    send(client: LimitClient, request: LimitedRequest, times = 1): Admission[] {
      const answers: Admission[] = [];
      for (let i = 0; i < times; i++) {
        const admission = limits.admit(client, request);
        if (admission.ok) admission.done();
        answers.push(admission);
      }
      return answers;
    },
  };
}

function refused(answers: Admission[]): number {
  return answers.filter((answer) => !answer.ok).length;
}

describe("simulator rate limits", () => {
  it("refuses the 81st content-generating request in a minute, with retry-after to the window's end", () => {
    const { limits, send, advance } = limiter();

    send(INSTALLATION, POST, 40);
    advance(20_000);
    const first = send(INSTALLATION, POST, 40);
    const over = send(INSTALLATION, POST)[0];

    expect(refused(first)).toBe(0);
    expect(over).toMatchObject({
      ok: false,
      refusal: { limit: "content-per-minute", retryAfter: 40 },
    });
    expect(over?.ok === false && over.headers["retry-after"]).toBe("40");
    expect(limits.of("installation:7")).toMatchObject({ "rest-write": 80, limited: 1 });
  });

  it("lets content through again once the oldest writes slide out of the minute", () => {
    const { send, advance } = limiter();
    send(INSTALLATION, POST, 80);

    advance(59_999);
    const still = send(INSTALLATION, POST)[0];
    advance(1);
    const again = send(INSTALLATION, POST)[0];

    expect(still?.ok).toBe(false);
    expect(again?.ok).toBe(true);
  });

  it("caps content at 500 an hour, and a mutation counts as content", () => {
    const { limits, send, advance } = limiter();
    for (let minute = 0; minute < 6; minute++) {
      send(INSTALLATION, POST, 80);
      advance(60_000);
    }
    // 480 REST writes so far; 20 mutations make 500.
    send(INSTALLATION, MUTATION, 20);

    const over = send(INSTALLATION, POST)[0];

    expect(over).toMatchObject({ ok: false, refusal: { limit: "content-per-hour" } });
    // The first 80 leave the hour 3600 s after they were sent, 360 s ago.
    expect(over?.ok === false && over.refusal.retryAfter).toBe(3600 - 360);
    expect(limits.of("installation:7")).toMatchObject({
      "rest-write": 480,
      "graphql-mutation": 20,
      limited: 1,
    });
  });

  it("counts REST points a minute: 900 reads, or 180 writes, then refuses", () => {
    const reads = limiter();
    const writes = limiter({ contentGenerating: () => false });

    const readAnswers = reads.send(INSTALLATION, GET, 901);
    const writeAnswers = writes.send(INSTALLATION, POST, 181);

    expect(refused(readAnswers)).toBe(1);
    expect(readAnswers[900]).toMatchObject({ refusal: { limit: "rest-points", retryAfter: 60 } });
    expect(refused(writeAnswers)).toBe(1);
    expect(writeAnswers[180]).toMatchObject({ refusal: { limit: "rest-points" } });
  });

  it("counts GraphQL points apart from REST: 2,000 a minute, mutations 5", () => {
    const { send } = limiter({ contentPerMinute: 10_000, contentPerHour: 10_000 });

    const restReads = send(INSTALLATION, GET, 900);
    const mutations = send(INSTALLATION, MUTATION, 300); // 1,500 points
    const queries = send(INSTALLATION, QUERY, 501); // 500 more fit, the 501st does not

    expect(refused(restReads)).toBe(0);
    expect(refused(mutations)).toBe(0);
    expect(refused(queries)).toBe(1);
    expect(queries[500]).toMatchObject({ refusal: { limit: "graphql-points" } });
  });

  it("refuses the 5,001st request of the hour with remaining 0 and the window's reset", () => {
    const { send, advance } = limiter({ restPointsPerMinute: 1_000_000 });
    send(INSTALLATION, GET, 4999);

    const last = send(INSTALLATION, GET)[0];
    const over = send(INSTALLATION, GET)[0];
    advance(3_600_000);
    const nextHour = send(INSTALLATION, GET)[0];

    const reset = String(START / 1000 + 3600);
    expect(last).toMatchObject({
      ok: true,
      headers: {
        "x-ratelimit-limit": "5000",
        "x-ratelimit-remaining": "0",
        "x-ratelimit-used": "5000",
        "x-ratelimit-reset": reset,
        "x-ratelimit-resource": "core",
      },
    });
    expect(over).toMatchObject({
      ok: false,
      refusal: { limit: "primary", retryAfter: undefined },
      headers: { "x-ratelimit-remaining": "0", "x-ratelimit-reset": reset },
    });
    expect(over?.ok === false && "retry-after" in over.headers).toBe(false);
    expect(nextHour).toMatchObject({
      ok: true,
      headers: { "x-ratelimit-used": "1", "x-ratelimit-reset": String(START / 1000 + 7200) },
    });
  });

  it("does not count a 304 against the primary limit, and counts it as conditional-304", () => {
    const { limits } = limiter();

    const conditional = limits.admit(INSTALLATION, GET);
    if (conditional.ok) conditional.done({ notModified: true });
    const next = limits.admit(INSTALLATION, GET);

    expect(conditional).toMatchObject({ ok: true, headers: { "x-ratelimit-used": "1" } });
    expect(next).toMatchObject({ ok: true, headers: { "x-ratelimit-used": "1" } });
    expect(limits.of("installation:7")).toMatchObject({ "rest-read": 1, "conditional-304": 1 });
  });

  it("allows 100 requests in flight per installation, REST and GraphQL together", () => {
    const { limits } = limiter();
    const open = [
      ...Array.from({ length: 60 }, () => limits.admit(INSTALLATION, GET)),
      ...Array.from({ length: 40 }, () => limits.admit(INSTALLATION, QUERY)),
    ];

    const over = limits.admit(INSTALLATION, QUERY);
    const otherInstallation = limits.admit(OTHER, GET);
    const first = open[0];
    if (first?.ok) first.done();
    const afterOne = limits.admit(INSTALLATION, GET);

    expect(open.every((admission) => admission.ok)).toBe(true);
    expect(over).toMatchObject({
      ok: false,
      refusal: { limit: "concurrency", retryAfter: undefined },
    });
    expect(otherInstallation.ok).toBe(true);
    expect(afterOne.ok).toBe(true);
  });

  it("keeps each installation and user token to its own limits", () => {
    const { limits, send } = limiter();
    send(INSTALLATION, POST, 80);

    const other = send(OTHER, POST)[0];
    const user = send(USER, POST)[0];

    expect(other?.ok).toBe(true);
    expect(user?.ok).toBe(true);
    expect(limits.clients()).toEqual(["installation:7", "installation:8", "user:octocat"]);
  });

  it("with limits off counts every request and refuses none", () => {
    const limits = new RateLimiter(limitConfig(false), () => START);

    const answers = Array.from({ length: 600 }, () => limits.admit(INSTALLATION, POST));

    expect(answers.every((answer) => answer.ok)).toBe(true);
    expect(limits.total()["rest-write"]).toBe(600);
    expect(limits.refusals).toEqual([]);
  });

  it("records each refusal and resets counts without forgetting the windows", () => {
    const { limits, send } = limiter();
    send(INSTALLATION, POST, 81);

    const recorded = [...limits.refusals];
    limits.resetCounts();
    const stillLimited = send(INSTALLATION, POST)[0];
    limits.reset();
    const afresh = send(INSTALLATION, POST)[0];

    expect(recorded).toEqual([
      {
        at: new Date(START),
        client: "installation:7",
        api: "rest",
        method: "POST",
        path: POST.path,
        limit: "content-per-minute",
        retryAfter: 60,
      },
    ]);
    expect(stillLimited?.ok).toBe(false);
    expect(afresh?.ok).toBe(true);
    expect(limits.total()).toMatchObject({ "rest-write": 1, limited: 0 });
  });

  const ID = "FA2D:87B1:8879E3:1176C87:6570B7E6";
  const SECONDARY = `You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out to GitHub Support for help, please include the request ID ${ID}.`;
  const SECONDARY_DOCS =
    "https://docs.github.com/free-pro-team@latest/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits";
  const PRIMARY_DOCS = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api";

  it.each([
    [
      "REST primary",
      { api: "rest", limit: "primary" },
      INSTALLATION,
      {},
      403,
      {
        message: "API rate limit exceeded for installation ID 7.",
        documentation_url: PRIMARY_DOCS,
      },
    ],
    [
      "REST primary, as a user, 429",
      { api: "rest", limit: "primary" },
      USER,
      { restStatus: 429 },
      429,
      { message: "API rate limit exceeded for user ID 583231.", documentation_url: PRIMARY_DOCS },
    ],
    [
      "REST secondary",
      { api: "rest", limit: "content-per-minute" },
      INSTALLATION,
      {},
      403,
      { message: SECONDARY, documentation_url: SECONDARY_DOCS },
    ],
    [
      "GraphQL primary",
      { api: "graphql", limit: "primary" },
      INSTALLATION,
      {},
      200,
      {
        errors: [
          { type: "RATE_LIMITED", message: "API rate limit exceeded for installation ID 7." },
        ],
      },
    ],
    [
      "GraphQL secondary",
      { api: "graphql", limit: "graphql-points" },
      INSTALLATION,
      {},
      403,
      { message: SECONDARY, documentation_url: SECONDARY_DOCS },
    ],
    [
      "GraphQL secondary, 200",
      { api: "graphql", limit: "content-per-hour" },
      INSTALLATION,
      { graphqlSecondaryStatus: 200 },
      200,
      { errors: [{ type: "RATE_LIMITED", message: SECONDARY }] },
    ],
  ] as const)(
    "answers a %s refusal as GitHub does",
    (_name, refusal, client, change, status, body) => {
      const config: LimitConfig = { ...GITHUB_LIMITS, ...change };
      const full = {
        ...refusal,
        at: new Date(START),
        client: "x",
        method: "POST",
        path: "/",
        retryAfter: 5,
      };

      const answer = limitAnswer(config, client, full, ID);

      expect(answer).toEqual({ status, body });
    },
  );

  it("can answer a GraphQL primary refusal with the RATE_LIMIT variant GitHub has been seen sending", () => {
    const config = { ...GITHUB_LIMITS, graphqlErrorType: "RATE_LIMIT" } as const;
    const refusal = {
      at: new Date(START),
      client: "installation:7",
      api: "graphql",
      method: "POST",
      path: "/api/graphql",
      limit: "primary",
      retryAfter: undefined,
    } as const;

    const answer = limitAnswer(config, INSTALLATION, refusal, "1:2:3:4:5");

    expect(answer).toEqual({
      status: 200,
      body: {
        errors: [
          {
            type: "RATE_LIMIT",
            code: "graphql_rate_limit",
            message: "API rate limit already exceeded for installation ID 7.",
          },
        ],
      },
    });
  });
});
