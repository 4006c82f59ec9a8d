/**
 * The multi-process claim race. `startClaimers(n)` starts n claimer processes
 * (`store-claim-worker.ts`); each round, every claimer opens its own connection to the database,
 * they all start together on `go` and claim until the queue is empty. A round returns who claimed
 * what, so a test can find jobs claimed twice or by nobody.
 *
 * The claimers are plain `node` processes running the worker compiled to JavaScript, instead of
 * TypeScript through tsx, whose loader thread cost each process about 1 s of CPU more.
 */
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from "node:fs/promises";
import { dirname, join, relative, resolve } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

const WORKER = fileURLToPath(new URL("./store-claim-worker.ts", import.meta.url));
const REPO_ROOT = fileURLToPath(new URL("../..", import.meta.url));
/**
 * Compiled workers, one folder per version of their sources. Inside the repository's
 * node_modules, so that the packages the store imports resolve as usual.
 */
const COMPILED_ROOT = join(REPO_ROOT, "node_modules", ".cache", "kanbot-claim-worker");
/** As tsconfig.json, emitting ES modules; each file transpiles on its own (isolatedModules). */
const COMPILER_OPTIONS = {
  module: "esnext",
  target: "es2023",
  verbatimModuleSyntax: true,
  inlineSourceMap: true,
  inlineSources: true,
};
/** `from "./x.js"`, `import "./x.js"`, `import("./x.js")`: the repository's own modules. */
const RELATIVE_IMPORT = /\b(?:from|import)\s*\(?\s*["'](\.{1,2}\/[^"']+)["']/g;

/** The worker and every repository module it imports (relative imports, followed). */
async function readWorkerSources(): Promise<Map<string, string>> {
  const sources = new Map<string, string>();
  const pending = [WORKER];
  for (let file = pending.pop(); file !== undefined; file = pending.pop()) {
    if (sources.has(file)) continue;
    const source = await readFile(file, "utf8");
    sources.set(file, source);
    for (const [, specifier = ""] of source.matchAll(RELATIVE_IMPORT)) {
      const imported = resolve(dirname(file), specifier.replace(/\.js$/, ".ts"));
      if (existsSync(imported)) pending.push(imported);
    }
  }
  return sources;
}

function compiledPath(outDir: string, file: string): string {
  return join(outDir, relative(REPO_ROOT, file).replace(/\.ts$/, ".js"));
}

/**
 * The worker as a JavaScript file. Compiled (TypeScript's per-file transpiler, as tsx does) only
 * when its sources changed since the last run; otherwise the earlier output is reused.
 */
async function compileWorker(): Promise<string> {
  const sources = await readWorkerSources();
  const version = createHash("sha256").update(JSON.stringify(COMPILER_OPTIONS));
  for (const [file, source] of sources) version.update(`\0${file}\0${source}`);
  const outDir = join(COMPILED_ROOT, version.digest("hex").slice(0, 16));
  const entry = compiledPath(outDir, WORKER);
  if (existsSync(entry)) return entry;

  const { default: ts } = await import("typescript");
  const { options } = ts.convertCompilerOptionsFromJson(COMPILER_OPTIONS, REPO_ROOT);
  await mkdir(COMPILED_ROOT, { recursive: true });
  const staging = await mkdtemp(join(COMPILED_ROOT, "staging-"));
  // node_modules is a package boundary: without this, Node would load the output as CommonJS.
  await writeFile(join(staging, "package.json"), '{ "type": "module" }\n');
  for (const [file, source] of sources) {
    const output = compiledPath(staging, file);
    await mkdir(dirname(output), { recursive: true });
    await writeFile(
      output,
      ts.transpileModule(source, { fileName: file, compilerOptions: options }).outputText,
    );
  }
  // Whole or not at all; a concurrent run that compiled the same version first wins.
  await rename(staging, outDir).catch(async (error: unknown) => {
    await rm(staging, { recursive: true, force: true });
    if (!existsSync(entry)) throw error;
  });
  return entry;
}

export type ClaimMode = "atomic" | "naive";

export interface ClaimRaceResult {
  /** Every claim reported, in arrival order: [claimer, jobId]. */
  claims: Array<[string, number]>;
  /** Job ids reported by more than one claim, ascending. */
  claimedTwice: number[];
}

export interface Claimers {
  count: number;
  /** Resolves once the worker is compiled and every claimer process has loaded its modules. */
  started: Promise<void>;
  race(url: string, mode: ClaimMode): Promise<ClaimRaceResult>;
  stop(): Promise<void>;
}

interface Claimer {
  name: string;
  child: ChildProcessWithoutNullStreams;
  /** Resolves with the next line the worker prints that is not a claim. */
  nextSignal(): Promise<string>;
  onClaim: ((jobId: number) => void) | undefined;
  exited: Promise<void>;
}

function startClaimer(entry: string, name: string): Claimer {
  const child = spawn(process.execPath, ["--enable-source-maps", entry, name], {
    cwd: REPO_ROOT,
    stdio: ["pipe", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (chunk: string) => {
    stderr += chunk;
  });
  const signals: string[] = [];
  const waiting: Array<{ resolve: (line: string) => void; reject: (error: Error) => void }> = [];
  let failure: Error | undefined;
  const claimer: Claimer = {
    name,
    child,
    onClaim: undefined,
    nextSignal: () => {
      const line = signals.shift();
      if (line !== undefined) return Promise.resolve(line);
      if (failure) return Promise.reject(failure);
      return new Promise((resolve, reject) => waiting.push({ resolve, reject }));
    },
    exited: new Promise<void>((resolve) => {
      child.on("close", (code, signal) => {
        failure = new Error(`claimer ${name} exited (${code ?? signal}): ${stderr.trim()}`);
        for (const waiter of waiting.splice(0)) waiter.reject(failure);
        resolve();
      });
    }),
  };
  createInterface({ input: child.stdout }).on("line", (line) => {
    const claimed = /^claimed (\d+)$/.exec(line);
    if (claimed) {
      claimer.onClaim?.(Number(claimed[1]));
      return;
    }
    const waiter = waiting.shift();
    if (waiter) waiter.resolve(line);
    else signals.push(line);
  });
  return claimer;
}

async function expectSignal(claimer: Claimer, expected: string): Promise<void> {
  const line = await claimer.nextSignal();
  if (line !== expected) {
    throw new Error(`claimer ${claimer.name} said "${line}", expected "${expected}"`);
  }
}

export function startClaimers(count: number): Claimers {
  const spawned = compileWorker().then((entry) =>
    Array.from({ length: count }, (_, i) => startClaimer(entry, `claimer-${i + 1}`)),
  );
  const started = spawned
    .then((claimers) => Promise.all(claimers.map((claimer) => expectSignal(claimer, "started"))))
    .then(() => undefined);
  // A failed start is reported through `started` (and again by the first race), never unhandled.
  started.catch(() => undefined);
  return {
    count,
    started,
    async race(url, mode) {
      await started;
      const claimers = await spawned;
      const claims: ClaimRaceResult["claims"] = [];
      for (const claimer of claimers) {
        claimer.onClaim = (jobId) => claims.push([claimer.name, jobId]);
        claimer.child.stdin.write(`round ${mode} ${url}\n`);
      }
      // Everyone connects first, then all start at once.
      await Promise.all(claimers.map((claimer) => expectSignal(claimer, "ready")));
      for (const claimer of claimers) claimer.child.stdin.write("go\n");
      await Promise.all(claimers.map((claimer) => expectSignal(claimer, "done")));

      const seen = new Set<number>();
      const twice = new Set<number>();
      for (const [, jobId] of claims) {
        if (seen.has(jobId)) twice.add(jobId);
        seen.add(jobId);
      }
      return { claims, claimedTwice: [...twice].sort((a, b) => a - b) };
    },
    async stop() {
      const claimers = await spawned.catch(() => []);
      for (const claimer of claimers) {
        if (claimer.child.exitCode === null) claimer.child.stdin.end("exit\n");
      }
      const stopped = Promise.all(claimers.map((claimer) => claimer.exited));
      const timer = setTimeout(() => {
        for (const claimer of claimers) claimer.child.kill("SIGKILL");
      }, 10_000);
      await stopped;
      clearTimeout(timer);
    },
  };
}
