/**
 * The multi-process claim race. `startClaimers(n)` starts n claimer processes
 * (`store-claim-worker.ts`); each round, every claimer opens its own connection to the database,
 * they all start together on `go` and claim until the queue is empty. A round returns who claimed
 * what, so a test can find jobs claimed twice or by nobody.
 *
 * The claimers are plain `node` processes: the worker and the store modules it imports are
 * compiled to JavaScript once, here, instead of by tsx in each process (which cost about 1.3 s of
 * CPU per process, against 0.4 s for plain JavaScript).
 */
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { dirname, join, relative, resolve } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import ts from "typescript";

const WORKER = fileURLToPath(new URL("./store-claim-worker.ts", import.meta.url));
const REPO_ROOT = fileURLToPath(new URL("../..", import.meta.url));
/** Inside the repository, so that the packages the store imports resolve from node_modules. */
const BUILD_ROOT = join(REPO_ROOT, "node_modules", ".cache");

interface CompiledWorker {
  /** The worker as a JavaScript file. */
  entry: string;
  remove(): Promise<void>;
}

/**
 * Compiles the worker and every repository module it imports (relative imports, followed) to
 * ES modules in a fresh folder that mirrors the repository's layout. Each file is transpiled on
 * its own, as tsx does: the project compiles with `isolatedModules` and `verbatimModuleSyntax`,
 * so a file never needs another to be translated.
 */
async function compileWorker(): Promise<CompiledWorker> {
  await mkdir(BUILD_ROOT, { recursive: true });
  const outDir = await mkdtemp(join(BUILD_ROOT, "kanbot-claim-worker-"));
  // node_modules is a package boundary: without this, Node would load the output as CommonJS.
  await writeFile(join(outDir, "package.json"), '{ "type": "module" }\n');
  const pending = [WORKER];
  const seen = new Set(pending);
  for (let file = pending.pop(); file !== undefined; file = pending.pop()) {
    const source = await readFile(file, "utf8");
    for (const { fileName: specifier } of ts.preProcessFile(source, true, true).importedFiles) {
      if (!specifier.startsWith(".")) continue;
      const imported = resolve(dirname(file), specifier.replace(/\.js$/, ".ts"));
      if (seen.has(imported) || !existsSync(imported)) continue;
      seen.add(imported);
      pending.push(imported);
    }
    const { outputText } = ts.transpileModule(source, {
      fileName: file,
      compilerOptions: {
        module: ts.ModuleKind.ESNext,
        target: ts.ScriptTarget.ES2023,
        verbatimModuleSyntax: true,
        inlineSourceMap: true,
        inlineSources: true,
      },
    });
    const output = join(outDir, relative(REPO_ROOT, file).replace(/\.ts$/, ".js"));
    await mkdir(dirname(output), { recursive: true });
    await writeFile(output, outputText);
  }
  return {
    entry: join(outDir, relative(REPO_ROOT, WORKER).replace(/\.ts$/, ".js")),
    remove: () => rm(outDir, { recursive: true, force: true }),
  };
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
  const compiled = compileWorker();
  const spawned = compiled.then(({ entry }) =>
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
      await compiled.then((worker) => worker.remove()).catch(() => undefined);
    },
  };
}
