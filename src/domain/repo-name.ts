/**
 * Repository owners and names as GitHub allows them. kanbot builds REST paths
 * (`/repos/{owner}/{repo}/…`), clone URLs and folder names from them, so a name that GitHub
 * would never hand out (`..`, `a/b`, `%2e%2e`) must be refused before any of those is built: a
 * repository called `..` would otherwise turn `/repos/acme/../issues` into another API path.
 *
 * - owner (a user or organisation login): letters, digits and hyphens, starting with a letter or
 *   digit, at most 39 characters. GitHub's sign-up rule also forbids a double or trailing
 *   hyphen, but accounts older than that rule keep theirs, and neither changes a path.
 * - repository name: letters, digits, `.`, `_` and `-`, at most 100 characters, not `.` or `..`.
 */
import { z } from "zod";

/** A GitHub login that can own a repository (a user or an organisation). */
export const OwnerLogin = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9-]{0,38}$/, {
  error:
    "expected a GitHub owner: letters, digits and hyphens, starting with a letter or digit, at most 39 characters",
});
export type OwnerLogin = z.infer<typeof OwnerLogin>;

/** A repository's name, without its owner. */
export const RepoName = z
  .string()
  .regex(/^[A-Za-z0-9._-]{1,100}$/, {
    error: "expected a repository name: letters, digits, '.', '_' or '-', at most 100 characters",
  })
  .refine((name) => name !== "." && name !== "..", {
    error: "expected a repository name other than '.' or '..'",
  });
export type RepoName = z.infer<typeof RepoName>;

/** Why `owner`/`repo` is not a repository GitHub could have; undefined when it is one. */
export function repoNameProblem(owner: unknown, repo: unknown): string | undefined {
  const ownerCheck = OwnerLogin.safeParse(owner);
  if (!ownerCheck.success) return `owner ${JSON.stringify(owner)}: ${firstMessage(ownerCheck)}`;
  const repoCheck = RepoName.safeParse(repo);
  if (!repoCheck.success) return `name ${JSON.stringify(repo)}: ${firstMessage(repoCheck)}`;
  return undefined;
}

function firstMessage(result: { error: z.ZodError }): string {
  return result.error.issues[0]?.message ?? "not allowed";
}

/**
 * A repository owner or name that GitHub would never hand out reached a place where kanbot
 * builds a GitHub path from it. Nothing is sent; the event or task that named it cannot be
 * worked, and trying again does not help.
 */
export class InvalidRepositoryNameError extends Error {
  override readonly name = "InvalidRepositoryNameError";
  readonly owner: unknown;
  readonly repo: unknown;

  constructor(owner: unknown, repo: unknown, problem: string, action: string) {
    super(
      `refused to ${action}: the repository ${JSON.stringify(owner)}/${JSON.stringify(repo)} is not a name GitHub allows (${problem}); no request was sent. Check the webhook payload or stored task that named it`,
    );
    this.owner = owner;
    this.repo = repo;
  }
}

/** Throws {@link InvalidRepositoryNameError} unless `owner`/`repo` is a name GitHub allows. */
export function assertRepoName(owner: unknown, repo: unknown, action: string): void {
  const problem = repoNameProblem(owner, repo);
  if (problem !== undefined) throw new InvalidRepositoryNameError(owner, repo, problem, action);
}
