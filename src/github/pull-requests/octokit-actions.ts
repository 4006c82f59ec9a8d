/**
 * GitHub Actions on Octokit (`ActionsPort`): a failed job's log tail for the fix bundle, read as
 * it streams so a huge log never sits in memory (404/410: gone; 403: the app lacks
 * `actions: read`), and re-running a workflow run's failed jobs (the flake guard; 403: refused).
 */
import type { RepoRef } from "../../domain/dependencies.js";
import { isGitHubStatus } from "../errors.js";
import type { ActionsPort, JobLogOutcome, RerunOutcome } from "../pull-request-port.js";
import { formatRepo, isRecord, type OctokitCall } from "./octokit-call.js";

/** What a job log tail keeps by default. */
export const DEFAULT_LOG_TAIL_BYTES = 64 * 1024;

/**
 * The last `maxBytes` of a response body, read as it streams (the whole log is never held), and
 * the body's size. A string or buffer (a body Octokit already read) works too.
 */
async function readTail(
  body: unknown,
  maxBytes: number,
): Promise<{ tail: Uint8Array; total: number }> {
  if (typeof body === "string") return cut(Buffer.from(body, "utf8"), maxBytes);
  if (body instanceof ArrayBuffer) return cut(new Uint8Array(body), maxBytes);
  if (body instanceof Uint8Array) return cut(body, maxBytes);
  if (body === null || body === undefined) return { tail: new Uint8Array(0), total: 0 };
  if (!isAsyncIterable(body)) throw new TypeError("job log answer is not a readable body");
  let kept: Uint8Array[] = [];
  let keptBytes = 0;
  let total = 0;
  for await (const chunk of body) {
    const bytes = typeof chunk === "string" ? Buffer.from(chunk, "utf8") : toBytes(chunk);
    kept.push(bytes);
    keptBytes += bytes.length;
    total += bytes.length;
    if (keptBytes > 2 * maxBytes) {
      const joined = cut(Buffer.concat(kept), maxBytes).tail;
      kept = [joined];
      keptBytes = joined.length;
    }
  }
  return { tail: cut(Buffer.concat(kept), maxBytes).tail, total };
}

function cut(bytes: Uint8Array, maxBytes: number): { tail: Uint8Array; total: number } {
  return { tail: bytes.subarray(Math.max(0, bytes.length - maxBytes)), total: bytes.length };
}

function toBytes(chunk: unknown): Uint8Array {
  if (chunk instanceof Uint8Array) return chunk;
  if (chunk instanceof ArrayBuffer) return new Uint8Array(chunk);
  throw new TypeError("job log chunk is not bytes");
}

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return isRecord(value) && Symbol.asyncIterator in value;
}

/** UTF-8 text of a log tail; when cut, from the first whole line on. */
function tailText(tail: Uint8Array, truncated: boolean): string {
  const text = new TextDecoder("utf-8").decode(tail);
  if (!truncated) return text;
  const newline = text.indexOf("\n");
  return newline === -1 || newline === text.length - 1 ? text : text.slice(newline + 1);
}

export function octokitActions(gh: OctokitCall): ActionsPort {
  const { octokit, log } = gh;
  return {
    async jobLogTail(
      repo: RepoRef,
      jobId: number,
      options: { maxBytes?: number } = {},
    ): Promise<JobLogOutcome> {
      const maxBytes = options.maxBytes ?? DEFAULT_LOG_TAIL_BYTES;
      const action = `download the log of Actions job ${jobId} in ${formatRepo(repo)}`;
      try {
        // GitHub answers 302 to a short-lived download URL; fetch follows it. The body is read
        // as a stream and only its tail kept, so a huge log never sits in memory.
        const { tail, total } = await gh.call(action, async () => {
          const response = await octokit.rest.actions.downloadJobLogsForWorkflowRun({
            owner: repo.owner,
            repo: repo.repo,
            job_id: jobId,
            request: { parseSuccessResponseBody: false },
          });
          const body: unknown = response.data;
          return readTail(body, maxBytes);
        });
        const truncated = total > tail.length;
        return { kind: "log", text: tailText(tail, truncated), truncated, totalBytes: total };
      } catch (error) {
        if (isGitHubStatus(error, 404) || isGitHubStatus(error, 410)) {
          log.info({ ...repo, jobId, status: error.status }, "job log not available");
          return { kind: "gone" };
        }
        if (isGitHubStatus(error, 403)) {
          log.warn({ ...repo, jobId }, "job log not readable; the app needs actions: read");
          return { kind: "forbidden", message: error.githubMessage };
        }
        throw error;
      }
    },

    async rerunFailedJobs(repo: RepoRef, runId: number): Promise<RerunOutcome> {
      try {
        await gh.call(
          `re-run the failed jobs of workflow run ${runId} in ${formatRepo(repo)}`,
          () =>
            octokit.rest.actions.reRunWorkflowFailedJobs({
              owner: repo.owner,
              repo: repo.repo,
              run_id: runId,
            }),
        );
        log.info({ ...repo, runId }, "failed jobs re-run");
        return { kind: "rerun" };
      } catch (error) {
        if (!isGitHubStatus(error, 403)) throw error;
        log.warn({ ...repo, runId, githubMessage: error.githubMessage }, "re-run refused");
        return { kind: "refused", message: error.githubMessage };
      }
    },
  };
}
