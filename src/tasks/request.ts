/**
 * What an event applied to a task carries (the loop's input) and what applying it did (its
 * output). Types only: the loop (`apply.ts`) and the effects (`effects/`) both speak them, so the
 * effects never import the loop.
 */
import type { RepoConfig } from "../config/repo-config.js";
import type { Routing } from "../domain/routing.js";
import type { IgnoreCode, RejectCode, TaskEvent } from "../domain/task.js";
import type { TaskState } from "../domain/types.js";
import type { IssueComment, IssueFacts } from "../github/port.js";
import type { Job, Task } from "../store/index.js";
import type { BoardLookup } from "./effects/board.js";
import type { TaskDependencyRecord } from "../store/index.js";

/** Routing and prompt text, for events that start (or re-start) a task. */
export interface StartFacts {
  routing: Routing;
  promptText: string;
  /**
   * The issue's budget labels that count (added by someone with the trigger permission;
   * ./budget-label.ts `honouredBudgetLabels`). None when absent.
   */
  budgetLabels?: readonly string[] | undefined;
}

/** The closed PR's branches, for the branch deletion rule (merge-policy.ts). */
export interface ClosedPullRequestFacts {
  headBranch: string;
  baseBranch: string;
  defaultBranch: string;
  sameRepository: boolean;
}

export interface TaskEventRequest {
  /** The issue as GitHub has it now; its labels are updated as effects change them. */
  issue: IssueFacts;
  config: RepoConfig;
  /** A GitHub login, or `kanbot`. */
  actor: string;
  event: TaskEvent;
  start?: StartFacts | undefined;
  /** Dependencies as just checked; recorded for the progress comment and the graph. */
  dependencies?: TaskDependencyRecord | undefined;
  /** The issue's comments, when the caller listed them already. */
  comments?: readonly IssueComment[] | undefined;
  board: BoardLookup;
  /** The finished job whose result opens or updates the PR (`job-succeeded`). */
  job?: Job | undefined;
  /** For `pr-merged`: the closed PR's branches, for the branch deletion rule. */
  closed?: ClosedPullRequestFacts | undefined;
}

/** What a caller that knows only the task may pass along (the rest is read). */
export interface TaskEventExtras {
  config?: RepoConfig;
  issue?: IssueFacts;
  board?: BoardLookup;
  job?: Job;
  closed?: ClosedPullRequestFacts;
}

export type TaskEventOutcome =
  | { outcome: "transition"; task: Task; from: TaskState | null; to: TaskState }
  | { outcome: "ignored"; code: IgnoreCode; reason: string; task: Task | undefined }
  | { outcome: "rejected"; code: RejectCode; reason: string; task: Task | undefined };

/** A command about an issue kanbot has no task for (`/kanbot status`, `/kanbot ready`). */
export function noTask(): TaskEventOutcome {
  return {
    outcome: "rejected",
    code: "no-task",
    reason: "kanbot has no task for this issue; start one with the trigger label or `/kanbot run`",
    task: undefined,
  };
}
