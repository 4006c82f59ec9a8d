/**
 * Named strict-mock helpers for every call the GitHub port (src/github/octokit-port.ts) makes,
 * one per port method, on top of the strict mock of ./github-mock.ts. Bodies are shaped like
 * GitHub's (REST bodies are checked against the OpenAPI description when declared; GraphQL
 * answers follow the documents of src/github/graphql.ts) and lists are paginated as GitHub does
 * (100 per page, `Link` headers), so a test declares what GitHub holds, not how it is fetched:
 *
 *   const gh = setupGitHubMock();
 *   const ghp = portMocks(gh);
 *   const board = fakeBoard({ owner: "octo-org", number: 7 });
 *   ghp.permission(repo, "alice", "write")
 *     .issue({ ...repo, number: 1 }, { labels: ["agent:ready"] })
 *     .blockedBy({ ...repo, number: 1 }, [{ ref: { ...repo, number: 2 }, state: "closed" }])
 *     .subIssues({ ...repo, number: 1 }, [])
 *     .project(board)
 *     .projectItem(board, issueNodeId({ ...repo, number: 1 }), undefined)
 *     .addProjectItem(board, issueNodeId({ ...repo, number: 1 }), "PVTI_1")
 *     .setStatus(board, "PVTI_1", "Ready");
 *
 * Each helper returns the helpers, for chaining; `ghp.gh` is the underlying mock.
 */
import { createHash } from "node:crypto";
import { isDeepStrictEqual } from "node:util";
import { DEFAULT_STATE_LABELS, DEFAULT_TRIGGER_LABEL } from "../../src/domain/labels.js";
import type { IssueRef, RepoRef } from "../../src/domain/dependencies.js";
import type { LabelDefinition } from "../../src/domain/labels.js";
import type { IssueState, ProjectBoard, ProjectItem } from "../../src/github/port.js";
import {
  FIXTURE_TIME,
  fakeComment,
  fakeIssue,
  fakeLabel,
  fakeUser,
  stableId,
  type AuthorAssociation,
  type GitHubUrls,
  type IssueFields,
  type RepositoryPermission,
} from "./github-fixtures.js";
import type { GitHubMock } from "./github-mock.js";
import {
  checkResponseShape,
  expandPath,
  resolveRestOperation,
  type HttpMethod,
} from "./github-openapi.js";
import { TEST_INSTALLATION_ID } from "./probot.js";

/** kanbot's default state labels and its trigger label (what {@link GitHubPortMocks.labelNodeIds} lists). */
const STATE_LABEL_NAMES = [DEFAULT_TRIGGER_LABEL, ...Object.values(DEFAULT_STATE_LABELS)];

/** The page size the port asks for on every REST list. */
export const PORT_PAGE_SIZE = 100;
/** The page size of the port's GraphQL connections. */
export const PORT_GRAPHQL_PAGE_SIZE = 50;

// ---------------------------------------------------------------------------------------------
// Fixtures the port's answers are built from.

function hash(text: string, length = 12): string {
  return createHash("sha1").update(text).digest("hex").slice(0, length);
}

/** The GraphQL node id {@link fakeIssue} gives the issue (what `IssueFacts.nodeId` will be). */
export function issueNodeId(ref: IssueRef): string {
  return fakeIssue(ref, { number: ref.number }).node_id;
}

/** A board to declare: its fields by name, each with its option names. */
export interface BoardSpec {
  owner: string;
  number: number;
  title?: string;
  /** Single-select fields and their options; default a Status field with DESIGN's columns. */
  fields?: Record<string, string[]>;
}

/** DESIGN section 2's columns, plus a Backlog. */
export const DEFAULT_STATUS_OPTIONS = [
  "Backlog",
  "Ready",
  "In progress",
  "In review",
  "Done",
  "Blocked",
] as const;

/**
 * The {@link ProjectBoard} the port returns for a board GitHub holds as `spec` describes, with
 * ids derived from the names (so a test can compute them without asking).
 */
export function fakeBoard(spec: BoardSpec): ProjectBoard {
  const key = `${spec.owner}/${spec.number}`;
  const fields = spec.fields ?? { Status: [...DEFAULT_STATUS_OPTIONS] };
  return {
    id: `PVT_${hash(`project:${key}`)}`,
    owner: spec.owner,
    number: spec.number,
    title: spec.title ?? `Board ${spec.number}`,
    fields: Object.entries(fields).map(([name, options]) => ({
      id: `PVTSSF_${hash(`field:${key}:${name}`)}`,
      name,
      options: options.map((option) => ({
        id: hash(`option:${key}:${name}:${option}`, 8),
        name: option,
      })),
    })),
  };
}

