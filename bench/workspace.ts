/**
 * Benchmark 3: workspace. Time to a ready worktree from the runner's warm mirror
 * (runner/workspace: fetch + `git worktree add`) against a fresh clone of the same repository
 * over smart HTTP (`git http-backend` behind test/helpers/git-http-server.ts), in one run, and
 * how much of each is the checkout of the files alone.
 *
 * The repository is generated with `git fast-import`: 20,000 files and a few hundred commits.
 */
import { execFile, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { promisify } from "node:util";
import { createWorkspaces, gitAuthEnv } from "../runner/workspace/index.js";
import { startGitHttpServer } from "../test/helpers/git-http-server.js";
import { printTargets, quickMode, writeResults, type Target } from "./lib/results.js";
import { summarize } from "./lib/stats.js";

const run = promisify(execFile);
const quick = quickMode();
const FILES = 20_000;
const COMMITS = quick ? 100 : 300;
const ROUNDS = quick ? 2 : 3;
const TOKEN = "ghs_bench_workspace_token";

const gitEnv = {
  PATH: process.env.PATH ?? "/usr/bin:/bin",
  HOME: tmpdir(),
  GIT_CONFIG_NOSYSTEM: "1",
  GIT_AUTHOR_NAME: "bench",
  GIT_AUTHOR_EMAIL: "bench@example.com",
  GIT_COMMITTER_NAME: "bench",
  GIT_COMMITTER_EMAIL: "bench@example.com",
};

async function git(
  args: string[],
  cwd?: string,
  env: Record<string, string> = {},
): Promise<string> {
  const { stdout } = await run("git", args, {
    cwd,
    env: { ...gitEnv, ...env },
    maxBuffer: 64 * 1024 * 1024,
  });
  return stdout;
}

/**
 * Times `work`, after flushing the file system (`sync`, not timed): each figure then starts from
 * the same state instead of paying for the previous step's 20,000 deleted or written files.
 */
async function timed<T>(work: () => Promise<T>): Promise<[number, T]> {
  await run("sync");
  const start = performance.now();
  const value = await work();
  return [performance.now() - start, value];
}

/** Deterministic source-like text of about `bytes` bytes. */
function fileText(seed: number, bytes: number): string {
  const words = [
    "const",
    "value",
    "return",
    "function",
    "widget",
    "import",
    "export",
    "if",
    "else",
  ];
  let out = `// file ${seed}\n`;
  let state = seed * 2654435761;
  while (out.length < bytes) {
    state = (state * 1103515245 + 12345) >>> 0;
    out += `${words[state % words.length]} x${state % 9973} = ${state % 101};\n`;
  }
  return out;
}

function filePath(i: number): string {
  return `src/module${Math.floor(i / 400)}/part${Math.floor(i / 20) % 20}/file${i}.ts`;
}

/** Writes the repository into the bare `gitDir` with one `git fast-import` stream. */
async function generateRepository(gitDir: string): Promise<void> {
  await git(["init", "--bare", "--initial-branch=main", gitDir]);
  const child = spawn("git", ["fast-import", "--quiet"], { cwd: gitDir, env: gitEnv });
  const done = new Promise<void>((resolve, reject) => {
    child.once("error", reject);
    child.once("exit", (code) =>
      code === 0 ? resolve() : reject(new Error(`git fast-import exited ${code}`)),
    );
  });
  const chunks: string[] = [];
  const data = (text: string) => `data ${Buffer.byteLength(text)}\n${text}\n`;
  let time = 1_700_000_000;
  for (let commit = 0; commit < COMMITS; commit++) {
    chunks.push(`commit refs/heads/main\ncommitter bench <bench@example.com> ${time++} +0000\n`);
    chunks.push(data(`commit ${commit}`));
    if (commit === 0) {
      for (let i = 0; i < FILES; i++) {
        chunks.push(`M 100644 inline ${filePath(i)}\n${data(fileText(i, 300 + (i % 7) * 150))}`);
      }
    } else {
      for (let k = 0; k < 10; k++) {
        const i = (commit * 7919 + k * 104729) % FILES;
        chunks.push(`M 100644 inline ${filePath(i)}\n${data(fileText(i + commit * FILES, 400))}`);
      }
    }
    chunks.push("\n");
    if (chunks.length > 2000) {
      const text = chunks.splice(0).join("");
      if (!child.stdin.write(text)) await new Promise((r) => child.stdin.once("drain", r));
    }
  }
  child.stdin.end(chunks.join(""));
  await done;
  await git(["repack", "-adq"], gitDir);
}

/** One more commit on main, so that each warm fetch has something to bring. */
async function pushUpstreamCommit(gitDir: string, round: number): Promise<void> {
  const text = fileText(round + 10_000_000, 400);
  const blob = (
    await run("sh", ["-c", `printf '%s' "$0" | git hash-object -w --stdin`, text], {
      cwd: gitDir,
      env: gitEnv,
    })
  ).stdout.trim();
  const tree = (
    await run(
      "sh",
      [
        "-c",
        `git read-tree main && git update-index --add --cacheinfo 100644,"$0",src/upstream${"$1"}.ts && git write-tree`,
        blob,
        String(round),
      ],
      { cwd: gitDir, env: { ...gitEnv, GIT_INDEX_FILE: path.join(gitDir, "bench-index") } },
    )
  ).stdout.trim();
  const parent = (await git(["rev-parse", "main"], gitDir)).trim();
  const commit = (
    await git(["commit-tree", tree, "-p", parent, "-m", `upstream ${round}`], gitDir)
  ).trim();
  await git(["update-ref", "refs/heads/main", commit], gitDir);
}

async function main(): Promise<void> {
  console.log(`workspace${quick ? " (quick)" : ""}`);
  const root = mkdtempSync(path.join(tmpdir(), "kanbot-bench-ws-"));
  const projectRoot = path.join(root, "remote");
  const gitDir = path.join(projectRoot, "acme", "app.git");
  mkdirSync(path.dirname(gitDir), { recursive: true });
  const server = await startGitHttpServer(projectRoot, [TOKEN]);
  try {
    const [generateMs] = await timed(() => generateRepository(gitDir));
    const packBytes = Number(
      (await run("sh", ["-c", "du -sb objects/pack | cut -f1"], { cwd: gitDir })).stdout.trim(),
    );
    console.log(
      `  generated ${FILES} files, ${COMMITS} commits (pack ${(packBytes / 2 ** 20).toFixed(1)} MiB) in ${(generateMs / 1000).toFixed(1)} s`,
    );
    const url = `${server.url}/acme/app.git`;
    const auth = gitAuthEnv(TOKEN, url);
    const workDir = path.join(root, "runner");
    const workspaces = createWorkspaces({ workDir, gitBaseUrl: server.url, keepFailedMs: 0 });
    const prepare = (jobId: string) =>
      workspaces.prepare({
        jobId,
        taskId: jobId,
        repo: { owner: "acme", name: "app" },
        token: TOKEN,
        branch: `kanbot/${jobId}-bench`,
        baseBranch: "main",
        startFrom: "base",
      });

    // Cold: the first job of this repository on this runner creates the mirror.
    const [coldMs, first] = await timed(() => prepare("cold"));
    await workspaces.release(first, "succeeded");
    console.log(`  cold mirror + first worktree: ${(coldMs / 1000).toFixed(2)} s`);

    const warm: number[] = [];
    const warmFetch: number[] = [];
    const worktreeCheckout: number[] = [];
    const clone: number[] = [];
    const cloneNoCheckout: number[] = [];
    const cloneCheckout: number[] = [];
    const mirror = workspaces.mirrorPath("acme", "app");
    for (let round = 0; round < ROUNDS; round++) {
      await pushUpstreamCommit(gitDir, round);
      // Warm mirror: what a job waits for (fetch + worktree add, through runner/workspace).
      const [warmMs, workspace] = await timed(() => prepare(`warm-${round}`));
      warm.push(warmMs);
      await workspaces.release(workspace, "succeeded");
      // Its parts, by hand: a fetch with nothing new, and the checkout of the files alone.
      const [fetchMs] = await timed(() => git(["fetch", "--prune", "origin"], mirror, auth));
      warmFetch.push(fetchMs);
      const tree = path.join(root, `wt-${round}`);
      await git(["worktree", "add", "--no-checkout", "--detach", tree, "origin/main"], mirror);
      const [readTreeMs] = await timed(() => git(["read-tree", "-mu", "HEAD"], tree));
      worktreeCheckout.push(readTreeMs);
      await git(["worktree", "remove", "--force", tree], mirror);

      // Fresh clone over smart HTTP, the way a file-queue daemon starts each job.
      const target = path.join(root, `clone-${round}`);
      const [cloneMs] = await timed(() => git(["clone", "--quiet", url, target], root, auth));
      clone.push(cloneMs);
      rmSync(target, { recursive: true, force: true });
      const bare = path.join(root, `clone-nc-${round}`);
      const [noCheckoutMs] = await timed(() =>
        git(["clone", "--quiet", "--no-checkout", url, bare], root, auth),
      );
      cloneNoCheckout.push(noCheckoutMs);
      const [checkoutMs] = await timed(() => git(["checkout", "--quiet", "main"], bare));
      cloneCheckout.push(checkoutMs);
      rmSync(bare, { recursive: true, force: true });
      console.log(
        `  round ${round + 1}: warm worktree ${warmMs.toFixed(0)} ms (checkout alone ${readTreeMs.toFixed(0)} ms), ` +
          `fresh clone ${cloneMs.toFixed(0)} ms (checkout alone ${checkoutMs.toFixed(0)} ms)`,
      );
    }
    const warmSummary = summarize(warm);
    const cloneSummary = summarize(clone);
    const ratio = Number((warmSummary.p50 / cloneSummary.p50).toFixed(3));
    const worktreeCheckoutSummary = summarize(worktreeCheckout);
    const cloneCheckoutSummary = summarize(cloneCheckout);
    console.log(
      `  median: warm worktree ${warmSummary.p50} ms, fresh clone ${cloneSummary.p50} ms, ratio ${ratio}`,
    );
    const targets: Target[] = [
      {
        name: "ready worktree from the warm mirror <= 1/4 of a fresh HTTP clone (median ratio)",
        met: ratio <= 0.25,
        value: ratio,
        limit: 0.25,
        unit: "ratio",
      },
    ];
    printTargets(targets);
    const file = writeResults(
      "workspace",
      {
        method:
          "repository generated with git fast-import and repacked, served by git http-backend behind test/helpers/git-http-server.ts (Basic auth, loopback); warm: runner/workspace prepare() (mirror fetch with one new upstream commit + git worktree add -B) after a first cold prepare(); fresh: git clone over the same HTTP URL; checkout parts timed separately: git read-tree -mu HEAD in a --no-checkout worktree, git checkout in a --no-checkout clone",
        repository: {
          files: FILES,
          commits: COMMITS,
          packBytes,
          generateMs: Math.round(generateMs),
        },
        rounds: ROUNDS,
        coldMirrorMs: Math.round(coldMs),
        warmWorktreeMs: warmSummary,
        warmFetchNothingNewMs: summarize(warmFetch),
        warmCheckoutAloneMs: worktreeCheckoutSummary,
        freshCloneMs: cloneSummary,
        freshCloneNoCheckoutMs: summarize(cloneNoCheckout),
        freshCloneCheckoutAloneMs: cloneCheckoutSummary,
        ratioWarmToClone: ratio,
        checkoutShare: {
          warm: Number((worktreeCheckoutSummary.p50 / warmSummary.p50).toFixed(3)),
          clone: Number((cloneCheckoutSummary.p50 / cloneSummary.p50).toFixed(3)),
        },
      },
      targets,
    );
    console.log(`  wrote ${file}`);
  } finally {
    await server.close();
    rmSync(root, { recursive: true, force: true });
  }
}

await main();
