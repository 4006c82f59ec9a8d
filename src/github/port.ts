/**
 * The GitHub port: everything kanbot asks of GitHub, in domain words (release-please's `Scm`,
 * renovate's `Platform`). Only `src/github/` implements it with Octokit; handlers and the task loop
 * depend on this interface, so they can be tested against a fake or the strict mock.
 *
 * One instance serves one installation (it holds that installation's authenticated Octokit).
 * Expected outcomes are return values (`undefined` for "not there"); anything else is thrown as
 * a `GitHubError` (see ./errors.ts) that keeps the HTTP status and the request.
 */
import type { IssueRef, RepoRef } from "../domain/dependencies.js";
import type { LabelDefinition } from "../domain/labels.js";
import type { PermissionLevel } from "../domain/permission.js";

export type IssueState = "open" | "closed";

/** The facts of an issue that kanbot uses. */
export interface IssueFacts {
  ref: IssueRef;
  /** GraphQL node id (for the Projects v2 board). */
  nodeId: string;
  title: string;
  body: string;
  state: IssueState;
  /** `completed`, `not_planned`, `reopened` or null. */
  stateReason: string | null;
  labels: string[];
  author: string;
  /** True for pull requests (GitHub serves them through the issues API too). */
  isPullRequest: boolean;
  htmlUrl: string;
}

export interface IssueComment {
  id: number;
  /** GraphQL node id (for `writeIssueView`); absent where a fake or dry run has none. */
  nodeId?: string;
  body: string;
  author: string;
  /** `User`, `Bot` or `Organization`. */
  authorType: string;
  createdAt: string;
  htmlUrl: string;
}

/**
 * One change of an issue's view, written in one request (`writeIssueView`): node ids throughout.
 * A part that is absent or empty is not written.
 */
export interface IssueViewWrite {
  /** The issue's node id (`IssueFacts.nodeId`). */
  issueNodeId: string;
  /** Labels to remove (a label the issue no longer carries is ignored). */
  removeLabelIds: readonly string[];
  /** Labels to add (a label the issue already carries is ignored). */
  addLabelIds: readonly string[];
  /** The card's single-select value (the board's Status column). */
  card?: { board: ProjectBoard; itemId: string; fieldId: string; optionId: string } | undefined;
  /** The progress comment's new body. */
  comment?: { nodeId: string; body: string } | undefined;
}

/** A linked issue (dependency or sub-issue) and whether it is still open. */
export interface LinkedIssueFacts {
  ref: IssueRef;
  state: IssueState;
}

/** A single-select field of a Projects v2 project and its options. */
export interface SingleSelectField {
  id: string;
  name: string;
  options: { id: string; name: string }[];
}

/** An organisation's Projects v2 project, as far as the board mapping needs it. */
export interface ProjectBoard {
  id: string;
  owner: string;
  number: number;
  title: string;
  /** The single-select fields by name (Status, Priority…). */
  fields: SingleSelectField[];
  /** Set when the board came from the process's cache of boards, not from GitHub just now. */
  cached?: true;
}

/** An issue's item on a board, with its single-select values by field name. */
export interface ProjectItem {
  id: string;
  values: Record<string, string>;
}

/** What a `projects_v2_item` event's item is: which issue, on which project, in which column. */
export interface ResolvedProjectItem {
  itemId: string;
  project: { owner: string; number: number };
  /** Undefined when the item is a draft issue or a pull request. */
  issue: IssueRef | undefined;
  values: Record<string, string>;
}

export interface GitHubPort {
  // --- people and identity -------------------------------------------------------------
  /** The highest permission `login` has on the repository (`none` for strangers). */
  permissionOf(repo: RepoRef, login: string): Promise<PermissionLevel>;

  // --- repository ------------------------------------------------------------------------
  defaultBranch(repo: RepoRef): Promise<string>;
  /** A file's text at `ref` (default branch when omitted), or undefined when it does not exist. */
  readFile(repo: RepoRef, path: string, ref?: string): Promise<string | undefined>;