/** The option id of `option` in the board's field `field`; throws when the board has none. */
export function optionId(board: ProjectBoard, field: string, option: string): string {
  const found = board.fields.find((candidate) => candidate.name === field);
  const id = found?.options.find((candidate) => candidate.name === option)?.id;
  if (found === undefined || id === undefined) {
    throw new Error(`fakeBoard: the board has no option "${option}" in a field "${field}"`);
  }
  return id;
}

/** The field id of `field` on the board; throws when the board has none. */
export function fieldId(board: ProjectBoard, field: string): string {
  const found = board.fields.find((candidate) => candidate.name === field);
  if (found === undefined) throw new Error(`fakeBoard: the board has no field "${field}"`);
  return found.id;
}

/** An item of an issue on some project (for {@link GitHubPortMocks.projectItems}). */
export interface ItemSpec {
  id: string;
  /** The project's node id (`board.id`). */
  projectId: string;
  /** Single-select values by field name. */
  values?: Record<string, string>;
}

/** GraphQL `fieldValues` as GitHub answers them: a Title value (no single-select) first. */
function fieldValues(values: Record<string, string> = {}) {
  return {
    nodes: [
      {},
      ...Object.entries(values).map(([field, name]) => ({ name, field: { name: field } })),
    ],
  };
}

/** A `repository` / `full-repository` of `repo`. */
export function fakeRepository(
  repo: RepoRef,
  fields: { defaultBranch?: string; archived?: boolean; private?: boolean },
  urls: GitHubUrls,
) {
  const id = stableId(`repo:${repo.owner}/${repo.repo}`);
  const api = `${urls.api}/repos/${repo.owner}/${repo.repo}`;
  const html = `${urls.web}/${repo.owner}/${repo.repo}`;
  const host = new URL(urls.web).host;
  const templated = (name: string, suffix = "") => `${api}/${name}${suffix}`;
  return {
    id,
    node_id: `R_${Buffer.from(String(id)).toString("base64url")}`,
    name: repo.repo,
    full_name: `${repo.owner}/${repo.repo}`,
    owner: fakeUser(repo.owner, urls),
    private: fields.private ?? false,
    html_url: html,
    description: null,
    fork: false,
    url: api,
    archive_url: templated("{archive_format}{/ref}"),
    assignees_url: templated("assignees", "{/user}"),
    blobs_url: templated("git/blobs", "{/sha}"),
    branches_url: templated("branches", "{/branch}"),
    collaborators_url: templated("collaborators", "{/collaborator}"),
    comments_url: templated("comments", "{/number}"),
    commits_url: templated("commits", "{/sha}"),
    compare_url: templated("compare/{base}...{head}"),
    contents_url: templated("contents/{+path}"),
    contributors_url: templated("contributors"),
    deployments_url: templated("deployments"),
    downloads_url: templated("downloads"),
    events_url: templated("events"),
    forks_url: templated("forks"),
    git_commits_url: templated("git/commits", "{/sha}"),
    git_refs_url: templated("git/refs", "{/sha}"),
    git_tags_url: templated("git/tags", "{/sha}"),
    hooks_url: templated("hooks"),
    issue_comment_url: templated("issues/comments", "{/number}"),
    issue_events_url: templated("issues/events", "{/number}"),
    issues_url: templated("issues", "{/number}"),
    keys_url: templated("keys", "{/key_id}"),
    labels_url: templated("labels", "{/name}"),
    languages_url: templated("languages"),
    merges_url: templated("merges"),
    milestones_url: templated("milestones", "{/number}"),
    notifications_url: templated("notifications{?since,all,participating}"),
    pulls_url: templated("pulls", "{/number}"),
    releases_url: templated("releases", "{/id}"),
    stargazers_url: templated("stargazers"),
    statuses_url: templated("statuses/{sha}"),
    subscribers_url: templated("subscribers"),
    subscription_url: templated("subscription"),
    tags_url: templated("tags"),
    teams_url: templated("teams"),
    trees_url: templated("git/trees", "{/sha}"),
    clone_url: `${html}.git`,
    git_url: `git://${host}/${repo.owner}/${repo.repo}.git`,
    ssh_url: `git@${host}:${repo.owner}/${repo.repo}.git`,
    svn_url: html,
    mirror_url: null,
    homepage: null,
    language: "TypeScript",
    forks: 0,
    forks_count: 0,
    stargazers_count: 0,
    watchers: 0,
    watchers_count: 0,
    size: 1,
    default_branch: fields.defaultBranch ?? "main",
    open_issues: 0,
    open_issues_count: 0,
    has_issues: true,
    has_projects: true,
    has_wiki: false,
    has_pages: false,
    has_downloads: true,
    has_discussions: false,
    archived: fields.archived ?? false,
    disabled: false,
    license: null,
    pushed_at: FIXTURE_TIME,
    created_at: FIXTURE_TIME,
    updated_at: FIXTURE_TIME,
    network_count: 0,
    subscribers_count: 0,
  };
}

