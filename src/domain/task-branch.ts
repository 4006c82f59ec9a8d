/**
 * The task branch: `<prefix><issue>-<slug>`. It is computed once, when the task is created (or,
 * for a task stored before branches were fixed, at its first claim), stored on the task, and then
 * used by the runner (the job description), the pull request and the branch cleanup alike, so a
 * later change of `branchPrefix` or of the issue title never splits a task over two branches.
 */

/** Longest slug taken from the issue title. */
export const MAX_BRANCH_SLUG_LENGTH = 40;

/** `kanbot/<issue>-<slug>`: the slug is the title in lower case, words joined by `-`, ≤ 40 characters. */
export function taskBranchName(prefix: string, issueNumber: number, title: string): string {
  const slug = title
    .normalize("NFKD")
    .replace(/\p{M}+/gu, "")
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .slice(0, MAX_BRANCH_SLUG_LENGTH)
    .replace(/^-+|-+$/g, "");
  return `${prefix}${issueNumber}${slug === "" ? "" : `-${slug}`}`;
}
