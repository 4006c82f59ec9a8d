/**
 * Finding a task and what it needs from GitHub: the task of a PR or of a head SHA, its config,
 * its branch and the branch its PR targets. Reads only.
 */
import { DEFAULT_REPO_CONFIG, type RepoConfig } from "../config/repo-config.js";
import type { RepoRef } from "../domain/dependencies.js";
import { taskBranchName } from "../domain/task-branch.js";
import { isActive } from "../domain/task-machine.js";
import type { Task } from "../store/index.js";
import type { TaskContext } from "./context.js";
import { issueOfTask } from "./effects/progress-comment.js";
import { loadRepoConfig } from "./repo-config.js";

/** `owner/name`, as the store keys tasks. */
export function repoName(ref: { owner: string; repo: string }): string {
  return `${ref.owner}/${ref.repo}`;
}

/** The task whose PR is `number` in `repo`, if kanbot opened it. */
export async function taskOfPullRequest(
  ctx: TaskContext,
  repo: RepoRef,
  number: number,
): Promise<Task | undefined> {
  const tasks = await ctx.store.listTasks({ repo: repoName(repo) });
  return tasks.find((task) => task.prNumber === number);
}

/** The active task whose accepted PR head is `sha`, if any. */
export async function taskOfHead(
  ctx: TaskContext,
  repo: RepoRef,
  sha: string,
): Promise<Task | undefined> {
  const tasks = await ctx.store.listTasks({ repo: repoName(repo) });
  return tasks.find(
    (task) => task.headSha === sha && task.prNumber !== undefined && isActive(task.state),
  );
}

/** A task's config, falling back to the defaults (logged) when the file is invalid. */
export async function configOfTask(ctx: TaskContext, task: Task): Promise<RepoConfig> {
  const loaded = await loadRepoConfig(ctx, issueOfTask(task));
  if (loaded.ok) return loaded.config;
  ctx.log.warn(
    { taskId: task.id, errors: loaded.errors.length },
    "invalid .github/kanbot.yml; the task goes on with the defaults",
  );
  return DEFAULT_REPO_CONFIG;
}

/** The task branch: the stored one, else `<prefix><issue>-<slug>` as the runner named it. */
export function branchOf(task: Task, config: RepoConfig): string {
  return task.branch ?? taskBranchName(config.branchPrefix, task.issueNumber, task.title);
}

/** The branch PRs target: the config's, else the repository's default branch. */
export async function baseBranchOf(
  ctx: TaskContext,
  repo: RepoRef,
  config: RepoConfig,
): Promise<string> {
  return config.baseBranch ?? (await ctx.github.defaultBranch(repo));
}