/** An `installation` of the test app on `account`. */
export function fakeInstallation(id: number, account: string, urls: GitHubUrls) {
  return {
    id,
    app_id: 123456,
    app_slug: "kanbot",
    target_id: stableId(`user:${account}`),
    target_type: "Organization",
    single_file_name: null,
    repository_selection: "all",
    access_tokens_url: `${urls.api}/app/installations/${id}/access_tokens`,
    html_url: `${urls.web}/organizations/${account}/settings/installations/${id}`,
    repositories_url: `${urls.api}/installation/repositories`,
    events: ["issues", "issue_comment", "projects_v2_item"],
    // GHES describes the account as a user or an enterprise; these fields fit both shapes.
    account: {
      ...fakeUser(account, urls),
      name: account,
      slug: account,
      created_at: FIXTURE_TIME,
      updated_at: FIXTURE_TIME,
    },
    permissions: { issues: "write", metadata: "read" },
    created_at: FIXTURE_TIME,
    updated_at: FIXTURE_TIME,
    suspended_by: null,
    suspended_at: null,
  };
}

/** The `integration` (GitHub App) `GET /app` answers, with this slug. */
export function fakeApp(slug: string, urls: GitHubUrls) {
  const id = 123456;
  return {
    id,
    slug,
    node_id: `A_${Buffer.from(String(id)).toString("base64url")}`,
    client_id: "Iv1.0000000000000000",
    owner: fakeUser("octo-org", urls),
    name: slug,
    description: null,
    external_url: "https://kanbot.example.com",
    html_url: `${urls.web}/apps/${slug}`,
    created_at: FIXTURE_TIME,
    updated_at: FIXTURE_TIME,
    permissions: { issues: "write", metadata: "read" },
    events: ["issues"],
  };
}

/** An issue in a list answer; `pullRequest` makes it a pull request, as the issues API lists them. */
export interface ListedIssue extends IssueFields {
  pullRequest?: boolean;
}

function listedIssue(repo: RepoRef, issue: ListedIssue, urls: GitHubUrls) {
  const body = fakeIssue(repo, issue, urls);
  if (issue.pullRequest !== true) return body;
  const html = `${urls.web}/${repo.owner}/${repo.repo}/pull/${issue.number}`;
  return {
    ...body,
    html_url: html,
    pull_request: {
      url: `${urls.api}/repos/${repo.owner}/${repo.repo}/pulls/${issue.number}`,
      html_url: html,
      diff_url: `${html}.diff`,
      patch_url: `${html}.patch`,
      merged_at: null,
    },
  };
}

/** A comment in a list answer. */
export interface CommentSpec {
  id: number;
  body: string;
  /** Default `kanbot[bot]`. */
  author?: string;
  authorAssociation?: AuthorAssociation;
}

/** A GraphQL error as GitHub lists it. */
function notFound(path: string[], message: string) {
  return { type: "NOT_FOUND", path, locations: [{ line: 2, column: 3 }], message };
}

// ---------------------------------------------------------------------------------------------

/** Named mocks for each port call, on `gh`. */
export function portMocks(gh: GitHubMock): GitHubPortMocks {
  return new GitHubPortMocks(gh);
}

export class GitHubPortMocks {
  constructor(readonly gh: GitHubMock) {}

  // --- plumbing ------------------------------------------------------------------------------

  /** `POST /app/installations/{id}/access_tokens`: the token Probot mints before the first call. */
  installationToken(installationId = TEST_INSTALLATION_ID): this {
    this.gh.installationToken(installationId);
    return this;
  }

