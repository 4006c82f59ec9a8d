/**
 * GitHub's rate limits on the real simulator server, driven with plain fetch and Octokit as an
 * installation (issue 15, part 1). The limits are set small so a few requests reach them; the
 * simulator's clock is moved by hand, so no test sleeps.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";

import {
  authedGitUrl,
  FULL,
  MAINTAINER,
  ORG,
  REPO,
  startFixture,
  type Fixture,
} from "./fixture.js";

const DAY_MS = 24 * 3_600_000;
const SECONDARY =
  /^You have exceeded a secondary rate limit\. Please wait a few minutes before you try again\. If you reach out to GitHub Support for help, please include the request ID [0-9A-F:]+\.$/;

/** A clock the test moves: the simulator's `now`. */
function handClock() {
  let now = Date.now();
  return {
    now: () => new Date(now),
    advance(ms: number) {
      now += ms;
    },
  };
}

describe("simulator: GitHub's rate limits, on", () => {
  const clock = handClock();
  let fx: Fixture;
  let token: string;
  let client: string;

  async function get(path: string, headers: Record<string, string> = {}) {
    return fetch(`${fx.sim.apiUrl}${path}`, {
      headers: { authorization: `token ${token}`, ...headers },
    });
  }

  async function graphql(query: string) {
    return fetch(`${fx.sim.url}/api/graphql`, {
      method: "POST",
      headers: { authorization: `bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ query }),
    });
  }

  beforeAll(async () => {
    fx = await startFixture({
      limits: { contentPerMinute: 3, restPerHour: 10, graphqlPerHour: 3 },
      now: clock.now,
      tokenLifetimeMs: DAY_MS,
    });
    // Minted before the clock moves: the app's JWT is signed on real time.
    token = await fx.mintToken();
    client = `installation:${fx.installationId}`;
  });
  afterAll(async () => {
    await fx.stop();
  });
  beforeEach(() => {
    fx.sim.limits.reset();
  });
  afterEach(() => {
    expect(fx.sim.violations).toEqual([]);
  });

  it("sends the installation's x-ratelimit headers and an ETag; a matching If-None-Match is an uncounted 304", async () => {
    const paths = [
      `/repos/${FULL}/contents/README.md`,
      `/repos/${FULL}/labels`,
      `/repos/${FULL}/collaborators/${MAINTAINER}/permission`,
    ];

    const first = await Promise.all(paths.map((path) => get(path)));
    const etags = first.map((response) => response.headers.get("etag") ?? "");
    const again: Response[] = [];
    for (const [i, path] of paths.entries())
      again.push(await get(path, { "if-none-match": etags[i] ?? "" }));
    const raw = await get(paths[0] ?? "", { accept: "application/vnd.github.raw" });
    const rawAgain = await get(paths[0] ?? "", {
      accept: "application/vnd.github.raw",
      "if-none-match": raw.headers.get("etag") ?? "",
    });

    expect(first.map((response) => response.status)).toEqual([200, 200, 200]);
    expect(etags.every((etag) => /^W\/"[0-9a-f]{40}"$/.test(etag))).toBe(true);
    expect(again.map((response) => response.status)).toEqual([304, 304, 304]);
    expect(await again[0]?.text()).toBe("");
    expect(rawAgain.status).toBe(304);
    expect(
      Object.fromEntries(
        [...(again[2]?.headers ?? [])].filter(([name]) => name.startsWith("x-ratelimit")),
      ),
    ).toEqual({
      "x-ratelimit-limit": "10",
      "x-ratelimit-remaining": "7",
      "x-ratelimit-used": "3",
      "x-ratelimit-reset": expect.stringMatching(/^\d+$/) as unknown as string,
      "x-ratelimit-resource": "core",
    });
    expect(fx.sim.limits.of(client)).toMatchObject({
      "rest-read": 4,
      "conditional-304": 4,
      limited: 0,
    });
  });

  it("answers 200 with a new ETag once the resource changed", async () => {
    const before = await get(`/repos/${FULL}/labels`);
    const etag = before.headers.get("etag") ?? "";

    await fx.octokit(token).rest.issues.createLabel({ owner: ORG, repo: REPO, name: "fresh" });
    const after = await get(`/repos/${FULL}/labels`, { "if-none-match": etag });

    expect(after.status).toBe(200);
    expect(after.headers.get("etag")).not.toBe(etag);
  });

  it("refuses the 4th content-generating request in the minute: 403, retry-after, GitHub's message", async () => {
    const octokit = fx.octokit(token);
    const create = (name: string) =>
      octokit.rest.issues
        .createLabel({ owner: ORG, repo: REPO, name })
        .catch(
          (error: {
            status: number;
            message: string;
            response: { headers: Record<string, string>; data: unknown };
          }) => error,
        );

    const allowed = [await create("a1"), await create("a2"), await create("a3")];
    const refused = await create("a4");
    clock.advance(59_000);
    const stillRefused = await create("a5");
    clock.advance(1_000);
    const afterTheMinute = await create("a6");

    expect(allowed.map((answer) => answer.status)).toEqual([201, 201, 201]);
    expect(refused).toMatchObject({
      status: 403,
      response: {
        headers: { "retry-after": "60", "x-ratelimit-remaining": "7" },
        data: {
          message: expect.stringMatching(SECONDARY) as unknown as string,
          documentation_url:
            "https://docs.github.com/free-pro-team@latest/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits",
        },
      },
    });
    expect(stillRefused).toMatchObject({
      status: 403,
      response: { headers: { "retry-after": "1" } },
    });
    expect(afterTheMinute.status).toBe(201);
    expect(fx.sim.limits.refusals.map((refusal) => [refusal.limit, refusal.retryAfter])).toEqual([
      ["content-per-minute", 60],
      ["content-per-minute", 1],
    ]);
    expect(fx.sim.limits.of(client)).toMatchObject({ "rest-write": 4, limited: 2 });
    expect(fx.sim.state.mustRepo(FULL).labels.has("a4")).toBe(false);
  });

  it("refuses past the hourly limit with remaining 0 and the reset; the next hour starts afresh", async () => {
    const start = Math.ceil(clock.now().getTime() / 1000);
    for (let i = 0; i < 10; i++) expect((await get(`/repos/${FULL}`)).status).toBe(200);

    const over = await get(`/repos/${FULL}`);
    clock.advance(3_600_000);
    const nextHour = await get(`/repos/${FULL}`);

    expect(over.status).toBe(403);
    expect(await over.json()).toEqual({
      message: `API rate limit exceeded for installation ID ${fx.installationId}.`,
      documentation_url: "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api",
    });
    expect(over.headers.get("x-ratelimit-remaining")).toBe("0");
    expect(over.headers.get("x-ratelimit-used")).toBe("10");
    expect(Number(over.headers.get("x-ratelimit-reset"))).toBe(start + 3600);
    expect(over.headers.get("retry-after")).toBeNull();
    expect(nextHour.status).toBe(200);
    expect(nextHour.headers.get("x-ratelimit-used")).toBe("1");
  });

  it("GraphQL: past the hourly points, 200 with a RATE_LIMITED error and remaining 0", async () => {
    const mutation = await graphql(`
      mutation {
        addProjectV2ItemById(input: { projectId: "PVT_none", contentId: "I_none" }) {
          item {
            id
          }
        }
      }
    `);
    const queries = [
      await graphql(`
        query {
          viewer {
            login
          }
        }
      `),
      await graphql(`
        query {
          viewer {
            login
          }
        }
      `),
    ];
    const over = await graphql(`
      query {
        viewer {
          login
        }
      }
    `);

    expect(mutation.status).toBe(200);
    expect(mutation.headers.get("x-ratelimit-resource")).toBe("graphql");
    expect(queries.map((response) => response.headers.get("x-ratelimit-remaining"))).toEqual([
      "1",
      "0",
    ]);
    expect(over.status).toBe(200);
    expect(over.headers.get("x-ratelimit-remaining")).toBe("0");
    expect(await over.json()).toEqual({
      errors: [
        {
          type: "RATE_LIMITED",
          message: `API rate limit exceeded for installation ID ${fx.installationId}.`,
        },
      ],
    });
    expect(fx.sim.limits.of(client)).toMatchObject({
      "graphql-mutation": 1,
      "graphql-query": 2,
      limited: 1,
    });
  });

  it("counts each token apart (a user's token is its own client); git is not counted", async () => {
    const user = fx.sim.userToken(MAINTAINER);
    await fetch(`${fx.sim.apiUrl}/repos/${FULL}`, { headers: { authorization: `token ${user}` } });
    await get(`/repos/${FULL}`);
    const before = fx.sim.limits.total();

    await fx.git(fx.tempDir(), "ls-remote", authedGitUrl(fx.sim, FULL, token));

    expect(fx.sim.limits.clients()).toEqual([client, `user:${MAINTAINER}`]);
    expect(fx.sim.limits.of(`user:${MAINTAINER}`)).toMatchObject({ "rest-read": 1 });
    expect(fx.sim.limits.total()).toEqual(before);
  });
});

describe("simulator: GitHub's rate limits, answering 429", () => {
  let fx: Fixture;

  beforeAll(async () => {
    fx = await startFixture({ limits: { restStatus: 429, contentPerMinute: 1 } });
  });
  afterAll(async () => {
    await fx.stop();
  });

  it("answers a secondary refusal 429 with retry-after when asked to", async () => {
    const octokit = fx.octokit(await fx.mintToken());

    await octokit.rest.issues.create({ owner: ORG, repo: REPO, title: "one" });
    const refused = await octokit.rest.issues
      .create({ owner: ORG, repo: REPO, title: "two" })
      .catch(
        (error: {
          status: number;
          message: string;
          response: { headers: Record<string, string> };
        }) => error,
      );

    expect(refused).toMatchObject({
      status: 429,
      message: expect.stringMatching(/secondary rate limit/) as unknown as string,
    });
    expect(
      Number(
        (refused as { response: { headers: Record<string, string> } }).response.headers[
          "retry-after"
        ],
      ),
    ).toBeGreaterThan(0);
    expect(fx.sim.limits.of("app")).toMatchObject({ "rest-write": 1, limited: 0 });
    expect(fx.sim.violations).toEqual([]);
  });
});

describe("simulator: GitHub's rate limits, off (the default)", () => {
  let fx: Fixture;

  beforeAll(async () => {
    fx = await startFixture();
  });
  afterAll(async () => {
    await fx.stop();
  });

  it("refuses nothing, keeps its constant headers, and still counts every request", async () => {
    const token = await fx.mintToken();
    const octokit = fx.octokit(token);

    const created = await Promise.all(
      Array.from({ length: 90 }, (_, i) =>
        octokit.rest.issues.createLabel({ owner: ORG, repo: REPO, name: `label-${i}` }),
      ),
    );
    const read = await octokit.rest.repos.get({ owner: ORG, repo: REPO });

    expect(created.every((answer) => answer.status === 201)).toBe(true);
    expect(read.headers["x-ratelimit-remaining"]).toBe("4999");
    expect(fx.sim.limits.enabled).toBe(false);
    expect(fx.sim.limits.of(`installation:${fx.installationId}`)).toMatchObject({
      "rest-write": 90,
      "rest-read": 1,
      limited: 0,
    });
    expect(fx.sim.limits.refusals).toEqual([]);
    expect(fx.sim.violations).toEqual([]);
  });
});
