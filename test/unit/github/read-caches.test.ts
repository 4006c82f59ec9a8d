/**
 * The read caches of issue 15 part 4 on their own: the ETag hook on a real Probot Octokit whose
 * `fetch` is a stub that answers like GitHub (an ETag on 200, 304 to a matching `If-None-Match`),
 * and the boards cache with a hand-moved clock. The simulator tests
 * (test/integration/github/cached-reads.test.ts) show the same against GitHub's counts.
 */
import { ProbotOctokit } from "probot";
import { pino } from "pino";
import { describe, expect, it } from "vitest";

import { EtagCache, installEtagCache, isCacheableRead } from "../../../src/github/etag-cache.js";
import { ProjectCache } from "../../../src/github/project-cache.js";
import type { ProjectBoard } from "../../../src/github/port.js";

const BASE = "https://api.github.com";

interface Sent {
  url: string;
  ifNoneMatch: string | null;
}

/** A GitHub stand-in: JSON bodies by path, ETag = the body's version, 304 when it matches. */
function fakeGitHub(bodies: Map<string, { version: number; body: unknown }>) {
  const sent: Sent[] = [];
  const fetch = (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const url = String(input instanceof Request ? input.url : input);
    const headers = new Headers(init?.headers);
    sent.push({ url, ifNoneMatch: headers.get("if-none-match") });
    const entry = bodies.get(new URL(url).pathname);
    if (entry === undefined) {
      return Promise.resolve(
        new Response(JSON.stringify({ message: "Not Found" }), {
          status: 404,
          headers: { "content-type": "application/json" },
        }),
      );
    }
    const etag = `W/"v${entry.version}"`;
    if (headers.get("if-none-match") === etag) {
      return Promise.resolve(new Response(null, { status: 304, headers: { etag } }));
    }
    return Promise.resolve(
      new Response(JSON.stringify(entry.body), {
        status: 200,
        headers: { "content-type": "application/json", etag },
      }),
    );
  };
  return { sent, fetch };
}

function octokitWith(fetch: typeof globalThis.fetch) {
  return new ProbotOctokit({
    auth: { token: "ghs_test" },
    baseUrl: BASE,
    log: pino({ level: "silent" }),
    request: { fetch },
    retry: { enabled: false },
    throttle: { enabled: false },
  });
}

describe("isCacheableRead", () => {
  it.each([
    ["GET", `${BASE}/repos/o/r`, true],
    ["GET", `${BASE}/repos/o/r/contents/.github%2Fkanbot.yml`, true],
    ["GET", `${BASE}/repos/o/r/labels?per_page=100&page=2`, true],
    ["GET", `${BASE}/repos/o/r/collaborators/alice/permission`, true],
    ["GET", "https://ghe.example/api/v3/repos/o/r/contents/a.yml", true],
    ["GET", `${BASE}/repos/o/r/issues/1`, false],
    ["GET", `${BASE}/repos/o/r/issues/1/comments`, false],
    ["POST", `${BASE}/repos/o/r/labels`, false],
    ["GET", "not a url", false],
  ])("%s %s -> %s", (method, url, expected) => {
    expect(isCacheableRead(method, url)).toBe(expected);
  });
});