  /**
   * A paginated REST list as GitHub serves it: `items` split into pages of `PORT_PAGE_SIZE`,
   * each page a request with `per_page` (and `page` after the first) plus `query`, linked with
   * `Link` headers. `wrap` turns a page into the body (for answers like `{ repositories }`).
   */
  list(
    template: string,
    params: Record<string, string | number>,
    items: readonly unknown[],
    options: {
      query?: Record<string, string>;
      wrap?: (page: unknown[]) => Record<string, unknown>;
    } = {},
  ): this {
    const path = expandPath(template, params);
    const operation = resolveRestOperation("GET", path, this.gh.openapi);
    const pages: unknown[][] = [];
    for (let start = 0; start < items.length; start += PORT_PAGE_SIZE) {
      pages.push(items.slice(start, start + PORT_PAGE_SIZE));
    }
    if (pages.length === 0) pages.push([]);
    const pageUrl = (page: number): string => {
      const search = new URLSearchParams({ ...options.query, per_page: String(PORT_PAGE_SIZE) });
      if (page > 1) search.set("page", String(page));
      return `${this.gh.baseUrl}${path}?${search.toString()}`;
    };
    pages.forEach((page, i) => {
      const number = i + 1;
      const body = options.wrap === undefined ? page : options.wrap(page);
      const problems = checkResponseShape(operation, 200, body);
      if (problems.length > 0) {
        throw new Error(
          `port mocks: the ${operation.operationId} page is not shaped like GitHub's:\n${problems.join("\n")}`,
        );
      }
      const links: string[] = [];
      if (number < pages.length) {
        links.push(
          `<${pageUrl(number + 1)}>; rel="next"`,
          `<${pageUrl(pages.length)}>; rel="last"`,
        );
      }
      if (number > 1)
        links.push(`<${pageUrl(number - 1)}>; rel="prev"`, `<${pageUrl(1)}>; rel="first"`);
      const query: Record<string, string> = {
        ...options.query,
        per_page: String(PORT_PAGE_SIZE),
        ...(number > 1 ? { page: String(number) } : {}),
      };
      this.gh
        .rest("GET", path, {}, { query })
        .reply(200, body, links.length > 0 ? { link: links.join(", ") } : {});
    });
    return this;
  }

  /** A REST error answer (GitHub's error body) for one request. */
  restError(method: HttpMethod, path: string, status: number, message?: string): this {
    this.gh.rest(method, path, {}, { query: true }).replyError(status, message);
    return this;
  }

  // --- people and identity -------------------------------------------------------------------

  /** `permissionOf`: the person's role on the repository; `null` answers 404 (no such user). */
  permission(repo: RepoRef, login: string, level: RepositoryPermission | null): this {
    if (level === null) {
      const path = expandPath("/repos/{owner}/{repo}/collaborators/{username}/permission", {
        ...repo,
        username: login,
      });
      this.gh.rest("GET", path).replyError(404);
      return this;
    }
    this.gh.collaboratorPermission(repoOf(repo), login, level);
    return this;
  }

  // --- repository ----------------------------------------------------------------------------

  /** `listInstallationRepositories`: `GET /installation/repositories`, paginated. */
  repositories(repos: readonly (RepoRef & { archived?: boolean })[]): this {
    const bodies = repos.map((repo) =>
      fakeRepository(repoOf(repo), { archived: repo.archived ?? false }, this.gh.urls),
    );
    return this.list("/installation/repositories", {}, bodies, {
      wrap: (page) => ({ total_count: repos.length, repositories: page }),
    });
  }

  /** `listInstallations`: `GET /app/installations`, paginated (app JWT, no installation token). */
  installations(installations: readonly { id: number; account: string }[]): this {
    return this.list(
      "/app/installations",
      {},
      installations.map(({ id, account }) => fakeInstallation(id, account, this.gh.urls)),
    );
  }

  /** `appBotLogin`: `GET /app` (app JWT) answering the app `slug` (its bot is `<slug>[bot]`). */
  app(slug = "kanbot"): this {
    const body = fakeApp(slug, this.gh.urls);
    this.#checked("GET", "/app", 200, body);
    this.gh.rest("GET", "/app").reply(200, body);
    return this;
  }

  /** `defaultBranch`: `GET /repos/{owner}/{repo}`. */
  defaultBranch(repo: RepoRef, branch = "main"): this {
    const path = expandPath("/repos/{owner}/{repo}", { ...repo });
    const body = fakeRepository(repoOf(repo), { defaultBranch: branch }, this.gh.urls);
    this.#checked("GET", path, 200, body);
    this.gh.rest("GET", path).reply(200, body);
    return this;
  }

  /**
   * `readFile`: `GET /repos/{owner}/{repo}/contents/{path}` (raw); `null` answers 404. With
   * `ref`, the request must ask for it.
   */
  file(repo: RepoRef, path: string, text: string | null, options: { ref?: string } = {}): this {
    this.gh.repositoryContent(repoOf(repo), path, text, options);
    return this;
  }

  // --- issues and comments -------------------------------------------------------------------

