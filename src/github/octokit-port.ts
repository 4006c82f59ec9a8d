/**
 * The GitHub port on Octokit: REST for repositories, issues, labels, comments and dependencies;
 * GraphQL (./graphql.ts) for the Projects v2 board. It uses the installation Octokit Probot gives
 * (`context.octokit`, or `await app.auth(installationId)` in the inbox worker), so GitHub
 * Enterprise Server works through Probot's base URL: REST at `https://<GHE_HOST>/api/v3`, and
 * GraphQL at `https://<GHE_HOST>/api/graphql`, which Octokit derives from it.
 *
 * Expected outcomes are handled where they happen (a 404 for a missing file, label, person,
 * issue or project becomes a return value); everything else is thrown as a `GitHubError`.
 *
 * Why one long file: it is the GitHub port (src/github/port.ts) method for method, each a few
 * lines of request and error translation; the pull-request port is split per resource under
 * ./pull-requests/, and this one could be split the same way (issues, labels, board) when it grows.
 */
import type { Logger } from "pino";
import type { ProbotOctokit } from "probot";
import type { IssueRef, RepoRef } from "../domain/dependencies.js";
import { sameLabel, type LabelDefinition } from "../domain/labels.js";
import { permissionFromApi, type PermissionLevel } from "../domain/permission.js";
import { guardRepoNames } from "./repo-name-guard.js";
import { EtagCache, installEtagCache } from "./etag-cache.js";
import { ProjectCache } from "./project-cache.js";
import {
  GitHubError,
  isGitHubStatus,
  isGraphQLErrorOfType,
  toGitHubError,
  type GitHubErrorKind,
} from "./errors.js";
import {
  ADD_PROJECT_ITEM,
  FIND_PROJECT,
  ISSUE_PROJECT_ITEMS,
  RESOLVE_PROJECT_ITEM,
  SET_SINGLE_SELECT,
  WRITE_ISSUE_VIEW,
} from "./graphql.js";
import type {
  GitHubPort,
  IssueComment,
  IssueFacts,
  IssueState,
  IssueViewWrite,
  LinkedIssueFacts,
  ProjectBoard,
  ProjectItem,
  ResolvedProjectItem,
  SingleSelectField,
} from "./port.js";

/** The installation Octokit Probot hands out (`context.octokit`, `await app.auth(id)`). */
export type InstallationOctokit = ProbotOctokit;

export interface GitHubPortOptions {
  /** `context.log` in a handler, the worker's logger in the inbox. */
  log: Logger;
  /**
   * The process's read caches and the installation the Octokit is authenticated as: conditional
   * REST reads (./etag-cache.ts) and found boards (./project-cache.ts). Without it nothing is
   * cached (every read goes to GitHub, as in the port's own tests).
   */
  cache?: { installationId: number; caches: GitHubReadCaches };
}

/** The read caches one process shares across its installations (keyed by installation). */
export interface GitHubReadCaches {
  etags: EtagCache;
  projects: ProjectCache;
}

/** Fresh read caches with their default bounds; the runtime makes one set per process. */
export function createGitHubReadCaches(): GitHubReadCaches {
  return { etags: new EtagCache(), projects: new ProjectCache() };
}

/** Page size for every paginated REST list (GitHub's maximum). */
const PER_PAGE = 100;

/** The port for one installation, on its authenticated Octokit. */
export function createGitHubPort(
  octokit: InstallationOctokit,
  options: GitHubPortOptions,
): GitHubPort {
  if (options.cache !== undefined) {
    installEtagCache(octokit, options.cache.caches.etags, options.cache.installationId);
  }
  const projects =
    options.cache === undefined
      ? undefined
      : { installationId: options.cache.installationId, cache: options.cache.caches.projects };
  // Every repository a call names is checked before a path is built from it.
  return guardRepoNames<GitHubPort>(
    new OctokitGitHubPort(octokit, options.log, projects),
    "GitHubPort",
  );
}

// ---------------------------------------------------------------------------------------------
// GitHub's answers, as far as the port reads them.

interface RestUser {
  login: string;
  type?: string;
}

interface RestLabel {
  name?: string;
}

