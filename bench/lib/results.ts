/** Where each benchmark writes its figures, and the facts about the machine they came from. */
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";

export const RESULTS_DIR = path.resolve(import.meta.dirname, "../results");

export interface Target {
  /** What the issue asks for, in words (`p99 < 100 ms with 10,000 queued`). */
  name: string;
  met: boolean;
  /** The measured figure the verdict is about. */
  value: number;
  limit: number;
  unit: string;
}

export interface Machine {
  nproc: number;
  cpuModel: string;
  ramGiB: number;
  node: string;
  git: string;
  os: string;
  loadAverage: number[];
}

function cpuModel(): string {
  try {
    const text = readFileSync("/proc/cpuinfo", "utf8");
    const line = text.split("\n").find((entry) => entry.startsWith("model name"));
    return line?.split(":")[1]?.trim() ?? os.cpus()[0]?.model ?? "unknown";
  } catch {
    return os.cpus()[0]?.model ?? "unknown";
  }
}

export function machine(): Machine {
  let git = "unknown";
  try {
    git = execFileSync("git", ["--version"], { encoding: "utf8" }).trim();
  } catch {
    // git missing: the benchmarks that need it fail on their own.
  }
  return {
    nproc: os.availableParallelism(),
    cpuModel: cpuModel(),
    ramGiB: Number((os.totalmem() / 2 ** 30).toFixed(1)),
    node: process.version,
    git,
    os: `${os.type()} ${os.release()}`,
    loadAverage: os.loadavg().map((value) => Number(value.toFixed(2))),
  };
}

/** Whether `--quick` was passed: fewer samples, smaller inputs. */
export function quickMode(argv: readonly string[] = process.argv): boolean {
  return argv.includes("--quick");
}

/** Writes `bench/results/<name>.json` with the machine, the mode and the figures; returns the path. */
export function writeResults(
  name: string,
  figures: Record<string, unknown>,
  targets: readonly Target[],
): string {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const file = path.join(RESULTS_DIR, `${name}.json`);
  const body = {
    benchmark: name,
    at: new Date().toISOString(),
    quick: quickMode(),
    machine: machine(),
    targets,
    ...figures,
  };
  writeFileSync(file, `${JSON.stringify(body, null, 2)}\n`);
  return file;
}

/** Prints the targets, one line each, marking the misses. */
export function printTargets(targets: readonly Target[]): void {
  for (const target of targets) {
    const verdict = target.met ? "met   " : "MISSED";
    console.log(
      `  [${verdict}] ${target.name}: ${target.value} ${target.unit} (limit ${target.limit})`,
    );
  }
}