  /** `getIssue`: `GET /repos/{owner}/{repo}/issues/{issue_number}`; `null` answers 404. */
  issue(ref: IssueRef, fields: Omit<ListedIssue, "number"> | null = {}): this {
    const path = expandPath("/repos/{owner}/{repo}/issues/{issue_number}", {
      owner: ref.owner,
      repo: ref.repo,
      issue_number: ref.number,
    });
    if (fields === null) {
      this.gh.rest("GET", path).replyError(404);
      return this;
    }
    const body = listedIssue(repoOf(ref), { ...fields, number: ref.number }, this.gh.urls);
    this.#checked("GET", path, 200, body);
    this.gh.rest("GET", path).reply(200, body);
    return this;
  }

  /** `listComments`: `GET …/issues/{issue_number}/comments`, paginated. */
  comments(ref: IssueRef, comments: readonly CommentSpec[]): this {
    const repo = repoOf(ref);
    const bodies = comments.map((comment) =>
      fakeComment(repo, { ...comment, issueNumber: ref.number }, this.gh.urls),
    );
    return this.list(
      "/repos/{owner}/{repo}/issues/{issue_number}/comments",
      { ...repo, issue_number: ref.number },
      bodies,
    );
  }

  /** `createComment`: echoes the text sent (which must match `body` when given). */
  createComment(ref: IssueRef, options: { body?: string | RegExp; id?: number } = {}): this {
    this.gh.createComment(repoOf(ref), ref.number, options);
    return this;
  }

  /** `updateComment`: echoes the text sent (which must match `body` when given). */
  updateComment(
    repo: RepoRef,
    commentId: number,
    options: { body?: string | RegExp; issueNumber?: number } = {},
  ): this {
    this.gh.updateComment(repoOf(repo), commentId, options);
    return this;
  }

  /**
   * `isPullRequestMerged`: `GET /repos/{owner}/{repo}/pulls/{pull_number}/merge`, answering 204
   * when `merged`, else 404 (GitHub's answer for a PR that is not merged).
   */
  pullRequestMerged(pr: IssueRef, merged: boolean): this {
    const path = expandPath("/repos/{owner}/{repo}/pulls/{pull_number}/merge", {
      owner: pr.owner,
      repo: pr.repo,
      pull_number: pr.number,
    });
    if (merged) this.gh.rest("GET", path).reply(204);
    else this.gh.rest("GET", path).replyError(404);
    return this;
  }

  /**
   * `listIssuesWithLabels`: one paginated `GET /repos/{owner}/{repo}/issues?labels=…&state=all`
   * per label, in the order given (the order the port asks in). An issue may appear under
   * several labels; pull requests may be listed too.
   */
  issuesWithLabels(repo: RepoRef, byLabel: Record<string, readonly ListedIssue[]>): this {
    for (const [label, issues] of Object.entries(byLabel)) {
      this.list(
        "/repos/{owner}/{repo}/issues",
        { ...repo },
        issues.map((issue) =>
          listedIssue(repoOf(repo), { ...issue, labels: issue.labels ?? [label] }, this.gh.urls),
        ),
        { query: { labels: label, state: "all" } },
      );
    }
    return this;
  }

  /**
   * `lastLabeler` / `lastLabelers`: `GET /repos/{owner}/{repo}/issues/{n}/events` (paginated)
   * answering `events`, oldest first, as GitHub lists them: label events with their actor.
   */
  issueEvents(
    ref: IssueRef,
    events: readonly { event: "labeled" | "unlabeled"; label: string; actor: string }[],
  ): this {
    const api = `${this.gh.urls.api}/repos/${ref.owner}/${ref.repo}`;
    const bodies = events.map((spec, index) => {
      const id = 9_000_000 + ref.number * 100 + index;
      return {
        id,
        node_id: `LE_${id}`,
        url: `${api}/issues/events/${id}`,
        actor: fakeUser(spec.actor, this.gh.urls),
        event: spec.event,
        commit_id: null,
        commit_url: null,
        created_at: FIXTURE_TIME,
        performed_via_github_app: null,
        label: { name: spec.label, color: "ededed" },
      };
    });
    return this.list(
      "/repos/{owner}/{repo}/issues/{issue_number}/events",
      { owner: ref.owner, repo: ref.repo, issue_number: ref.number },
      bodies,
    );
  }

  // --- labels --------------------------------------------------------------------------------