interface RestIssue {
  number: number;
  node_id: string;
  title: string;
  body?: string | null;
  state: string;
  state_reason?: string | null;
  labels: (string | RestLabel)[];
  user: RestUser | null;
  pull_request?: unknown;
  html_url: string;
  repository_url: string;
}

interface RestComment {
  id: number;
  node_id?: string;
  body?: string;
  user: RestUser | null;
  created_at: string;
  html_url: string;
}

/** An entry of `GET …/issues/{n}/events`, as far as `lastLabelers` reads it. */
interface RestIssueEvent {
  event?: string;
  actor?: RestUser | null;
  label?: { name?: string } | null;
}

interface SingleSelectValueNode {
  name?: string | null;
  field?: { name?: string } | null;
}

interface FieldValues {
  nodes?: (SingleSelectValueNode | null)[] | null;
}

interface FindProjectData {
  organization: {
    login: string;
    projectV2: {
      id: string;
      number: number;
      title: string;
      fields: {
        nodes?: ({ id?: string; name?: string; options?: { id: string; name: string }[] } | null)[];
      };
    } | null;
  } | null;
}

interface IssueProjectItemsData {
  node: {
    projectItems?: {
      pageInfo: { hasNextPage: boolean; endCursor: string | null };
      nodes?: ({ id: string; project: { id: string }; fieldValues: FieldValues } | null)[];
    };
  } | null;
}

interface AddProjectItemData {
  addProjectV2ItemById: { item: { id: string; fieldValues: FieldValues } | null } | null;
}

interface ResolveProjectItemData {
  node: {
    id?: string;
    project?: { number: number; owner: { login?: string } };
    content?: { number?: number; repository?: { name: string; owner: { login: string } } } | null;
    fieldValues?: FieldValues;
  } | null;
}

// ---------------------------------------------------------------------------------------------

function issueState(state: string): IssueState {
  return state === "closed" ? "closed" : "open";
}

/** `owner/repo` from an issue's `repository_url` (`…/repos/{owner}/{repo}`, also on GHES). */
function repoFromUrl(url: string): RepoRef | undefined {
  const match = /\/repos\/([^/]+)\/([^/]+)\/?$/.exec(new URL(url).pathname);
  if (match === null) return undefined;
  return { owner: decodeURIComponent(match[1] ?? ""), repo: decodeURIComponent(match[2] ?? "") };
}

function toIssueFacts(repo: RepoRef, issue: RestIssue): IssueFacts {
  return {
    ref: { owner: repo.owner, repo: repo.repo, number: issue.number },
    nodeId: issue.node_id,
    title: issue.title,
    body: issue.body ?? "",
    state: issueState(issue.state),
    stateReason: issue.state_reason ?? null,
    labels: issue.labels.flatMap((label) => {
      const name = typeof label === "string" ? label : label.name;
      return name === undefined ? [] : [name];
    }),
    author: issue.user?.login ?? "ghost",
    isPullRequest: issue.pull_request !== undefined && issue.pull_request !== null,
    htmlUrl: issue.html_url,
  };
}

function toComment(comment: RestComment): IssueComment {
  return {
    id: comment.id,
    ...(comment.node_id === undefined ? {} : { nodeId: comment.node_id }),
    body: comment.body ?? "",
    author: comment.user?.login ?? "ghost",
    authorType: comment.user?.type ?? "User",
    createdAt: comment.created_at,
    htmlUrl: comment.html_url,
  };
}

function toLinked(issue: RestIssue, log: Logger): LinkedIssueFacts[] {
  const repo = repoFromUrl(issue.repository_url);
  if (repo === undefined) {
    log.warn({ repositoryUrl: issue.repository_url }, "linked issue has an unreadable repository");
    return [];
  }
  return [{ ref: { ...repo, number: issue.number }, state: issueState(issue.state) }];
}

/** Single-select values by field name. */
function valuesOf(fieldValues: FieldValues | undefined): Record<string, string> {
  const values: Record<string, string> = {};
  for (const node of fieldValues?.nodes ?? []) {
    const field = node?.field?.name;
    if (typeof field === "string" && typeof node?.name === "string") values[field] = node.name;
  }
  return values;
}