describe("the ETag hook", () => {
  it("sends If-None-Match with the kept ETag and serves the kept body on a 304", async () => {
    const bodies = new Map([["/repos/o/r", { version: 1, body: { default_branch: "main" } }]]);
    const github = fakeGitHub(bodies);
    const cache = new EtagCache();
    const octokit = octokitWith(github.fetch);
    installEtagCache(octokit, cache, 1);

    const first = await octokit.rest.repos.get({ owner: "o", repo: "r" });
    const second = await octokit.rest.repos.get({ owner: "o", repo: "r" });
    bodies.set("/repos/o/r", { version: 2, body: { default_branch: "trunk" } });
    const third = await octokit.rest.repos.get({ owner: "o", repo: "r" });

    expect(github.sent.map((request) => request.ifNoneMatch)).toEqual([null, 'W/"v1"', 'W/"v1"']);
    expect([first, second, third].map((response) => response.data.default_branch)).toEqual([
      "main",
      "main",
      "trunk",
    ]);
    expect(second.status).toBe(200);
    expect(cache.stats()).toEqual({ hits: 1, misses: 2, entries: 1 });
  });

  it("never sends one installation's ETag for another, though the URL is the same", async () => {
    const github = fakeGitHub(new Map([["/repos/o/r", { version: 1, body: { id: 1 } }]]));
    const cache = new EtagCache();
    const one = octokitWith(github.fetch);
    const two = octokitWith(github.fetch);
    installEtagCache(one, cache, 1);
    installEtagCache(two, cache, 2);

    await one.rest.repos.get({ owner: "o", repo: "r" });
    await two.rest.repos.get({ owner: "o", repo: "r" });
    await two.rest.repos.get({ owner: "o", repo: "r" });

    expect(github.sent.map((request) => request.ifNoneMatch)).toEqual([null, null, 'W/"v1"']);
    expect(cache.stats().entries).toBe(2);
  });

  it("hands out copies: a caller changing its answer does not change the cache", async () => {
    const github = fakeGitHub(
      new Map([["/repos/o/r/labels", { version: 1, body: [{ name: "a" }] }]]),
    );
    const octokit = octokitWith(github.fetch);
    installEtagCache(octokit, new EtagCache(), 1);

    const first = await octokit.rest.issues.listLabelsForRepo({ owner: "o", repo: "r" });
    first.data.push({ name: "mutated" } as (typeof first.data)[number]);
    const second = await octokit.rest.issues.listLabelsForRepo({ owner: "o", repo: "r" });
    second.data.push({ name: "mutated" } as (typeof second.data)[number]);
    const third = await octokit.rest.issues.listLabelsForRepo({ owner: "o", repo: "r" });

    expect(third.data.map((label) => label.name)).toEqual(["a"]);
  });

  it("drops an entry on a 404, and does not wrap the same Octokit twice", async () => {
    const bodies = new Map([["/repos/o/r", { version: 1, body: { id: 1 } }]]);
    const github = fakeGitHub(bodies);
    const cache = new EtagCache();
    const octokit = octokitWith(github.fetch);
    installEtagCache(octokit, cache, 1);
    installEtagCache(octokit, cache, 1);

    await octokit.rest.repos.get({ owner: "o", repo: "r" });
    bodies.delete("/repos/o/r");
    const gone = octokit.rest.repos.get({ owner: "o", repo: "r" });

    await expect(gone).rejects.toMatchObject({ status: 404 });
    expect(cache.stats()).toEqual({ hits: 0, misses: 1, entries: 0 });
    expect(github.sent).toHaveLength(2);
  });

  it("keeps at most maxEntries answers, the least recently used going first", async () => {
    const bodies = new Map(
      ["/repos/o/a", "/repos/o/b", "/repos/o/c"].map((path) => [path, { version: 1, body: {} }]),
    );
    const github = fakeGitHub(bodies);
    const octokit = octokitWith(github.fetch);
    installEtagCache(octokit, new EtagCache({ maxEntries: 2 }), 1);

    await octokit.rest.repos.get({ owner: "o", repo: "a" });
    await octokit.rest.repos.get({ owner: "o", repo: "b" });
    await octokit.rest.repos.get({ owner: "o", repo: "a" }); // a is now the most recent
    await octokit.rest.repos.get({ owner: "o", repo: "c" }); // b goes
    await octokit.rest.repos.get({ owner: "o", repo: "a" });
    await octokit.rest.repos.get({ owner: "o", repo: "b" });

    expect(github.sent.map((request) => request.ifNoneMatch)).toEqual([
      null,
      null,
      'W/"v1"',
      null,
      'W/"v1"',
      null,
    ]);
  });
});

describe("ProjectCache", () => {
  const board: ProjectBoard = {
    id: "PVT_1",
    owner: "octo-org",
    number: 1,
    title: "Board",
    fields: [{ id: "F1", name: "Status", options: [{ id: "O1", name: "Todo" }] }],
  };

  it("keeps a board per installation, owner (any case) and number, for its TTL", () => {
    let now = 0;
    const cache = new ProjectCache({ ttlMs: 1000, now: () => now });
    cache.set(1, "octo-org", 1, board);

    const hit = cache.get(1, "Octo-Org", 1);
    const otherInstallation = cache.get(2, "octo-org", 1);
    const otherNumber = cache.get(1, "octo-org", 2);
    now = 1000;
    const expired = cache.get(1, "octo-org", 1);

    expect(hit).toEqual({ ...board, cached: true });
    expect(otherInstallation).toBeUndefined();
    expect(otherNumber).toBeUndefined();
    expect(expired).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it("forgets a board, and hands out copies", () => {
    const cache = new ProjectCache();
    cache.set(1, "octo-org", 1, board);

    const copy = cache.get(1, "octo-org", 1);
    copy?.fields.pop();
    const again = cache.get(1, "octo-org", 1);
    cache.forget(1, "OCTO-ORG", 1);

    expect(again?.fields).toHaveLength(1);
    expect(cache.get(1, "octo-org", 1)).toBeUndefined();
  });
});
