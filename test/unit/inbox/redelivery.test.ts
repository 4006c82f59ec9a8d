import { pino } from "pino";
import { describe, expect, it } from "vitest";

import {
  createRedeliverySweeper,
  nextCursor,
  redeliverFailedDeliveries,
  retryableStatus,
  type HookDelivery,
  type HookDeliveryPage,
  type WebhookDeliveriesPort,
} from "../../../src/inbox/redelivery.js";

const NOW = new Date("2026-03-01T12:00:00Z");
const log = pino({ level: "silent" });

let nextId = 100;
function attempt(guid: string, statusCode: number, minutesAgo = 1): HookDelivery {
  return {
    id: nextId++,
    guid,
    deliveredAt: new Date(NOW.getTime() - minutesAgo * 60_000),
    redelivery: false,
    statusCode,
    event: "issues",
    action: "labeled",
  };
}

/** GitHub's deliveries, newest first, split into pages; records what was asked. */
function fakeGitHub(pages: HookDelivery[][], refuse: number[] = []) {
  const listed: (string | undefined)[] = [];
  const redelivered: number[] = [];
  const port: WebhookDeliveriesPort = {
    listPage(cursor): Promise<HookDeliveryPage> {
      listed.push(cursor);
      const index = cursor === undefined ? 0 : Number(cursor);
      return Promise.resolve({
        deliveries: pages[index] ?? [],
        next: index + 1 < pages.length ? String(index + 1) : undefined,
      });
    },
    redeliver(id) {
      if (refuse.includes(id)) return Promise.reject(new Error("422 Validation Failed"));
      redelivered.push(id);
      return Promise.resolve();
    },
  };
  return { port, listed, redelivered };
}

function deps(port: WebhookDeliveriesPort, inbox: string[] = []) {
  return {
    port,
    inInbox: (guid: string) => Promise.resolve(inbox.includes(guid)),
    now: () => NOW,
    log,
  };
}

describe("redeliverFailedDeliveries", () => {
  it("redelivers each failed event once, oldest first, by its newest attempt", async () => {
    const a1 = attempt("a", 0, 10);
    const b1 = attempt("b", 503, 8);
    const a2 = attempt("a", 0, 5);
    const github = fakeGitHub([[a2, b1, a1]]);

    const report = await redeliverFailedDeliveries(deps(github.port));

    expect(github.redelivered).toEqual([a2.id, b1.id]);
    expect(report.redelivered).toEqual(["a", "b"]);
    expect(report.skipped).toEqual([]);
  });

  it("orders events of the same second by id", async () => {
    const later = { ...attempt("later", 0, 3), id: 900 };
    const earlier = { ...attempt("earlier", 0, 3), id: 800 };
    const github = fakeGitHub([[later, earlier]]);

    await redeliverFailedDeliveries(deps(github.port));

    expect(github.redelivered).toEqual([800, 900]);
  });

  it("skips events that succeeded, are in the inbox, were refused for good or failed too often", async () => {
    const succeeded = [attempt("ok-later", 200, 1), attempt("ok-later", 0, 9)];
    const inInbox = attempt("in-inbox", 502, 2);
    const refused = attempt("bad-signature", 400, 3);
    const tooOften = [1, 2, 3, 4, 5].map((minutes) => attempt("flaky", 500, minutes));
    const github = fakeGitHub([[...succeeded, inInbox, refused, ...tooOften]]);

    const report = await redeliverFailedDeliveries(deps(github.port, ["in-inbox"]), {
      lookbackMs: 3_600_000,
      maxPages: 10,
      maxFailedAttempts: 5,
    });

    expect(github.redelivered).toEqual([]);
    expect(report.skipped).toEqual(
      expect.arrayContaining([
        { guid: "ok-later", why: "succeeded" },
        { guid: "in-inbox", why: "in-inbox" },
        { guid: "bad-signature", why: "not-retryable" },
        { guid: "flaky", why: "gave-up" },
      ]),
    );
    expect(report.skipped).toHaveLength(4);
  });

  it("follows the cursor, but no further than the page cap", async () => {
    const pages = [0, 1, 2, 3].map((page) => [attempt(`p${page}`, 0, page + 1)]);
    const github = fakeGitHub(pages);

    const report = await redeliverFailedDeliveries(deps(github.port), {
      lookbackMs: 3_600_000,
      maxPages: 3,
      maxFailedAttempts: 5,
    });

    expect(github.listed).toEqual([undefined, "1", "2"]);
    expect(report.pages).toBe(3);
    expect(report.redelivered).toEqual(["p2", "p1", "p0"]);
  });

  it("stops at the first delivery older than the look-back window", async () => {
    const recent = attempt("recent", 0, 5);
    const old = attempt("old", 0, 120);
    const github = fakeGitHub([[recent, old], [attempt("older", 0, 200)]]);

    const report = await redeliverFailedDeliveries(deps(github.port), {
      lookbackMs: 60 * 60_000,
      maxPages: 10,
      maxFailedAttempts: 5,
    });

    expect(github.listed).toEqual([undefined]);
    expect(report.scanned).toBe(1);
    expect(github.redelivered).toEqual([recent.id]);
  });

  it("goes on after GitHub refuses one redelivery", async () => {
    const first = attempt("first", 0, 3);
    const second = attempt("second", 0, 2);
    const github = fakeGitHub([[second, first]], [first.id]);

    const report = await redeliverFailedDeliveries(deps(github.port));

    expect(report.refused).toEqual(["first"]);
    expect(report.redelivered).toEqual(["second"]);
    expect(github.redelivered).toEqual([second.id]);
  });
});

describe("the sweeper", () => {
  it("logs a failed sweep and resolves undefined instead of rejecting", async () => {
    const sweeper = createRedeliverySweeper({
      port: () => Promise.reject(new Error("no JWT")),
      inInbox: () => Promise.resolve(false),
      now: () => NOW,
      log,
    });

    await expect(sweeper.runOnce()).resolves.toBeUndefined();
  });

  it("runs one sweep at a time", async () => {
    const github = fakeGitHub([[attempt("x", 0)]]);
    const sweeper = createRedeliverySweeper({
      ...deps(github.port),
      port: async () => github.port,
    });

    const [first, second] = await Promise.all([sweeper.runOnce(), sweeper.runOnce()]);

    expect(first).toBe(second);
    expect(github.redelivered).toHaveLength(1);
  });
});

describe("helpers", () => {
  it.each([
    [0, true],
    [500, true],
    [503, true],
    [408, true],
    [429, true],
    [400, false],
    [401, false],
    [413, false],
    [404, false],
  ])("status %i is retryable: %s", (status, expected) => {
    expect(retryableStatus(status)).toBe(expected);
  });

  it.each([
    [undefined, undefined],
    ['<https://api.github.com/app/hook/deliveries?per_page=2&cursor=v1_42>; rel="next"', "v1_42"],
    [
      '<https://h/api/v3/app/hook/deliveries?cursor=v1_7>; rel="prev", <https://h/api/v3/app/hook/deliveries?cursor=v1_3>; rel="next"',
      "v1_3",
    ],
    ['<https://h/api/v3/app/hook/deliveries?cursor=v1_7>; rel="prev"', undefined],
  ])("next cursor of %s is %s", (link, expected) => {
    expect(nextCursor(link)).toBe(expected);
  });
});
