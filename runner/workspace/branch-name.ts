/**
 * Task branch names: `<prefix><issue>-<slug>`, such as `kanbot/12-fix-login-redirect`. The slug
 * comes from the issue title: ASCII lowercase letters and digits joined by dashes, at most
 * {@link MAX_SLUG_LENGTH} characters, cut at a dash where it can be.
 */

export const DEFAULT_BRANCH_PREFIX = "kanbot/";
export const MAX_SLUG_LENGTH = 40;

/** The slug of an issue title; `task` when nothing usable is left. */
export function slugify(title: string, maxLength = MAX_SLUG_LENGTH): string {
  const ascii = title
    .normalize("NFKD")
    .replace(/\p{M}/gu, "")
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "");
  if (ascii.length <= maxLength) return ascii === "" ? "task" : ascii;
  const cut = ascii.slice(0, maxLength);
  // Cut on a word boundary: the word at the limit stays when it ends there, else it goes.
  const lastDash = ascii[maxLength] === "-" ? maxLength : cut.lastIndexOf("-");
  const slug = (lastDash >= maxLength / 2 ? cut.slice(0, lastDash) : cut).replace(/-+$/, "");
  return slug === "" ? "task" : slug;
}

export interface TaskBranchInput {
  issueNumber: number;
  title: string;
  /** From `.github/kanbot.yml` (`branchPrefix`). Default `kanbot/`. */
  prefix?: string;
}

/** The branch of a task: `<prefix><issue>-<slug>`. */
export function taskBranchName(input: TaskBranchInput): string {
  if (!Number.isSafeInteger(input.issueNumber) || input.issueNumber < 1) {
    throw new RangeError(`issue number must be a positive integer, got ${input.issueNumber}`);
  }
  return `${input.prefix ?? DEFAULT_BRANCH_PREFIX}${input.issueNumber}-${slugify(input.title)}`;
}

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
