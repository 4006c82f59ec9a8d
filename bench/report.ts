/**
 * Prints Markdown tables of the figures in bench/results/*.json, for docs/BENCHMARKS.md:
 * `node --import tsx bench/report.ts`.
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { RESULTS_DIR, type Machine, type Target } from "./lib/results.js";
import type { Summary } from "./lib/stats.js";

type Json = Record<string, unknown>;

function load(name: string): Json | undefined {
  const file = path.join(RESULTS_DIR, `${name}.json`);
  return existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as Json) : undefined;
}

function table(header: string[], rows: (string | number)[][]): string {
  const line = (cells: (string | number)[]) => `| ${cells.join(" | ")} |`;
  return [line(header), line(header.map(() => "---")), ...rows.map(line)].join("\n");
}

function targets(result: Json): string {
  return table(
    ["target", "measured", "limit", "verdict"],
    (result.targets as Target[]).map((t) => [
      t.name,
      `${t.value} ${t.unit}`,
      `${t.limit}`,
      t.met ? "met" : "**missed**",
    ]),
  );
}

const out: string[] = [];
const first = ["label-to-claim", "webhook-intake", "workspace", "memory", "overhead"]
  .map(load)
  .find((r) => r !== undefined);
if (first) {
  const m = first.machine as Machine;
  out.push(
    "## Machine\n",
    table(
      ["nproc", "CPU", "RAM", "Node", "git", "OS"],
      [[m.nproc, m.cpuModel, `${m.ramGiB} GiB`, m.node, m.git, m.os]],
    ),
    "",
  );
}

for (const name of ["label-to-claim", "webhook-intake", "workspace", "memory", "overhead"]) {
  const r = load(name);
  if (r === undefined) continue;
  const m = r.machine as Machine;
  out.push(
    `## ${name}\n`,
    `${r.at as string}${r.quick ? " (--quick)" : ""}, load average at the end ${m.loadAverage.join(" / ")}\n`,
  );
  if (name === "label-to-claim") {
    const rows = (r.scenarios as Json[]).map((s) => {
      const f = (key: string, field: keyof Summary = "p50") =>
        (s[key] as Summary | undefined)?.[field] ?? "–";
      return [
        s.mode as string,
        s.queuedOther as number,
        s.runners as number,
        (s.labelToClaimMs as Summary).n,
        f("labelToClaimMs"),
        f("labelToClaimMs", "p99"),
        f("githubWaitMs"),
        f("ownMs"),
        f("ownMs", "p99"),
        f("enqueueToClaimMs"),
        f("enqueueToClaimMs", "p99"),
        f("webhookMs"),
      ];
    });
    out.push(
      table(
        [
          "mode",
          "other jobs queued",
          "runners",
          "n",
          "label→claim p50",
          "p99",
          "GitHub wait p50",
          "kanbot's own p50",
          "own p99",
          "enqueue→claim p50",
          "p99",
          "webhook answer p50",
        ],
        rows,
      ),
    );
  } else if (name === "webhook-intake") {
    out.push(
      table(
        [
          "event",
          "senders",
          "deliveries",
          "per second",
          "response p50 ms",
          "p99 ms",
          "recorded",
          "missing",
          "duplicated",
          "app CPU ms/delivery (sending)",
          "(to drain)",
        ],
        (r.runs as Json[]).map((run) => {
          const inbox = run.inbox as Json;
          return [
            run.event as string,
            run.concurrency as number,
            `${run.deliveries as number} + ${run.redeliveries as number} again`,
            run.perSecond as number,
            (run.responseMs as Summary).p50,
            (run.responseMs as Summary).p99,
            `${inbox.rows as number}/${inbox.distinct as number}`,
            inbox.missing as number,
            inbox.duplicated as number,
            run.appCpuMsPerDeliveryWhileSending as number,
            run.appCpuMsPerDeliveryToDrain as number,
          ];
        }),
      ),
    );
  } else if (name === "workspace") {
    const s = (key: string) => r[key] as Summary;
    out.push(
      table(
        ["figure", "p50 ms", "min", "max"],
        [
          [
            "warm mirror → ready worktree (prepare)",
            ...["warmWorktreeMs"].flatMap((k) => [s(k).p50, s(k).min, s(k).max]),
          ],
          [
            "  of which checkout alone (read-tree -mu)",
            s("warmCheckoutAloneMs").p50,
            s("warmCheckoutAloneMs").min,
            s("warmCheckoutAloneMs").max,
          ],
          [
            "  fetch with nothing new",
            s("warmFetchNothingNewMs").p50,
            s("warmFetchNothingNewMs").min,
            s("warmFetchNothingNewMs").max,
          ],
          [
            "fresh clone over smart HTTP",
            s("freshCloneMs").p50,
            s("freshCloneMs").min,
            s("freshCloneMs").max,
          ],
          [
            "  clone --no-checkout",
            s("freshCloneNoCheckoutMs").p50,
            s("freshCloneNoCheckoutMs").min,
            s("freshCloneNoCheckoutMs").max,
          ],
          [
            "  checkout alone",
            s("freshCloneCheckoutAloneMs").p50,
            s("freshCloneCheckoutAloneMs").min,
            s("freshCloneCheckoutAloneMs").max,
          ],
        ],
      ),
      "",
      `ratio warm/clone (medians): ${r.ratioWarmToClone as number}; cold mirror + first worktree: ${r.coldMirrorMs as number} ms; repository: ${JSON.stringify(r.repository)}`,
    );
  } else if (name === "memory") {
    out.push("```json", JSON.stringify({ app: r.app, runner: r.runner }, null, 2), "```");
  } else if (name === "overhead") {
    const { machine: _m, targets: _t, method: _x, ...rest } = r;
    out.push("```json", JSON.stringify(rest, null, 2), "```");
  }
  out.push("", targets(r), "");
}
console.log(out.join("\n"));