  /**
   * `ensureLabels`: `GET /repos/{owner}/{repo}/labels` answering `existing` (paginated), then one
   * create for each of `create` (201), and for each of `raced` a create answered 422
   * `already_exists` (someone created it between the list and the create).
   */
  ensureLabels(
    repo: RepoRef,
    options: {
      existing: readonly string[];
      create?: readonly LabelDefinition[];
      raced?: readonly LabelDefinition[];
    },
  ): this {
    const base = repoOf(repo);
    this.list(
      "/repos/{owner}/{repo}/labels",
      { ...base },
      options.existing.map((name) => fakeLabel(base, { name }, this.gh.urls)),
    );
    for (const label of options.create ?? []) this.gh.createLabel(base, label);
    for (const label of options.raced ?? []) {
      this.gh
        .rest(
          "POST",
          expandPath("/repos/{owner}/{repo}/labels", { ...base }),
          {},
          {
            body: (body: unknown) =>
              typeof body === "object" &&
              body !== null &&
              (body as { name?: unknown }).name === label.name,
          },
        )
        .reply(422, {
          message: "Validation Failed",
          errors: [{ resource: "Label", code: "already_exists", field: "name" }],
          documentation_url: "https://docs.github.com/rest/issues/labels#create-a-label",
          status: "422",
        });
    }
    return this;
  }

  /** `addLabels`: exactly these labels (any order). */
  addLabels(ref: IssueRef, labels: string[], options: { existing?: string[] } = {}): this {
    this.gh.addLabels(repoOf(ref), ref.number, labels, options);
    return this;
  }

  /** `removeLabel`; `absent` answers 404 "Label does not exist" (which the port ignores). */
  removeLabel(
    ref: IssueRef,
    name: string,
    options: { remaining?: string[]; absent?: boolean } = {},
  ): this {
    this.gh.removeLabel(repoOf(ref), ref.number, name, options);
    return this;
  }

  // --- the issue's view in one request (writeIssueView) --------------------------------------

  /**
   * `labelNodeIds`: `GET /repos/{owner}/{repo}/labels` (paginated) answering kanbot's default
   * state and trigger labels and `extra`, with {@link fakeLabel}'s node ids. Read once per
   * repository per app (the ids are remembered).
   */
  labelNodeIds(repo: RepoRef, extra: readonly string[] = []): this {
    const base = repoOf(repo);
    const names = [...new Set([...STATE_LABEL_NAMES, ...extra])];
    return this.list(
      "/repos/{owner}/{repo}/labels",
      { ...base },
      names.map((name) => fakeLabel(base, { name }, this.gh.urls)),
    );
  }

  /** `commentNodeId`: `GET …/issues/comments/{comment_id}` (read once per comment per app). */
  commentNodeId(repo: RepoRef, commentId: number, issueNumber = 1): this {
    const base = repoOf(repo);
    const path = expandPath("/repos/{owner}/{repo}/issues/comments/{comment_id}", {
      ...base,
      comment_id: commentId,
    });
    const body = fakeComment(base, { id: commentId, issueNumber, body: "" }, this.gh.urls);
    this.#checked("GET", path, 200, body);
    this.gh.rest("GET", path).reply(200, body);
    return this;
  }

  /**
   * `writeIssueView`: the one `WriteIssueView` request, with exactly these labels removed and
   * added (by {@link fakeLabel}'s node ids), the card set to `card.option` (absent: no card part)
   * and the comment's body matching `comment.body` (absent: no comment part).
   */
  writeIssueView(
    ref: IssueRef,
    parts: {
      remove?: readonly string[];
      add?: readonly string[];
      card?: { board: ProjectBoard; itemId: string; option: string; field?: string };
      comment?: { id: number; body?: string | RegExp };
    },
  ): this {
    const base = repoOf(ref);
    const ids = (names: readonly string[] | undefined) =>
      (names ?? []).map((name) => fakeLabel(base, { name }, this.gh.urls).node_id);
    const { card, comment } = parts;
    const matches = (variables: Record<string, unknown>): boolean =>
      variables.issueId === issueNodeId(ref) &&
      isDeepStrictEqual(variables.removeLabelIds, ids(parts.remove)) &&
      isDeepStrictEqual(variables.addLabelIds, ids(parts.add)) &&
      variables.withRemoveLabels === (parts.remove ?? []).length > 0 &&
      variables.withAddLabels === (parts.add ?? []).length > 0 &&
      variables.withCard === (card !== undefined) &&
      (card === undefined ||
        (variables.projectId === card.board.id &&
          variables.itemId === card.itemId &&
          variables.fieldId === fieldId(card.board, card.field ?? "Status") &&
          variables.optionId === optionId(card.board, card.field ?? "Status", card.option))) &&
      variables.withComment === (comment !== undefined) &&
      (comment === undefined ||
        (variables.commentId ===
          fakeComment(base, { id: comment.id, issueNumber: ref.number, body: "" }).node_id &&
          (comment.body === undefined ||
            (typeof comment.body === "string"
              ? variables.body === comment.body
              : typeof variables.body === "string" && comment.body.test(variables.body)))));
    this.gh
      .graphql({ operationName: "WriteIssueView", variables: matches })
      .reply(200, { data: {} });
    return this;
  }