  // --- issues and comments ---------------------------------------------------------------
  /** Undefined when the issue does not exist (or the installation cannot see it). */
  getIssue(issue: IssueRef): Promise<IssueFacts | undefined>;
  listComments(issue: IssueRef): Promise<IssueComment[]>;
  createComment(issue: IssueRef, body: string): Promise<IssueComment>;
  updateComment(repo: RepoRef, commentId: number, body: string): Promise<IssueComment>;
  /** A comment's GraphQL node id (a read); undefined when the comment is gone. */
  commentNodeId(repo: RepoRef, commentId: number): Promise<string | undefined>;
  /**
   * Brings the issue to a new view in ONE request (a GraphQL document of aliased mutations:
   * labels removed, labels added, the card's column, the comment's body), so a view change costs
   * one content-generating request however many parts it changes.
   */
  writeIssueView(issue: IssueRef, write: IssueViewWrite): Promise<void>;
  /**
   * Whether the pull request was merged (`GET …/pulls/{n}/merge`: 204 merged, 404 not merged or
   * no such PR). An issue closed while no PR of its task is merged cancels the task.
   */
  isPullRequestMerged(pr: IssueRef): Promise<boolean>;
  /** Open and closed issues of the repository carrying any of `labels` (reconciliation). */
  listIssuesWithLabels(repo: RepoRef, labels: readonly string[]): Promise<IssueFacts[]>;
  /**
   * Who last added `label` (compared case-insensitively) to the issue, from its events: the
   * newest `labeled` event's actor; undefined when no such event is listed, its actor is a
   * deleted account, or the issue is gone (reconciliation starts a trigger-labeled issue as them).
   */
  lastLabeler(issue: IssueRef, label: string): Promise<string | undefined>;
  /**
   * {@link lastLabeler} for several labels from one read of the issue's events: who last added
   * each of `labels`, in their order (undefined where `lastLabeler` would say undefined).
   */
  lastLabelers(issue: IssueRef, labels: readonly string[]): Promise<(string | undefined)[]>;

  // --- labels ----------------------------------------------------------------------------
  /** Creates the labels the repository does not have yet; existing ones are left as they are. */
  ensureLabels(repo: RepoRef, labels: readonly LabelDefinition[]): Promise<void>;
  addLabels(issue: IssueRef, labels: readonly string[]): Promise<void>;
  /** Removing a label the issue does not carry is not an error. */
  removeLabel(issue: IssueRef, label: string): Promise<void>;
  /** The repository's labels' GraphQL node ids by lower-cased name (a read). */
  labelNodeIds(repo: RepoRef): Promise<Map<string, string>>;

  // --- dependencies ----------------------------------------------------------------------
  /** GitHub's issue dependencies: the issues this one is blocked by. */
  listBlockedBy(issue: IssueRef): Promise<LinkedIssueFacts[]>;
  listSubIssues(issue: IssueRef): Promise<LinkedIssueFacts[]>;

  // --- the board (organisation Projects v2) ----------------------------------------------
  /**
   * Undefined when the organisation has no such project or the app cannot see it. The board may
   * come from the process's cache of boards (src/github/project-cache.ts); `fresh` asks GitHub.
   */
  findProject(
    owner: string,
    number: number,
    options?: { fresh?: boolean },
  ): Promise<ProjectBoard | undefined>;
  /** The issue's item on the board, or undefined when the issue is not on it. */
  findProjectItem(board: ProjectBoard, issueNodeId: string): Promise<ProjectItem | undefined>;
  addProjectItem(board: ProjectBoard, issueNodeId: string): Promise<ProjectItem>;
  setSingleSelect(
    board: ProjectBoard,
    itemId: string,
    fieldId: string,
    optionId: string,
  ): Promise<void>;
  /** Resolves a `projects_v2_item` event's item node id; undefined when it no longer exists. */
  resolveProjectItem(itemNodeId: string): Promise<ResolvedProjectItem | undefined>;
}
