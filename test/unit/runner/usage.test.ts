// Token usage from each CLI's machine-readable output (the fixtures name the CLI version and the
// source file they follow, see ../../fixtures/agents/*/*.source.md) and its price in dollars.
import { readFileSync } from "node:fs";
import { join } from "node:path";

import { describe, expect, it } from "vitest";

import { BUILT_IN_ADAPTERS } from "../../../runner/agents/index.js";
import type { AgentAdapter } from "../../../runner/agents/types.js";
import {
  costOf,
  DEFAULT_PRICES,
  formatUsd,
  priceOf,
  tokenCostUsd,
} from "../../../runner/agents/usage.js";

const FIXTURES = join(import.meta.dirname, "../../fixtures/agents");

function spendOf(adapter: AgentAdapter, file: string) {
  const parser = adapter.createParser();
  for (const line of readFileSync(join(FIXTURES, file), "utf8").split("\n"))
    parser.line(line, "stdout");
  return parser.spend?.();
}

describe("token usage from the CLIs' output", () => {
  it("Codex 0.169.0 (`--json`): the last turn.completed usage, cached input inside input", () => {
    const spend = spendOf(BUILT_IN_ADAPTERS.codex, "codex/success.jsonl");

    expect(spend).toEqual({ tokens: { input: 24763, cachedInput: 24448, output: 122 } });
  });

  it("Codex: a later running total replaces the earlier one (it is the thread's total)", () => {
    const parser = BUILT_IN_ADAPTERS.codex.createParser();
    const usage = (input: number, output: number) =>
      JSON.stringify({
        type: "turn.completed",
        usage: { input_tokens: input, cached_input_tokens: 0, output_tokens: output },
      });

    parser.line(usage(1000, 10), "stdout");
    parser.line(usage(2500, 40), "stdout");

    expect(parser.spend?.()).toEqual({ tokens: { input: 2500, cachedInput: 0, output: 40 } });
  });

  it("Codex: nothing reported yet is no spend", () => {
    const parser = BUILT_IN_ADAPTERS.codex.createParser();

    parser.line(JSON.stringify({ type: "turn.started" }), "stdout");

    expect(parser.spend?.()).toBeUndefined();
  });

  it("Gemini CLI 0.61.0 (`stream-json`): the result's stats and the model init named", () => {
    const spend = spendOf(BUILT_IN_ADAPTERS.gemini, "gemini/success.jsonl");

    expect(spend).toEqual({
      tokens: { input: 14800, cachedInput: 0, output: 410 },
      model: "gemini-2.5-pro",
    });
  });

  it("OpenCode 1.18.33 (`--format json`): its own cost summed over step_finish, and the tokens", () => {
    const spend = spendOf(BUILT_IN_ADAPTERS.opencode, "opencode/success.jsonl");

    expect(spend?.costUsd).toBeCloseTo(0.0317, 10);
    // input 9120 + 9400 without the cache, 9000 read from it; output 180 + 60.
    expect(spend?.tokens).toEqual({ input: 27520, cachedInput: 9000, output: 240 });
  });
});

describe("pricing", () => {
  it("prices uncached input, cached input and output per million tokens", () => {
    const usd = tokenCostUsd(
      { input: 100_000, cachedInput: 20_000, output: 10_000 },
      { input: 1.25, cachedInput: 0.125, output: 10 },
    );

    expect(usd).toBeCloseTo(0.2025, 10);
  });

  it("bills cached input at the input price when the table gives no cached price", () => {
    const usd = tokenCostUsd(
      { input: 1_000_000, cachedInput: 500_000, output: 0 },
      { input: 0.3, output: 2.5 },
    );

    expect(usd).toBeCloseTo(0.3, 10);
  });

  it.each([
    ["gpt-5-codex", 1.25],
    ["GPT-5-Codex", 1.25],
    ["openai/gpt-5-codex", 1.25],
    ["gemini-2.5-pro", 1.25],
    ["gemini-2.5-flash", 0.3],
  ])("finds %s in the default table", (model, input) => {
    expect(priceOf(DEFAULT_PRICES, model)?.input).toBe(input);
  });

  it("the Codex fixture at gpt-5-codex's price", () => {
    const spend = spendOf(BUILT_IN_ADAPTERS.codex, "codex/success.jsonl") ?? {};

    const cost = costOf(spend, DEFAULT_PRICES, "gpt-5-codex");

    // 315 uncached at $1.25, 24,448 cached at $0.125, 122 output at $10 per million.
    expect(cost).toEqual({
      known: true,
      usd: expect.closeTo(0.00466975, 10) as number,
      basis: "priced",
      model: "gpt-5-codex",
    });
  });

  it("the model the output names wins over the configured one", () => {
    const spend = spendOf(BUILT_IN_ADAPTERS.gemini, "gemini/success.jsonl") ?? {};

    const cost = costOf(spend, DEFAULT_PRICES, "gemini-2.5-flash");

    expect(cost).toMatchObject({ known: true, model: "gemini-2.5-pro" });
    expect(cost.known && cost.usd).toBeCloseTo(0.0226, 10);
  });

  it("a CLI's own dollars are used as they are", () => {
    const spend = spendOf(BUILT_IN_ADAPTERS.opencode, "opencode/success.jsonl") ?? {};

    expect(costOf(spend, {}, undefined)).toMatchObject({ known: true, basis: "reported" });
  });

  it("tokens of a model without a price have no known cost, and say why", () => {
    const tokens = { input: 10, cachedInput: 0, output: 1 };

    expect(costOf({ tokens }, DEFAULT_PRICES, "my-local-model")).toEqual({
      known: false,
      reason: 'no price for model "my-local-model" (add it under `prices` in kanbot-runner.yml)',
      model: "my-local-model",
    });
    expect(costOf({ tokens }, DEFAULT_PRICES, undefined)).toMatchObject({ known: false });
  });

  it("a table from the runner config overrides a default", () => {
    const prices = { ...DEFAULT_PRICES, "gpt-5-codex": { input: 2, output: 20 } };

    const cost = costOf(
      { tokens: { input: 1e6, cachedInput: 0, output: 0 } },
      prices,
      "gpt-5-codex",
    );

    expect(cost).toMatchObject({ known: true, usd: 2 });
  });

  it.each([
    [0.5, "$0.50"],
    [0.6075, "$0.6075"],
    [7.29, "$7.29"],
    [12, "$12.00"],
  ])("formats %s as %s", (usd, text) => {
    expect(formatUsd(usd)).toBe(text);
  });
});
