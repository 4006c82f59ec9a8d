/**
 * `npm run bench [-- --quick] [-- name…]`: runs every benchmark (or the named ones) one after
 * the other, each in its own Node process, and exits non-zero if one fails. A missed target is
 * not a failure: it is printed and recorded in bench/results/<name>.json. `github-budget` runs
 * only when named: at full size its bursts wait on GitHub's write limits for hours.
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { RESULTS_DIR, type Target } from "./lib/results.js";

const BENCHMARKS = [
  "label-to-claim",
  "webhook-intake",
  "workspace",
  "memory",
  "overhead",
  "store-queries",
  "github-budget",
];
/** Run only when named (see above). */
const ONLY_WHEN_NAMED = new Set(["github-budget"]);

const args = process.argv.slice(2);
const flags = args.filter((arg) => arg.startsWith("--"));
const named = args.filter((arg) => !arg.startsWith("--"));
const unknown = named.filter((name) => !BENCHMARKS.includes(name));
if (unknown.length > 0) {
  console.error(`unknown benchmark(s): ${unknown.join(", ")}; known: ${BENCHMARKS.join(", ")}`);
  process.exit(2);
}
const selected = named.length > 0 ? named : BENCHMARKS.filter((name) => !ONLY_WHEN_NAMED.has(name));

const failed: string[] = [];
const missed: string[] = [];
const started = performance.now();
for (const name of selected) {
  const t0 = performance.now();
  const result = spawnSync(
    process.execPath,
    ["--import", "tsx", path.join(import.meta.dirname, `${name}.ts`), ...flags],
    { stdio: "inherit" },
  );
  const seconds = ((performance.now() - t0) / 1000).toFixed(0);
  if (result.status !== 0) {
    failed.push(name);
    console.error(`${name}: FAILED (exit ${result.status ?? result.signal}) after ${seconds} s\n`);
    continue;
  }
  console.log(`${name}: done in ${seconds} s\n`);
  try {
    const written = JSON.parse(readFileSync(path.join(RESULTS_DIR, `${name}.json`), "utf8")) as {
      targets?: Target[];
    };
    for (const target of written.targets ?? []) {
      if (!target.met) missed.push(`${name}: ${target.name} (${target.value} ${target.unit})`);
    }
  } catch {
    failed.push(`${name} (no results file)`);
  }
}
const total = ((performance.now() - started) / 1000).toFixed(0);
console.log(`benchmarks finished in ${total} s`);
if (missed.length > 0) console.log(`targets missed:\n  ${missed.join("\n  ")}`);
if (failed.length > 0) {
  console.error(`benchmarks failed: ${failed.join(", ")}`);
  process.exit(1);
}
