/**
 * Branch names the runner is handed (the task branch and the base) are checked before git sees
 * them. The task branch itself is named once, by the app, when the task is created
 * (src/domain/task-branch.ts), and reaches the runner in the job description.
 */

/**
 * Whether `name` is a branch name git accepts (the rules of `git check-ref-format --branch`,
 * minus the `@{-N}` shorthand).
 */
export function isValidBranchName(name: string): boolean {
  if (name === "" || name === "@" || name.startsWith("-") || name.startsWith("/")) return false;
  if (name.endsWith("/") || name.endsWith(".") || name.endsWith(".lock")) return false;
  if (name.includes("..") || name.includes("//") || name.includes("@{")) return false;
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x20\x7f~^:?*[\\]/.test(name)) return false;
  return name
    .split("/")
    .every((part) => part !== "" && !part.startsWith(".") && !part.endsWith(".lock"));
}
