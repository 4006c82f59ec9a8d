/**
 * What an agent's run has spent so far, and what that costs in US dollars (issue 14, part 3).
 *
 * Claude Code and OpenCode report dollars themselves; Codex and Gemini CLI report tokens only.
 * Tokens are priced with a per-model table: kanbot's defaults ({@link DEFAULT_PRICES}, each
 * price's source and date in docs/agents.md) under the runner config's `prices`. A model with no
 * price has no known cost: the USD budget is not enforced for it (the minutes budget still is),
 * and the job log says so.
 *
 * Pure: no clock, no I/O.
 */

/** Tokens used so far in one run; `input` includes `cachedInput` (both CLIs count it that way). */
export interface TokenCounts {
  input: number;
  /** The part of `input` read from the model API's prompt cache (billed cheaper). */
  cachedInput: number;
  /** Output tokens, reasoning ("thinking") tokens included: they are billed as output. */
  output: number;
}

/** One run's spending as its output says so far: tokens (with the model, when named) or dollars. */
export interface AgentSpend {
  tokens?: TokenCounts;
  /** The model the CLI named in its output (Gemini CLI's `init`), else the configured one. */
  model?: string;
  /** Dollars the CLI computed itself (OpenCode's `step_finish.cost`, Claude's `total_cost_usd`). */
  costUsd?: number;
}

/** A model's prices in US dollars per million tokens. */
export interface ModelPrice {
  input: number;
  /** Cached input; absent: billed as `input` (the conservative choice). */
  cachedInput?: number;
  output: number;
}

/** Prices by model name (lower case). */
export type PriceTable = Readonly<Record<string, ModelPrice>>;

/**
 * kanbot's default prices, USD per million tokens, for the models the Codex and Gemini CLIs name.
 * Sources and dates: docs/agents.md ("Prices"). Prompts above 200k tokens cost more on Gemini
 * 2.5 Pro; the table keeps the lower tier, so set `prices` in kanbot-runner.yml for long contexts.
 */
export const DEFAULT_PRICES: PriceTable = {
  // OpenAI, developers.openai.com/api/docs/models/gpt-5-codex ("Text tokens, per 1M tokens").
  "gpt-5": { input: 1.25, cachedInput: 0.125, output: 10 },
  "gpt-5-codex": { input: 1.25, cachedInput: 0.125, output: 10 },
  // OpenAI models as GitHub's docs list them (data/tables/copilot/models-and-pricing.yml).
  "gpt-5-mini": { input: 0.25, cachedInput: 0.025, output: 2 },
  "gpt-5.2": { input: 1.75, cachedInput: 0.175, output: 14 },
  "gpt-5.2-codex": { input: 1.75, cachedInput: 0.175, output: 14 },
  "gpt-5.3-codex": { input: 1.75, cachedInput: 0.175, output: 14 },
  // Google, Gemini API pricing for prompts up to 200k tokens.
  "gemini-2.5-pro": { input: 1.25, cachedInput: 0.125, output: 10 },
  "gemini-2.5-flash": { input: 0.3, output: 2.5 },
};

/** The price of `model`: exact name first, then without a provider prefix (`openai/gpt-5`). */
export function priceOf(prices: PriceTable, model: string | undefined): ModelPrice | undefined {
  if (model === undefined || model.trim() === "") return undefined;
  const name = model.trim().toLowerCase();
  const bare = name.includes("/") ? name.slice(name.lastIndexOf("/") + 1) : name;
  return prices[name] ?? prices[bare];
}

/** What `tokens` cost at `price`, in US dollars. */
export function tokenCostUsd(tokens: TokenCounts, price: ModelPrice): number {
  const cached = Math.min(Math.max(0, tokens.cachedInput), Math.max(0, tokens.input));
  const uncached = Math.max(0, tokens.input) - cached;
  const perToken =
    uncached * price.input +
    cached * (price.cachedInput ?? price.input) +
    Math.max(0, tokens.output) * price.output;
  return perToken / 1_000_000;
}

/** A run's cost: known (dollars), or unknown with the reason (a model without a price). */
export type SpendCost =
  | { known: true; usd: number; basis: "reported" | "priced"; model?: string }
  | { known: false; reason: string; model?: string };

/**
 * The dollars `spend` stands for: the CLI's own figure when it gave a positive one, else its
 * tokens at the model's price. `configuredModel` is the runner config's `model`, used when the
 * output names none.
 */
export function costOf(spend: AgentSpend, prices: PriceTable, configuredModel?: string): SpendCost {
  const model = spend.model ?? configuredModel;
  if (spend.costUsd !== undefined && spend.costUsd > 0) {
    return { known: true, usd: spend.costUsd, basis: "reported", ...modelField(model) };
  }
  if (spend.tokens === undefined) {
    if (spend.costUsd !== undefined) return { known: true, usd: 0, basis: "reported" };
    return { known: false, reason: "the agent's output reports no token usage" };
  }
  const price = priceOf(prices, model);
  if (price === undefined) {
    return {
      known: false,
      reason:
        model === undefined
          ? "the agent's output names no model and the runner config sets none (`model:`)"
          : `no price for model "${model}" (add it under \`prices\` in kanbot-runner.yml)`,
      ...modelField(model),
    };
  }
  return {
    known: true,
    usd: tokenCostUsd(spend.tokens, price),
    basis: "priced",
    ...modelField(model),
  };
}

/** Adds two token counts (OpenCode reports each step's own). */
export function addTokens(a: TokenCounts | undefined, b: TokenCounts): TokenCounts {
  if (a === undefined) return { ...b };
  return {
    input: a.input + b.input,
    cachedInput: a.cachedInput + b.cachedInput,
    output: a.output + b.output,
  };
}

/** "$0.50", "$0.6075": cents, or up to four decimals where tokens make fractions of a cent. */
export function formatUsd(usd: number): string {
  return `$${usd.toFixed(4).replace(/(\.\d\d\d*?)0+$/, "$1")}`;
}

function modelField(model: string | undefined): { model?: string } {
  return model === undefined ? {} : { model };
}
