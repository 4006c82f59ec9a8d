/**
 * The multi-process claim race. `startClaimers(n)` starts n claimer processes
 * (`store-claim-worker.ts`, TypeScript through tsx); each round, every claimer opens its own
 * connection to the database, they all start together on `go` and claim until the queue is
 * empty. A round returns who claimed what, so a test can find jobs claimed twice or by nobody.
 */
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

const WORKER = fileURLToPath(new URL("./store-claim-worker.ts", import.meta.url));
const REPO_ROOT = fileURLToPath(new URL("../..", import.meta.url));

export type ClaimMode = "atomic" | "naive";

export interface ClaimRaceResult {
  /** Every claim reported, in arrival order: [claimer, jobId]. */
  claims: Array<[string, number]>;
  /** Job ids reported by more than one claim, ascending. */
  claimedTwice: number[];
}

export interface Claimers {
  count: number;
  /** Resolves once every claimer process has loaded its modules. */
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

function startClaimer(name: string): Claimer {
  const child = spawn(process.execPath, ["--import", "tsx", WORKER, name], {
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
  const claimers = Array.from({ length: count }, (_, i) => startClaimer(`claimer-${i + 1}`));
  const started = Promise.all(claimers.map((claimer) => expectSignal(claimer, "started"))).then(
    () => undefined,
  );
  // A failed start is reported through `started` (and again by the first race), never unhandled.
  started.catch(() => undefined);
  return {
    count,
    started,
    async race(url, mode) {
      await started;
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
