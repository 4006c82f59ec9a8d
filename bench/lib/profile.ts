/**
 * Summaries of V8 CPU profiles (`node --cpu-prof`): where the sampled time went, by package or
 * source folder and by function (self time).
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

export interface ProfileSummary {
  file: string;
  wallMs: number;
  /** Sampled time not idle, in ms. */
  busyMs: number;
  idleMs: number;
  byArea: { area: string; ms: number; percentOfBusy: number }[];
  topFunctions: { fn: string; ms: number; percentOfBusy: number }[];
}

/** `node_modules/<package>`, `src/<folder>`, `runner/<folder>`, `node:<module>` or a V8 marker. */
function areaOf(node: ProfileNode): string {
  const { url, functionName } = node.callFrame;
  if (url === "") return `(${functionName.replace(/[()]/g, "") || "native"})`;
  const modules = url.lastIndexOf("node_modules/");
  if (modules !== -1) {
    const parts = url.slice(modules + "node_modules/".length).split("/");
    return `npm:${parts[0]?.startsWith("@") ? `${parts[0]}/${parts[1]}` : parts[0]}`;
  }
  if (url.startsWith("node:")) return url.split("/")[0] as string;
  const match = /\/(src|runner|test)\/([^/]+)/.exec(url);
  if (match) return `${match[1]}/${match[2]}`;
  return path.basename(url);
}

/** The monotonic clock V8's profiles use (CLOCK_MONOTONIC), in microseconds. */
export function monotonicUs(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

/**
 * Self time by area and function. With `window` (monotonic microseconds, see `monotonicUs`,
 * the same clock on every process of the machine), only the samples taken inside it count.
 */
export function summarizeProfile(
  file: string,
  top = 15,
  window?: { fromUs: number; toUs: number },
): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, "utf8")) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const self = new Map<number, number>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  // Each sample's time is the delta that follows it (as Chrome DevTools counts it).
  let at = profile.startTime;
  for (let i = 0; i < samples.length; i++) {
    at += deltas[i] ?? 0;
    if (window && (at < window.fromUs || at > window.toUs)) continue;
    const id = samples[i] as number;
    const delta = (deltas[i + 1] ?? 0) / 1000;
    self.set(id, (self.get(id) ?? 0) + delta);
  }
  const areas = new Map<string, number>();
  const functions = new Map<string, number>();
  let idle = 0;
  let total = 0;
  for (const [id, ms] of self) {
    const node = byId.get(id);
    if (node === undefined) continue;
    total += ms;
    if (node.callFrame.functionName === "(idle)") {
      idle += ms;
      continue;
    }
    const area = areaOf(node);
    areas.set(area, (areas.get(area) ?? 0) + ms);
    const { functionName, url, lineNumber } = node.callFrame;
    const where = url ? `${areaOf(node)} ${path.basename(url)}:${lineNumber + 1}` : "";
    const key = `${functionName || "(anonymous)"} ${where}`.trim();
    functions.set(key, (functions.get(key) ?? 0) + ms);
  }
  const busy = total - idle;
  const rank = (map: Map<string, number>) =>
    [...map.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, ms]) => ({
        name,
        ms: Number(ms.toFixed(1)),
        percentOfBusy: Number(((ms / busy) * 100).toFixed(1)),
      }));
  return {
    file: path.basename(file),
    wallMs: Number(
      ((window ? window.toUs - window.fromUs : profile.endTime - profile.startTime) / 1000).toFixed(
        0,
      ),
    ),
    busyMs: Number(busy.toFixed(0)),
    idleMs: Number(idle.toFixed(0)),
    byArea: rank(areas).map(({ name, ms, percentOfBusy }) => ({ area: name, ms, percentOfBusy })),
    topFunctions: rank(functions).map(({ name, ms, percentOfBusy }) => ({
      fn: name,
      ms,
      percentOfBusy,
    })),
  };
}

/**
 * The main thread's `.cpuprofile` in `dir`: the largest one (tsx's module loader runs on a second
 * thread that writes its own, nearly idle, profile).
 */
export function newestProfile(dir: string): string | undefined {
  const files = readdirSync(dir)
    .filter((name) => name.endsWith(".cpuprofile"))
    .map((name) => ({ file: path.join(dir, name), size: statSync(path.join(dir, name)).size }))
    .sort((a, b) => b.size - a.size);
  return files[0]?.file;
}

export function printProfile(summary: ProfileSummary, lines = 10): void {
  console.log(
    `  CPU profile ${summary.file}: ${summary.busyMs} ms busy, ${summary.idleMs} ms idle of ${summary.wallMs} ms`,
  );
  for (const area of summary.byArea.slice(0, lines)) {
    console.log(`    ${String(area.percentOfBusy).padStart(5)}%  ${area.area}`);
  }
  console.log("  top functions (self time):");
  for (const fn of summary.topFunctions.slice(0, lines)) {
    console.log(`    ${String(fn.percentOfBusy).padStart(5)}%  ${fn.fn}`);
  }
}
