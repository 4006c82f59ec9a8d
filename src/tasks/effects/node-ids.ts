/**
 * The GraphQL node ids the one-request view write (`writeIssueView`) needs besides the issue's:
 * the repository's labels' and the progress comment's. Neither changes once given, so each is read
 * once per process (labels: one list per repository; a comment: one read, unless a listing or the
 * comment's creation carried it) and remembered.
 *
 * The memo lives as long as the process-wide `ctx.ensuredLabels` memo it hangs off (one per
 * running kanbot, one per test app), so that two GitHubs (two test simulators) in one process
 * never share ids.
 */
import type { RepoRef } from "../../domain/dependencies.js";
import type { TaskContext } from "../context.js";

interface NodeIdMemo {
  /** `owner/repo` (lower-cased) -> lower-cased label name -> node id. */
  labels: Map<string, Map<string, string>>;
  /** `owner/repo#commentId` (lower-cased) -> node id. */
  comments: Map<string, string>;
}

const memos = new WeakMap<Set<string>, NodeIdMemo>();

function memoOf(ctx: TaskContext): NodeIdMemo {
  let memo = memos.get(ctx.ensuredLabels);
  if (memo === undefined) {
    memo = { labels: new Map(), comments: new Map() };
    memos.set(ctx.ensuredLabels, memo);
  }
  return memo;
}

const repoKey = (repo: RepoRef): string => `${repo.owner}/${repo.repo}`.toLowerCase();

/**
 * The node ids of `names` in the repository, in their order; undefined when one is not a label
 * of the repository (the labels are listed again once before that is concluded: one created since
 * the last listing is found).
 */
export async function labelNodeIds(
  ctx: TaskContext,
  repo: RepoRef,
  names: readonly string[],
): Promise<string[] | undefined> {
  if (names.length === 0) return [];
  const memo = memoOf(ctx);
  const pick = (known: Map<string, string> | undefined): string[] | undefined => {
    const ids = names.map((name) => known?.get(name.toLowerCase()));
    return ids.every((id) => id !== undefined) ? ids : undefined;
  };
  const cached = pick(memo.labels.get(repoKey(repo)));
  if (cached !== undefined) return cached;
  const listed = await ctx.github.labelNodeIds(repo);
  memo.labels.set(repoKey(repo), listed);
  return pick(listed);
}

/** The comment's node id: remembered, given (`known`, from a listing), or read once. */
export async function commentNodeId(
  ctx: TaskContext,
  repo: RepoRef,
  commentId: number,
  known?: string,
): Promise<string | undefined> {
  const memo = memoOf(ctx);
  const key = `${repoKey(repo)}#${commentId}`;
  const nodeId =
    known ?? memo.comments.get(key) ?? (await ctx.github.commentNodeId(repo, commentId));
  if (nodeId !== undefined) memo.comments.set(key, nodeId);
  return nodeId;
}

/** Remembers a comment's node id (from its creation). */
export function rememberCommentNodeId(
  ctx: TaskContext,
  repo: RepoRef,
  commentId: number,
  nodeId: string | undefined,
): void {
  if (nodeId !== undefined) memoOf(ctx).comments.set(`${repoKey(repo)}#${commentId}`, nodeId);
}