  // --- dependencies --------------------------------------------------------------------------

  /**
   * `listBlockedBy`: `GET …/issues/{issue_number}/dependencies/blocked_by`, paginated; `null`
   * answers 404 (a GitHub without issue dependencies).
   */
  blockedBy(ref: IssueRef, linked: readonly { ref: IssueRef; state: IssueState }[] | null): this {
    return this.#linked(
      "/repos/{owner}/{repo}/issues/{issue_number}/dependencies/blocked_by",
      ref,
      linked,
    );
  }

  /**
   * `listSubIssues`: `GET …/issues/{issue_number}/sub_issues`, paginated; `null` answers 404 (a
   * GitHub without sub-issues).
   */
  subIssues(ref: IssueRef, linked: readonly { ref: IssueRef; state: IssueState }[] | null): this {
    return this.#linked("/repos/{owner}/{repo}/issues/{issue_number}/sub_issues", ref, linked);
  }

  // --- the board (GraphQL) -------------------------------------------------------------------

  /** `findProject`: the `FindProject` query answered with `board` (see {@link fakeBoard}). */
  project(board: ProjectBoard): this {
    this.gh
      .graphql({
        operationName: "FindProject",
        variables: { owner: board.owner, number: board.number },
      })
      .reply(200, {
        data: {
          organization: {
            login: board.owner,
            projectV2: {
              id: board.id,
              number: board.number,
              title: board.title,
              fields: {
                // GitHub lists every field; those that are not single-select come back empty.
                nodes: [
                  {},
                  ...board.fields.map((field) => ({
                    id: field.id,
                    name: field.name,
                    options: field.options,
                  })),
                ],
              },
            },
          },
        },
      });
    return this;
  }

  /**
   * `findProject` for a project GitHub does not have (or the app cannot see): NOT_FOUND, as
   * GitHub answers; `organization: false` when the login is no organisation (a user's board).
   */
  noProject(owner: string, number: number, options: { organization?: boolean } = {}): this {
    const organization = options.organization ?? true;
    this.gh.graphql({ operationName: "FindProject", variables: { owner, number } }).reply(200, {
      data: { organization: organization ? { login: owner, projectV2: null } : null },
      errors: [
        organization
          ? notFound(
              ["organization", "projectV2"],
              `Could not resolve to a ProjectV2 with the number ${number}.`,
            )
          : notFound(
              ["organization"],
              `Could not resolve to an Organization with the login of '${owner}'.`,
            ),
      ],
    });
    return this;
  }

  /**
   * `findProjectItem`: the `IssueProjectItems` query for the issue, answering `item` on the board
   * (undefined: the issue is not on it) and `others` on other projects before it.
   */
  projectItem(
    board: ProjectBoard,
    issueId: string,
    item: ProjectItem | undefined,
    options: { others?: readonly ItemSpec[] } = {},
  ): this {
    const items: ItemSpec[] = [...(options.others ?? [])];
    if (item !== undefined) items.push({ id: item.id, projectId: board.id, values: item.values });
    return this.projectItems(issueId, items);
  }

  /**
   * The `IssueProjectItems` query answering `items` in pages of 50 (one request per page, each
   * asking `after` the previous page's cursor), up to `stopAfterPage` pages when the port stops
   * early (it stops at the page holding the board's item).
   */
  projectItems(
    issueId: string,
    items: readonly ItemSpec[],
    options: { stopAfterPage?: number } = {},
  ): this {
    const pages: ItemSpec[][] = [];
    for (let start = 0; start < items.length; start += PORT_GRAPHQL_PAGE_SIZE) {
      pages.push(items.slice(start, start + PORT_GRAPHQL_PAGE_SIZE));
    }
    if (pages.length === 0) pages.push([]);
    const asked = pages.slice(0, options.stopAfterPage ?? pages.length);
    asked.forEach((page, i) => {
      const after = i === 0 ? null : `cursor-${i}`;
      this.gh
        .graphql({ operationName: "IssueProjectItems", variables: { issueId, after } })
        .reply(200, {
          data: {
            node: {
              projectItems: {
                pageInfo: { hasNextPage: i + 1 < pages.length, endCursor: `cursor-${i + 1}` },
                nodes: page.map((entry) => ({
                  id: entry.id,
                  project: { id: entry.projectId },
                  fieldValues: fieldValues(entry.values),
                })),
              },
            },
          },
        });
    });
    return this;
  }

  /** `findProjectItem` for a node id GitHub does not know: `node: null` with NOT_FOUND. */
  noIssueNode(issueId: string): this {
    this.gh
      .graphql({ operationName: "IssueProjectItems", variables: { issueId, after: null } })
      .reply(200, {
        data: { node: null },
        errors: [
          notFound(["node"], `Could not resolve to a node with the global id of '${issueId}'`),
        ],
      });
    return this;
  }

  /** `addProjectItem`: the `AddProjectItem` mutation answering the new item `itemId`. */
  addProjectItem(
    board: ProjectBoard,
    issueId: string,
    itemId: string,
    values: Record<string, string> = {},
  ): this {
    this.gh
      .graphql({
        operationName: "AddProjectItem",
        variables: { projectId: board.id, contentId: issueId },
      })
      .reply(200, {
        data: { addProjectV2ItemById: { item: { id: itemId, fieldValues: fieldValues(values) } } },
      });
    return this;
  }

  /**
   * `setSingleSelect` of the board's `field` (default Status) to the option named `option`: the
   * `SetSingleSelect` mutation with the ids {@link fakeBoard} gave them.
   */
  setStatus(board: ProjectBoard, itemId: string, option: string, field = "Status"): this {
    this.gh
      .graphql({
        operationName: "SetSingleSelect",
        variables: {
          projectId: board.id,
          itemId,
          fieldId: fieldId(board, field),
          optionId: optionId(board, field, option),
        },
      })
      .reply(200, { data: { updateProjectV2ItemFieldValue: { projectV2Item: { id: itemId } } } });
    return this;
  }

  /**
   * `resolveProjectItem`: the `ResolveProjectItem` query for `itemId`. `issue: undefined` is a
   * draft issue (or a pull request); `null` is an item GitHub no longer has (NOT_FOUND).
   */
  resolveItem(
    itemId: string,
    resolved: {
      project: { owner: string; number: number };
      issue: IssueRef | undefined;
      values?: Record<string, string>;
      ownerType?: "Organization" | "User";
    } | null,
  ): this {
    if (resolved === null) {
      this.gh.graphql({ operationName: "ResolveProjectItem", variables: { itemId } }).reply(200, {
        data: { node: null },
        errors: [
          notFound(["node"], `Could not resolve to a node with the global id of '${itemId}'`),
        ],
      });
      return this;
    }
    const content =
      resolved.issue === undefined
        ? {}
        : {
            number: resolved.issue.number,
            repository: { name: resolved.issue.repo, owner: { login: resolved.issue.owner } },
          };
    this.gh.graphql({ operationName: "ResolveProjectItem", variables: { itemId } }).reply(200, {
      data: {
        node: {
          id: itemId,
          project: {
            number: resolved.project.number,
            owner: { login: resolved.project.owner },
          },
          content,
          fieldValues: fieldValues(resolved.values),
        },
      },
    });
    return this;
  }

  // --- internals -----------------------------------------------------------------------------

  #linked(
    template: string,
    ref: IssueRef,
    linked: readonly { ref: IssueRef; state: IssueState }[] | null,
  ): this {
    const params = { owner: ref.owner, repo: ref.repo, issue_number: ref.number };
    if (linked === null) {
      this.gh.rest("GET", expandPath(template, params), {}, { query: true }).replyError(404);
      return this;
    }
    return this.list(
      template,
      params,
      linked.map((entry) =>
        fakeIssue(
          repoOf(entry.ref),
          { number: entry.ref.number, state: entry.state },
          this.gh.urls,
        ),
      ),
    );
  }

  #checked(method: HttpMethod, path: string, status: number, body: unknown): void {
    const operation = resolveRestOperation(method, path, this.gh.openapi);
    const problems = checkResponseShape(operation, status, body);
    if (problems.length > 0) {
      throw new Error(
        `port mocks: the ${operation.operationId} body is not shaped like GitHub's:\n${problems.join("\n")}`,
      );
    }
  }
}

/** `{ owner, repo }` of a ref (dropping `number`, which the mock's RepoRef does not take). */
function repoOf(ref: RepoRef): RepoRef {
  return { owner: ref.owner, repo: ref.repo };
}