/** Whether a 422 from create-label says the label exists already (someone was faster). */
function isAlreadyExists(error: GitHubError): boolean {
  const cause = error.cause as { response?: { data?: { errors?: { code?: string }[] } } };
  return (cause.response?.data?.errors ?? []).some((entry) => entry.code === "already_exists");
}

/** The boards cache as one port sees it: the process's cache and the port's installation. */
interface PortProjectCache {
  installationId: number;
  cache: ProjectCache;
}

class OctokitGitHubPort implements GitHubPort {
  readonly #octokit: InstallationOctokit;
  readonly #log: Logger;
  readonly #projects: PortProjectCache | undefined;

  constructor(octokit: InstallationOctokit, log: Logger, projects?: PortProjectCache) {
    this.#octokit = octokit;
    this.#log = log;
    this.#projects = projects;
  }

  /** Drops a board from the cache after a mutation on it failed (a field or option may be gone). */
  #forgetBoard(board: ProjectBoard, error: unknown): never {
    if (this.#projects !== undefined) {
      this.#projects.cache.forget(this.#projects.installationId, board.owner, board.number);
      this.#log.debug(
        { owner: board.owner, project: board.number },
        "board mutation failed; cached board dropped",
      );
    }
    throw error;
  }

  /** Where Octokit sends GraphQL: `/graphql` on github.com, `/api/graphql` on GHES. */
  #graphqlUrl(): string {
    const base = this.#octokit.request.endpoint.DEFAULTS.baseUrl.replace(/\/+$/, "");
    return /\/api\/v3$/.test(base) ? base.replace(/\/api\/v3$/, "/api/graphql") : `${base}/graphql`;
  }

  /** Runs one GitHub call; anything Octokit throws leaves as a GitHubError. */
  async #call<T>(action: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      throw toGitHubError(error, action, this.#octokit.request.endpoint.DEFAULTS.baseUrl);
    }
  }

  // --- people and identity -----------------------------------------------------------------

  async permissionOf(repo: RepoRef, login: string): Promise<PermissionLevel> {
    try {
      const { data } = await this.#call(
        `read the permission of ${login} on ${repo.owner}/${repo.repo}`,
        () =>
          this.#octokit.rest.repos.getCollaboratorPermissionLevel({
            owner: repo.owner,
            repo: repo.repo,
            username: login,
          }),
      );
      return permissionFromApi(data);
    } catch (error) {
      if (!isGitHubStatus(error, 404)) throw error;
      this.#log.debug({ ...repo, login }, "no such collaborator; permission is none");
      return "none";
    }
  }

  // --- repository --------------------------------------------------------------------------

  async defaultBranch(repo: RepoRef): Promise<string> {
    const { data } = await this.#call(`read the repository ${repo.owner}/${repo.repo}`, () =>
      this.#octokit.rest.repos.get({ owner: repo.owner, repo: repo.repo }),
    );
    return data.default_branch;
  }

  async readFile(repo: RepoRef, path: string, ref?: string): Promise<string | undefined> {
    try {
      const { data } = await this.#call(`read ${path} in ${repo.owner}/${repo.repo}`, () =>
        this.#octokit.rest.repos.getContent({
          owner: repo.owner,
          repo: repo.repo,
          path,
          ...(ref === undefined ? {} : { ref }),
          mediaType: { format: "raw" },
        }),
      );
      // With the raw media type GitHub sends a file's bytes; a directory still comes as JSON.
      const text: unknown = data;
      if (typeof text === "string") return text;
      this.#log.debug({ ...repo, path }, "path is not a file; treated as missing");
      return undefined;
    } catch (error) {
      if (!isGitHubStatus(error, 404)) throw error;
      this.#log.debug({ ...repo, path, ref }, "file not found");
      return undefined;
    }
  }

  // --- issues and comments -----------------------------------------------------------------

  async getIssue(issue: IssueRef): Promise<IssueFacts | undefined> {
    try {
      const { data } = await this.#call(`read issue ${formatRef(issue)}`, () =>
        this.#octokit.rest.issues.get({
          owner: issue.owner,
          repo: issue.repo,
          issue_number: issue.number,
        }),
      );
      return toIssueFacts(issue, data);
    } catch (error) {
      if (!isGitHubStatus(error, 404) && !isGitHubStatus(error, 410)) throw error;
      this.#log.debug({ issue: formatRef(issue), status: error.status }, "issue not found");
      return undefined;
    }
  }

  async isPullRequestMerged(pr: IssueRef): Promise<boolean> {
    try {
      await this.#call(`check whether pull request ${formatRef(pr)} is merged`, () =>
        this.#octokit.rest.pulls.checkIfMerged({
          owner: pr.owner,
          repo: pr.repo,
          pull_number: pr.number,
        }),
      );
      return true;
    } catch (error) {
      // GitHub answers 404 both for "not merged" and for "no such pull request".
      if (!isGitHubStatus(error, 404)) throw error;
      return false;
    }
  }

  async listComments(issue: IssueRef): Promise<IssueComment[]> {
    const comments = await this.#call(`list the comments of ${formatRef(issue)}`, () =>
      this.#octokit.paginate(this.#octokit.rest.issues.listComments, {
        owner: issue.owner,
        repo: issue.repo,
        issue_number: issue.number,
        per_page: PER_PAGE,
      }),
    );
    return comments.map(toComment);
  }

  async createComment(issue: IssueRef, body: string): Promise<IssueComment> {
    const { data } = await this.#call(`comment on ${formatRef(issue)}`, () =>
      this.#octokit.rest.issues.createComment({
        owner: issue.owner,
        repo: issue.repo,
        issue_number: issue.number,
        body,
      }),
    );
    return toComment(data);
  }

  async updateComment(repo: RepoRef, commentId: number, body: string): Promise<IssueComment> {
    const { data } = await this.#call(
      `edit comment ${commentId} in ${repo.owner}/${repo.repo}`,
      () =>
        this.#octokit.rest.issues.updateComment({
          owner: repo.owner,
          repo: repo.repo,
          comment_id: commentId,
          body,
        }),
    );
    return toComment(data);
  }

  async commentNodeId(repo: RepoRef, commentId: number): Promise<string | undefined> {
    try {
      const { data } = await this.#call(
        `read comment ${commentId} in ${repo.owner}/${repo.repo}`,
        () =>
          this.#octokit.rest.issues.getComment({
            owner: repo.owner,
            repo: repo.repo,
            comment_id: commentId,
          }),
      );
      return data.node_id;
    } catch (error) {
      if (!isGitHubStatus(error, 404)) throw error;
      this.#log.debug({ ...repo, commentId }, "comment not found");
      return undefined;
    }
  }

  async writeIssueView(issue: IssueRef, write: IssueViewWrite): Promise<void> {
    const { card, comment } = write;
    await this.#call(`write the view of ${formatRef(issue)}`, () =>
      this.#octokit.graphql(WRITE_ISSUE_VIEW, {
        issueId: write.issueNodeId,
        withRemoveLabels: write.removeLabelIds.length > 0,
        removeLabelIds: [...write.removeLabelIds],
        withAddLabels: write.addLabelIds.length > 0,
        addLabelIds: [...write.addLabelIds],
        withCard: card !== undefined,
        projectId: card?.board.id ?? "",
        itemId: card?.itemId ?? "",
        fieldId: card?.fieldId ?? "",
        optionId: card?.optionId ?? "",
        withComment: comment !== undefined,
        commentId: comment?.nodeId ?? "",
        body: comment?.body ?? "",
      }),
    );
  }

  async listIssuesWithLabels(repo: RepoRef, labels: readonly string[]): Promise<IssueFacts[]> {
    const byNumber = new Map<number, IssueFacts>();
    for (const label of uniqueLabels(labels)) {
      if (label.includes(",")) {
        // GitHub splits the `labels` filter at commas, so such a label cannot be asked for.
        this.#log.warn({ ...repo, label }, "label name with a comma cannot be listed; skipped");
        continue;
      }
      const issues = await this.#call(
        `list the issues labeled ${label} in ${repo.owner}/${repo.repo}`,
        () =>
          this.#octokit.paginate(this.#octokit.rest.issues.listForRepo, {
            owner: repo.owner,
            repo: repo.repo,
            labels: label,
            state: "all",
            per_page: PER_PAGE,
          }),
      );
      for (const issue of issues) {
        if (issue.pull_request !== undefined && issue.pull_request !== null) continue;
        if (!byNumber.has(issue.number)) byNumber.set(issue.number, toIssueFacts(repo, issue));
      }
    }
    return [...byNumber.values()].sort((a, b) => a.ref.number - b.ref.number);
  }

  async lastLabeler(issue: IssueRef, label: string): Promise<string | undefined> {
    const [login] = await this.lastLabelers(issue, [label]);
    return login;
  }

  async lastLabelers(issue: IssueRef, labels: readonly string[]): Promise<(string | undefined)[]> {
    if (labels.length === 0) return [];
    let events: RestIssueEvent[];
    try {
      events = await this.#call(`list the events of ${formatRef(issue)}`, () =>
        this.#octokit.paginate(this.#octokit.rest.issues.listEvents, {
          owner: issue.owner,
          repo: issue.repo,
          issue_number: issue.number,
          per_page: PER_PAGE,
        }),
      );
    } catch (error) {
      if (!isGitHubStatus(error, 404) && !isGitHubStatus(error, 410)) throw error;
      this.#log.debug({ issue: formatRef(issue), status: error.status }, "issue not found");
      return labels.map(() => undefined);
    }
    return labels.map((label) => {
      // GitHub lists an issue's events oldest first; the last matching one is the newest.
      const newest = events
        .filter(
          (event) =>
            event.event === "labeled" &&
            event.label?.name !== undefined &&
            sameLabel(event.label.name, label),
        )
        .at(-1);
      if (newest === undefined) {
        this.#log.debug({ issue: formatRef(issue), label }, "no labeled event for the label");
        return undefined;
      }
      return newest.actor?.login ?? undefined;
    });
  }

  // --- labels ------------------------------------------------------------------------------

  async ensureLabels(repo: RepoRef, labels: readonly LabelDefinition[]): Promise<void> {
    if (labels.length === 0) return;
    const existing = await this.#call(`list the labels of ${repo.owner}/${repo.repo}`, () =>
      this.#octokit.paginate(this.#octokit.rest.issues.listLabelsForRepo, {
        owner: repo.owner,
        repo: repo.repo,
        per_page: PER_PAGE,
      }),
    );
    const have = existing.map((label) => label.name);
    for (const label of labels) {
      if (have.some((name) => sameLabel(name, label.name))) continue;
      have.push(label.name);
      try {
        await this.#call(`create the label ${label.name} in ${repo.owner}/${repo.repo}`, () =>
          this.#octokit.rest.issues.createLabel({
            owner: repo.owner,
            repo: repo.repo,
            name: label.name,
            color: label.color,
            description: label.description,
          }),
        );
        this.#log.info({ ...repo, label: label.name }, "label created");
      } catch (error) {
        if (!isGitHubStatus(error, 422) || !isAlreadyExists(error)) throw error;
        this.#log.debug({ ...repo, label: label.name }, "label created meanwhile by someone else");
      }
    }
  }

  async labelNodeIds(repo: RepoRef): Promise<Map<string, string>> {
    const labels = await this.#call(`list the labels of ${repo.owner}/${repo.repo}`, () =>
      this.#octokit.paginate(this.#octokit.rest.issues.listLabelsForRepo, {
        owner: repo.owner,
        repo: repo.repo,
        per_page: PER_PAGE,
      }),
    );
    return new Map(labels.map((label) => [label.name.toLowerCase(), label.node_id]));
  }

  async addLabels(issue: IssueRef, labels: readonly string[]): Promise<void> {
    if (labels.length === 0) return;
    await this.#call(`label ${formatRef(issue)}`, () =>
      this.#octokit.rest.issues.addLabels({
        owner: issue.owner,
        repo: issue.repo,
        issue_number: issue.number,
        labels: [...labels],
      }),
    );
  }

  async removeLabel(issue: IssueRef, label: string): Promise<void> {
    try {
      await this.#call(`remove the label ${label} from ${formatRef(issue)}`, () =>
        this.#octokit.rest.issues.removeLabel({
          owner: issue.owner,
          repo: issue.repo,
          issue_number: issue.number,
          name: label,
        }),
      );
    } catch (error) {
      if (!isGitHubStatus(error, 404)) throw error;
      this.#log.debug({ issue: formatRef(issue), label }, "label was not on the issue");
    }
  }

  // --- dependencies ------------------------------------------------------------------------

  async listBlockedBy(issue: IssueRef): Promise<LinkedIssueFacts[]> {
    // GitHub Enterprise Server before 3.19 has no issue dependencies (404 on the route).
    return this.#linkedIssues(
      issue,
      `list what blocks ${formatRef(issue)}`,
      "issue dependencies",
      () =>
        this.#octokit.paginate(this.#octokit.rest.issues.listDependenciesBlockedBy, {
          owner: issue.owner,
          repo: issue.repo,
          issue_number: issue.number,
          per_page: PER_PAGE,
        }),
    );
  }

  async listSubIssues(issue: IssueRef): Promise<LinkedIssueFacts[]> {
    // GitHub Enterprise Server without sub-issues answers 404 on the route.
    return this.#linkedIssues(
      issue,
      `list the sub-issues of ${formatRef(issue)}`,
      "sub-issues",
      () =>
        this.#octokit.paginate(this.#octokit.rest.issues.listSubIssues, {
          owner: issue.owner,
          repo: issue.repo,
          issue_number: issue.number,
          per_page: PER_PAGE,
        }),
    );
  }

  /** Issues linked to `issue` through a route a GitHub Enterprise Server may not have: none
   * (logged) when the route answers 404 or 410. */
  async #linkedIssues(
    issue: IssueRef,
    action: string,
    feature: string,
    list: () => Promise<RestIssue[]>,
  ): Promise<LinkedIssueFacts[]> {
    try {
      const issues = await this.#call(action, list);
      return issues.flatMap((linked) => toLinked(linked, this.#log));
    } catch (error) {
      if (!isGitHubStatus(error, 404) && !isGitHubStatus(error, 410)) throw error;
      this.#log.info(
        { issue: formatRef(issue), status: error.status },
        `${feature} not available; only body references count`,
      );
      return [];
    }
  }

  // --- the board ---------------------------------------------------------------------------

  async findProject(
    owner: string,
    number: number,
    options: { fresh?: boolean } = {},
  ): Promise<ProjectBoard | undefined> {
    const cached =
      this.#projects === undefined || options.fresh === true
        ? undefined
        : this.#projects.cache.get(this.#projects.installationId, owner, number);
    if (cached !== undefined) {
      this.#log.debug({ owner, number }, "board served from the cache");
      return cached;
    }
    const board = await this.#readProject(owner, number);
    if (board === undefined) {
      this.#projects?.cache.forget(this.#projects.installationId, owner, number);
    } else {
      this.#projects?.cache.set(this.#projects.installationId, owner, number, board);
    }
    return board;
  }

  async #readProject(owner: string, number: number): Promise<ProjectBoard | undefined> {
    let data: FindProjectData;
    try {
      data = await this.#call(`read project ${number} of ${owner}`, () =>
        this.#octokit.graphql<FindProjectData>(FIND_PROJECT, { owner, number }),
      );
    } catch (error) {
      if (!isGraphQLErrorOfType(error, "NOT_FOUND")) throw error;
      this.#log.info({ owner, number }, "project not found or not visible to the app");
      return undefined;
    }
    const project = data.organization?.projectV2;
    if (data.organization === null || project === null || project === undefined) {
      this.#log.info({ owner, number }, "project not found or not visible to the app");
      return undefined;
    }
    const fields: SingleSelectField[] = (project.fields.nodes ?? []).flatMap((node) =>
      node?.id !== undefined && node.name !== undefined && node.options !== undefined
        ? [
            {
              id: node.id,
              name: node.name,
              options: node.options.map(({ id, name }) => ({ id, name })),
            },
          ]
        : [],
    );
    return {
      id: project.id,
      owner: data.organization.login,
      number: project.number,
      title: project.title,
      fields,
    };
  }

  async findProjectItem(
    board: ProjectBoard,
    issueNodeId: string,
  ): Promise<ProjectItem | undefined> {
    let after: string | null = null;
    for (;;) {
      let data: IssueProjectItemsData;
      try {
        data = await this.#call(`read the project items of issue ${issueNodeId}`, () =>
          this.#octokit.graphql<IssueProjectItemsData>(ISSUE_PROJECT_ITEMS, {
            issueId: issueNodeId,
            after,
          }),
        );
      } catch (error) {
        if (!isGraphQLErrorOfType(error, "NOT_FOUND")) throw error;
        this.#log.info({ issueNodeId }, "issue not found for its project items");
        return undefined;
      }
      const items = data.node?.projectItems;
      if (items === undefined) return undefined;
      const item = (items.nodes ?? []).find((node) => node?.project.id === board.id);
      if (item !== undefined && item !== null) {
        return { id: item.id, values: valuesOf(item.fieldValues) };
      }
      if (!items.pageInfo.hasNextPage || items.pageInfo.endCursor === null) return undefined;
      after = items.pageInfo.endCursor;
    }
  }

  async addProjectItem(board: ProjectBoard, issueNodeId: string): Promise<ProjectItem> {
    const action = `add issue ${issueNodeId} to project ${board.number} of ${board.owner}`;
    const data = await this.#call(action, () =>
      this.#octokit.graphql<AddProjectItemData>(ADD_PROJECT_ITEM, {
        projectId: board.id,
        contentId: issueNodeId,
      }),
    ).catch((error: unknown) => this.#forgetBoard(board, error));
    const item = data.addProjectV2ItemById?.item;
    if (item === undefined || item === null) {
      throw emptyAnswer(action, "addProjectV2ItemById returned no item", this.#graphqlUrl());
    }
    return { id: item.id, values: valuesOf(item.fieldValues) };
  }

  async setSingleSelect(
    board: ProjectBoard,
    itemId: string,
    fieldId: string,
    optionId: string,
  ): Promise<void> {
    await this.#call(
      `set a field of item ${itemId} on project ${board.number} of ${board.owner}`,
      () =>
        this.#octokit.graphql(SET_SINGLE_SELECT, {
          projectId: board.id,
          itemId,
          fieldId,
          optionId,
        }),
    ).catch((error: unknown) => this.#forgetBoard(board, error));
  }

  async resolveProjectItem(itemNodeId: string): Promise<ResolvedProjectItem | undefined> {
    let data: ResolveProjectItemData;
    try {
      data = await this.#call(`resolve project item ${itemNodeId}`, () =>
        this.#octokit.graphql<ResolveProjectItemData>(RESOLVE_PROJECT_ITEM, { itemId: itemNodeId }),
      );
    } catch (error) {
      if (!isGraphQLErrorOfType(error, "NOT_FOUND")) throw error;
      this.#log.info({ itemNodeId }, "project item no longer exists");
      return undefined;
    }
    const node = data.node;
    if (node === null || node.project === undefined || node.project.owner.login === undefined) {
      this.#log.info({ itemNodeId }, "project item no longer exists");
      return undefined;
    }
    const content = node.content;
    const issue =
      content?.number !== undefined && content.repository !== undefined
        ? {
            owner: content.repository.owner.login,
            repo: content.repository.name,
            number: content.number,
          }
        : undefined;
    return {
      itemId: node.id ?? itemNodeId,
      project: { owner: node.project.owner.login, number: node.project.number },
      issue,
      values: valuesOf(node.fieldValues),
    };
  }
}

function formatRef(issue: IssueRef): string {
  return `${issue.owner}/${issue.repo}#${issue.number}`;
}

/** Label names without case-insensitive duplicates, first spelling kept. */
function uniqueLabels(labels: readonly string[]): string[] {
  const unique: string[] = [];
  for (const label of labels) {
    if (!unique.some((seen) => sameLabel(seen, label))) unique.push(label);
  }
  return unique;
}

/** GitHub answered without error but without the thing asked for. */
function emptyAnswer(action: string, githubMessage: string, url: string): GitHubError {
  const kind: GitHubErrorKind = "other";
  return new GitHubError({
    action,
    kind,
    status: 200,
    method: "POST",
    url,
    requestId: undefined,
    githubMessage,
    graphqlErrors: [],
    rateLimitResetAt: undefined,
    permission: undefined,
  });
}
