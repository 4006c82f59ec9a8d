/**
 * Quota pauses (issue 14, part 1): after an agent's quota failure this runner claims no job for
 * that agent until the reset, and keeps claiming its other agents' jobs.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { pino } from "pino";
import { describe, expect, it } from "vitest";

import {
  DEFAULT_QUOTA_PAUSE_MS,
  MAX_QUOTA_PAUSE_MS,
  createAgentPauses,
  quotaPauseUntil,
} from "../../../runner/dispatch/agent-pauses.js";
import { runListener } from "../../../runner/dispatch/listener.js";
import type { ClaimRequest, ClaimResponse } from "../../../src/protocol/index.js";

const NOW = Date.parse("2026-12-07T10:00:00Z");

describe("createAgentPauses with a file", () => {
  function withDir(body: (dir: string) => void): void {
    const dir = mkdtempSync(join(tmpdir(), "kanbot-pauses-"));
    try {
      body(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  it("keeps a pause across a restart (a second instance reads it) until it ends", () => {
    withDir((dir) => {
      const file = join(dir, "work", "agent-pauses.json");
      createAgentPauses(file).pause("claude", NOW + 3_600_000);

      const restarted = createAgentPauses(file);
      expect([...restarted.paused(NOW)]).toEqual([["claude", NOW + 3_600_000]]);
      expect([...restarted.paused(NOW + 3_600_000)]).toEqual([]);
      expect(JSON.parse(readFileSync(file, "utf8"))).toEqual({ claude: NOW + 3_600_000 });
    });
  });

  it("starts with no pause from a file that is missing, corrupt or of the wrong shape", () => {
    withDir((dir) => {
      const file = join(dir, "agent-pauses.json");
      expect([...createAgentPauses(file).paused(NOW)]).toEqual([]);
      writeFileSync(file, "{not json");
      expect([...createAgentPauses(file).paused(NOW)]).toEqual([]);
      writeFileSync(file, JSON.stringify({ codex: "tomorrow", gemini: NOW + 60_000 }));
      expect([...createAgentPauses(file).paused(NOW)]).toEqual([["gemini", NOW + 60_000]]);
    });
  });
});

describe("quotaPauseUntil", () => {
  it("pauses a quota failure until its reset, bounded by a week", () => {
    const failed = { status: "failed", error: "usage limit", failureClass: "quota" } as const;

    expect(quotaPauseUntil({ ...failed, resetAt: "2026-12-07T13:00:00Z" }, NOW)).toBe(
      Date.parse("2026-12-07T13:00:00Z"),
    );
    expect(quotaPauseUntil({ ...failed, resetAt: "2027-12-07T13:00:00Z" }, NOW)).toBe(
      NOW + MAX_QUOTA_PAUSE_MS,
    );
    expect(quotaPauseUntil(failed, NOW)).toBe(NOW + DEFAULT_QUOTA_PAUSE_MS);
  });

  it("does not pause on other outcomes", () => {
    expect(
      quotaPauseUntil({ status: "failed", error: "x", failureClass: "transient" }, NOW),
    ).toBeUndefined();
    expect(quotaPauseUntil({ status: "failed", error: "x" }, NOW)).toBeUndefined();
    expect(quotaPauseUntil({ status: "canceled" }, NOW)).toBeUndefined();
  });
});

describe("createAgentPauses", () => {
  it("keeps the later pause and forgets a pause once it has passed", () => {
    const pauses = createAgentPauses();

    pauses.pause("claude", NOW + 60_000);
    pauses.pause("claude", NOW + 30_000);

    expect(pauses.paused(NOW)).toEqual(new Map([["claude", NOW + 60_000]]));
    expect(pauses.paused(NOW + 60_000).size).toBe(0);
  });
});

describe("runListener with paused agents", () => {
  const log = pino({ level: "silent" });

  function dispatcherPausing(paused: ReadonlyMap<string, number>) {
    return {
      freeSlots: () => 1,
      waitForSlot: async () => undefined,
      dispatch: (claim: ClaimResponse) =>
        Promise.resolve({ jobId: claim.job.id, result: "completed" as const }),
      pausedAgents: () => paused,
    };
  }

  it("leaves a paused agent out of its claims and keeps claiming the others", async () => {
    const stop = new AbortController();
    const claims: ClaimRequest[] = [];
    const api = {
      async claim(request: ClaimRequest) {
        claims.push(request);
        stop.abort();
        return undefined;
      },
    };

    await runListener({
      api,
      dispatcher: dispatcherPausing(new Map([["claude", Date.now() + 3_600_000]])),
      claim: { agents: ["claude", "codex"] },
      signal: stop.signal,
      log,
    });

    expect(claims.map((claim) => claim.agents)).toEqual([["codex"]]);
  });

  it("claims nothing while every agent is paused: it waits for the first to resume", async () => {
    const stop = new AbortController();
    const claims: ClaimRequest[] = [];
    const waits: number[] = [];
    const resumes = Date.now() + 3_600_000;

    await runListener({
      api: {
        async claim(request: ClaimRequest) {
          claims.push(request);
          return undefined;
        },
      },
      dispatcher: dispatcherPausing(new Map([["claude", resumes]])),
      claim: { agents: ["claude"] },
      signal: stop.signal,
      log,
      sleep: async (ms) => {
        waits.push(ms);
        stop.abort();
      },
    });

    expect(claims).toEqual([]);
    expect(waits).toHaveLength(1);
    expect(waits[0]).toBeGreaterThan(3_500_000);
  });
});
