/**
 * Named strict-mock helpers for every call the pull-request port
 * (src/github/octokit-pull-request-port.ts) makes, one or more per port method, on top of the
 * strict mock of ./github-mock.ts. REST bodies are checked against GitHub's OpenAPI description
 * when declared, GraphQL answers follow src/github/pull-request-graphql.ts, and lists are
 * paginated as GitHub does (`per_page`, `page`, `Link` headers):
 *
 *   const gh = setupGitHubMock();
 *   const ghpr = pullRequestMocks(gh);
 *   ghpr.createDraftPullRequest(repo, { number: 7, head: "kanbot/1-dark-mode", title: "Dark mode" })
 *     .createCheckRun(repo, { head_sha: fakeSha("head"), status: "completed" }, { id: 55 })
 *     .checkRuns(repo, fakeSha("head"), [{ name: "test", conclusion: "success" }]);
 *
 * Each helper returns the helpers, for chaining; `ghpr.gh` is the underlying mock. The Actions
 * log download is answered by a second host (GitHub's redirect target): check
 * `ghpr.pendingDownloads()` is empty at the end of such a test.
 */
import { createHash } from "node:crypto";
import nock from "nock";
import type { IssueRef, RepoRef } from "../../src/domain/dependencies.js";
import type {
  CheckConclusion,
  CheckRunOutput,
  CheckStatus,
  CommitStatusState,
  MergeMethod,
} from "../../src/github/pull-request-port.js";
import { FIXTURE_TIME, fakeUser, stableId, type GitHubUrls } from "./github-fixtures.js";
import type { GitHubMock } from "./github-mock.js";
import {
  checkResponseShape,
  expandPath,
  resolveRestOperation,
  type HttpMethod,
} from "./github-openapi.js";
import { fakeRepository } from "./github-port-mocks.js";

/** The page size the port asks for on every REST list. */
export const PR_PORT_PAGE_SIZE = 100;
/** The app id GitHub Actions has on github.com. */
export const GITHUB_ACTIONS_APP_ID = 15368;
/** Where GitHub redirects a job log download in these tests (a blob store, not the API host). */
export const LOG_DOWNLOAD_ORIGIN = "https://results-receiver.blob.core.windows.net";

// ---------------------------------------------------------------------------------------------
// Fixtures

/** A 40-hex commit id derived from `text`, stable across runs. */
export function fakeSha(text: string): string {
  return createHash("sha1").update(`commit:${text}`).digest("hex");
}

function nodeIdOf(prefix: string, id: number): string {
  return `${prefix}_${Buffer.from(String(id)).toString("base64url")}`;
}

/** The GraphQL node id {@link fakePullRequest} gives pull request `number` of `repo`. */
export function pullRequestNodeId(ref: IssueRef): string {
  return nodeIdOf("PR", stableId(`pull:${ref.owner}/${ref.repo}#${ref.number}`));
}

/** A pull request GitHub holds. */
export interface PullRequestSpec {
  number: number;
  /** The head branch. */
  head: string;
  /** Default `main`. */
  base?: string;
  headSha?: string;
  baseSha?: string;
  title?: string;
  body?: string | null;
  state?: "open" | "closed";
  merged?: boolean;
  draft?: boolean;
  /** Default `kanbot[bot]`. */
  author?: string;
  requestedReviewers?: string[];
  requestedTeams?: string[];
  mergeable?: boolean | null;
  mergeableState?: string;
  /** The owner of the head's repository when it is a fork. */
  forkOwner?: string;
}

/** A `pull-request` (which also satisfies `pull-request-simple`, what lists answer). */
export function fakePullRequest(repo: RepoRef, spec: PullRequestSpec, urls: GitHubUrls) {
  const id = stableId(`pull:${repo.owner}/${repo.repo}#${spec.number}`);
  const repoApi = `${urls.api}/repos/${repo.owner}/${repo.repo}`;
  const api = `${repoApi}/pulls/${spec.number}`;
  const html = `${urls.web}/${repo.owner}/${repo.repo}/pull/${spec.number}`;
  const issue = `${repoApi}/issues/${spec.number}`;
  const headSha = spec.headSha ?? fakeSha(`head:${spec.head}`);
  const base = spec.base ?? "main";
  const merged = spec.merged ?? false;
  const state = merged ? "closed" : (spec.state ?? "open");
  const headOwner = spec.forkOwner ?? repo.owner;
  const ref = (owner: string, branch: string, sha: string) => ({
    label: `${owner}:${branch}`,
    ref: branch,
    sha,
    user: fakeUser(owner, urls),
    repo: fakeRepository({ owner, repo: repo.repo }, {}, urls),
  });
  return {
    url: api,
    id,
    node_id: pullRequestNodeId({ ...repo, number: spec.number }),
    html_url: html,
    diff_url: `${html}.diff`,
    patch_url: `${html}.patch`,
    issue_url: issue,
    commits_url: `${api}/commits`,
    review_comments_url: `${api}/comments`,
    review_comment_url: `${repoApi}/pulls/comments{/number}`,
    comments_url: `${issue}/comments`,
    statuses_url: `${repoApi}/statuses/${headSha}`,
    number: spec.number,
    state,
    locked: false,
    title: spec.title ?? `Pull request ${spec.number}`,
    user: fakeUser(spec.author ?? "kanbot[bot]", urls),
    body: spec.body === undefined ? "" : spec.body,
    labels: [],
    milestone: null,
    active_lock_reason: null,
    created_at: FIXTURE_TIME,
    updated_at: FIXTURE_TIME,
    closed_at: state === "closed" ? FIXTURE_TIME : null,
    merged_at: merged ? FIXTURE_TIME : null,
    merge_commit_sha: merged ? fakeSha(`merge:${spec.number}`) : null,
    assignee: null,
    assignees: [],
    requested_reviewers: (spec.requestedReviewers ?? []).map((login) => fakeUser(login, urls)),
    requested_teams: (spec.requestedTeams ?? []).map((slug) => fakeTeam(repo.owner, slug, urls)),
    head: ref(headOwner, spec.head, headSha),
    base: ref(repo.owner, base, spec.baseSha ?? fakeSha(`base:${base}`)),
    _links: {
      self: { href: api },
      html: { href: html },
      issue: { href: issue },
      comments: { href: `${issue}/comments` },
      review_comments: { href: `${api}/comments` },
      review_comment: { href: `${repoApi}/pulls/comments{/number}` },
      commits: { href: `${api}/commits` },
      statuses: { href: `${repoApi}/statuses/${headSha}` },
    },
    author_association: "NONE",
    auto_merge: null,
    draft: spec.draft ?? false,
    merged,
    mergeable: spec.mergeable === undefined ? true : spec.mergeable,
    rebaseable: true,
    mergeable_state: spec.mergeableState ?? "clean",
    merged_by: merged ? fakeUser("octocat", urls) : null,
    comments: 0,
    review_comments: 0,
    maintainer_can_modify: false,
    commits: 1,
    additions: 1,
    deletions: 0,
    changed_files: 1,
  };
}

function fakeTeam(org: string, slug: string, urls: GitHubUrls) {
  const id = stableId(`team:${org}/${slug}`);
  const api = `${urls.api}/organizations/${stableId(`user:${org}`)}/team/${id}`;
  return {
    id,
    node_id: nodeIdOf("T", id),
    url: api,
    html_url: `${urls.web}/orgs/${org}/teams/${slug}`,
    name: slug,
    slug,
    description: null,
    privacy: "closed",
    permission: "pull",
    type: "organization",
    members_url: `${api}/members{/member}`,
    repositories_url: `${api}/repos`,
    parent: null,
  };
}

/** A GitHub App as check runs and suites name it (`integration`). */
export function fakeIntegration(slug: string, id: number, urls: GitHubUrls) {
  return {
    id,
    slug,
    node_id: nodeIdOf("A", id),
    client_id: `Iv1.${String(id).padStart(16, "0")}`,
    owner: fakeUser(slug === "github-actions" ? "github" : "octo-org", urls),
    name: slug === "github-actions" ? "GitHub Actions" : slug,
    description: null,
    external_url: `${urls.web}/apps/${slug}`,
    html_url: `${urls.web}/apps/${slug}`,
    created_at: FIXTURE_TIME,
    updated_at: FIXTURE_TIME,
    permissions: { checks: "write", metadata: "read" },
    events: ["check_suite"],
  };
}

/** A check run GitHub holds. */
export interface CheckRunSpec {
  /** Default: derived from name, sha and app (or `actions.jobId`). */
  id?: number;
  name: string;
  headSha: string;
  /** Default `completed` when a conclusion is given, else `in_progress`. */
  status?: CheckStatus;
  conclusion?: CheckConclusion | null;
  /** Default `github-actions`. */
  app?: string;
  appId?: number;
  externalId?: string | null;
  detailsUrl?: string | null;
  output?: Partial<CheckRunOutput> & { annotationsCount?: number };
  startedAt?: string;
  completedAt?: string | null;
  checkSuiteId?: number;
  /** A GitHub Actions job: the run's id is the job id and the details URL names the run. */
  actions?: { runId: number; jobId: number };
}

/** A `check-run` of `repo`. */
export function fakeCheckRun(repo: RepoRef, spec: CheckRunSpec, urls: GitHubUrls) {
  const app = spec.app ?? "github-actions";
  const id =
    spec.id ??
    spec.actions?.jobId ??
    stableId(`check-run:${repo.owner}/${repo.repo}:${spec.headSha}:${spec.name}:${app}`);
  const conclusion = spec.conclusion ?? null;
  const status = spec.status ?? (conclusion === null ? "in_progress" : "completed");
  const repoApi = `${urls.api}/repos/${repo.owner}/${repo.repo}`;
  const html = `${urls.web}/${repo.owner}/${repo.repo}`;
  const detailsUrl =
    spec.detailsUrl !== undefined
      ? spec.detailsUrl
      : spec.actions !== undefined
        ? `${html}/actions/runs/${spec.actions.runId}/job/${spec.actions.jobId}`
        : `${html}/runs/${id}`;
  return {
    id,
    node_id: nodeIdOf("CR", id),
    head_sha: spec.headSha,
    external_id: spec.externalId === undefined ? "" : spec.externalId,
    url: `${repoApi}/check-runs/${id}`,
    html_url: `${html}/runs/${id}`,
    details_url: detailsUrl,
    status,
    conclusion,
    started_at: spec.startedAt ?? FIXTURE_TIME,
    completed_at:
      spec.completedAt !== undefined
        ? spec.completedAt
        : status === "completed"
          ? FIXTURE_TIME
          : null,
    output: {
      title: spec.output?.title ?? null,
      summary: spec.output?.summary ?? null,
      text: spec.output?.text ?? null,
      annotations_count: spec.output?.annotationsCount ?? 0,
      annotations_url: `${repoApi}/check-runs/${id}/annotations`,
    },
    name: spec.name,
    check_suite: { id: spec.checkSuiteId ?? stableId(`suite:${spec.headSha}:${app}`) },
    app: fakeIntegration(app, spec.appId ?? appIdOf(app), urls),
    pull_requests: [],
  };
}

function appIdOf(slug: string): number {
  return slug === "github-actions" ? GITHUB_ACTIONS_APP_ID : stableId(`app:${slug}`);
}

/** A commit status GitHub holds. */
export interface StatusSpec {
  id?: number;
  context: string;
  state: CommitStatusState;
  description?: string | null;
  targetUrl?: string | null;
  createdAt?: string;
  /** Default `ci-bot`. */
  creator?: string;
}

/** A `status` on commit `sha` of `repo`. */
export function fakeStatus(repo: RepoRef, sha: string, spec: StatusSpec, urls: GitHubUrls) {
  const id = spec.id ?? stableId(`status:${sha}:${spec.context}:${spec.state}`);
  return {
    url: `${urls.api}/repos/${repo.owner}/${repo.repo}/statuses/${sha}`,
    avatar_url: null,
    id,
    node_id: nodeIdOf("SC", id),
    state: spec.state,
    description: spec.description === undefined ? null : spec.description,
    target_url: spec.targetUrl === undefined ? null : spec.targetUrl,
    context: spec.context,
    created_at: spec.createdAt ?? FIXTURE_TIME,
    updated_at: spec.createdAt ?? FIXTURE_TIME,
    creator: fakeUser(spec.creator ?? "ci-bot", urls),
  };
}

export interface AnnotationSpec {
  path: string;
  line: number;
  endLine?: number;
  level?: "notice" | "warning" | "failure";
  title?: string | null;
  message: string;
  rawDetails?: string | null;
}

/** A `check-annotation`. */
export function fakeAnnotation(repo: RepoRef, spec: AnnotationSpec, urls: GitHubUrls) {
  return {
    path: spec.path,
    blob_href: `${urls.web}/${repo.owner}/${repo.repo}/blob/${fakeSha("head")}/${spec.path}`,
    start_line: spec.line,
    end_line: spec.endLine ?? spec.line,
    start_column: null,
    end_column: null,
    annotation_level: spec.level ?? "failure",
    title: spec.title === undefined ? null : spec.title,
    message: spec.message,
    raw_details: spec.rawDetails === undefined ? null : spec.rawDetails,
  };
}

export interface ReviewCommentSpec {
  id: number;
  reviewId?: number | null;
  path: string;
  line?: number | null;
  startLine?: number | null;
  side?: "LEFT" | "RIGHT";
  body: string;
  /** Default `alice`. */
  author?: string;
  inReplyTo?: number;
}

/** A `pull-request-review-comment` (and `review-comment`, what a review's list answers). */
export function fakeReviewComment(pr: IssueRef, spec: ReviewCommentSpec, urls: GitHubUrls) {
  const repoApi = `${urls.api}/repos/${pr.owner}/${pr.repo}`;
  const prApi = `${repoApi}/pulls/${pr.number}`;
  const html = `${urls.web}/${pr.owner}/${pr.repo}/pull/${pr.number}#discussion_r${spec.id}`;
  return {
    url: `${repoApi}/pulls/comments/${spec.id}`,
    id: spec.id,
    node_id: nodeIdOf("PRRC", spec.id),
    pull_request_review_id: spec.reviewId === undefined ? 900 : spec.reviewId,
    diff_hunk: "@@ -1,3 +1,3 @@",
    path: spec.path,
    position: spec.line ?? null,
    original_position: spec.line ?? 1,
    commit_id: fakeSha("head"),
    original_commit_id: fakeSha("head"),
    ...(spec.inReplyTo === undefined ? {} : { in_reply_to_id: spec.inReplyTo }),
    user: fakeUser(spec.author ?? "alice", urls),
    body: spec.body,
    created_at: FIXTURE_TIME,
    updated_at: FIXTURE_TIME,
    html_url: html,
    pull_request_url: prApi,
    author_association: "MEMBER",
    _links: {
      self: { href: `${repoApi}/pulls/comments/${spec.id}` },
      html: { href: html },
      pull_request: { href: prApi },
    },
    // GitHub leaves `line` out for a comment on a line the diff no longer has.
    ...(spec.line === null ? {} : { line: spec.line ?? 1 }),
    start_line: spec.startLine ?? null,
    side: spec.side ?? "RIGHT",
    original_line: spec.line ?? 1,
  };
}

/** A review of a pull request. */
export interface ReviewSpec {
  id: number;
  /** Default `bob`. */
  author?: string;
  state: "APPROVED" | "CHANGES_REQUESTED" | "COMMENTED" | "DISMISSED" | "PENDING";
  body?: string;
  /** The head the reviewer saw; null: GitHub does not say. */
  commitId: string | null;
  /** Default FIXTURE_TIME; left out for a pending review. */
  submittedAt?: string;
}

/** A `pull-request-review`. */
export function fakeReview(pr: IssueRef, spec: ReviewSpec, urls: GitHubUrls) {
  const prApi = `${urls.api}/repos/${pr.owner}/${pr.repo}/pulls/${pr.number}`;
  const html = `${urls.web}/${pr.owner}/${pr.repo}/pull/${pr.number}#pullrequestreview-${spec.id}`;
  return {
    id: spec.id,
    node_id: nodeIdOf("PRR", spec.id),
    user: fakeUser(spec.author ?? "bob", urls),
    body: spec.body ?? "",
    state: spec.state,
    html_url: html,
    pull_request_url: prApi,
    _links: { html: { href: html }, pull_request: { href: prApi } },
    ...(spec.state === "PENDING" ? {} : { submitted_at: spec.submittedAt ?? FIXTURE_TIME }),
    commit_id: spec.commitId,
    author_association: "MEMBER",
  };
}

/** A required check as branch protection or a ruleset names it. */
export interface RequiredCheckSpec {
  context: string;
  appId?: number;
}

/**
 * A branch for "Get a branch": `requiredChecks` makes it protected the classic way with those
 * required checks (`checks` with `app_id` and the legacy `contexts`, or only `contexts` with
 * `contextsOnly`); without it the branch is unprotected, as GitHub's example answers.
 */
export interface BranchSpec {
  sha?: string;
  requiredChecks?: readonly RequiredCheckSpec[];
  contextsOnly?: boolean;
  /** `non_admins` by default for a protected branch; `off` for an unprotected one. */
  enforcementLevel?: "off" | "non_admins" | "everyone";
}

/** "Get a branch" (`repos/get-branch`), with its protection summary. */
export function fakeBranch(repo: RepoRef, name: string, spec: BranchSpec, urls: GitHubUrls) {
  const sha = spec.sha ?? fakeSha(`branch:${repo.owner}/${repo.repo}:${name}`);
  const repoApi = `${urls.api}/repos/${repo.owner}/${repo.repo}`;
  const repoWeb = `${urls.web}/${repo.owner}/${repo.repo}`;
  const branchApi = `${repoApi}/branches/${encodeURIComponent(name)}`;
  const parent = fakeSha(`parent:${sha}`);
  const required = spec.requiredChecks;
  const gitUser = { name: "Octo Cat", email: "octocat@example.com", date: FIXTURE_TIME };
  return {
    name,
    commit: {
      sha,
      node_id: `C_${sha.slice(0, 20)}`,
      url: `${repoApi}/commits/${sha}`,
      html_url: `${repoWeb}/commit/${sha}`,
      comments_url: `${repoApi}/commits/${sha}/comments`,
      commit: {
        author: gitUser,
        committer: gitUser,
        message: "Initial commit",
        tree: {
          sha: fakeSha(`tree:${sha}`),
          url: `${repoApi}/git/trees/${fakeSha(`tree:${sha}`)}`,
        },
        url: `${repoApi}/git/commits/${sha}`,
        comment_count: 0,
      },
      author: fakeUser("octocat", urls),
      committer: fakeUser("octocat", urls),
      parents: [
        {
          sha: parent,
          url: `${repoApi}/commits/${parent}`,
          html_url: `${repoWeb}/commit/${parent}`,
        },
      ],
    },
    _links: { self: branchApi, html: `${repoWeb}/tree/${name}` },
    protected: required !== undefined,
    protection:
      required === undefined
        ? {
            enabled: false,
            required_status_checks: {
              enforcement_level: spec.enforcementLevel ?? "off",
              contexts: [],
              checks: [],
            },
          }
        : {
            enabled: true,
            required_status_checks: {
              enforcement_level: spec.enforcementLevel ?? "non_admins",
              contexts: required.map((check) => check.context),
              checks:
                spec.contextsOnly === true
                  ? []
                  : required.map((check) => ({
                      context: check.context,
                      app_id: check.appId ?? null,
                    })),
            },
          },
    protection_url: `${branchApi}/protection`,
  };
}

// ---------------------------------------------------------------------------------------------

/** Named mocks for each pull-request port call, on `gh`. */
export function pullRequestMocks(gh: GitHubMock): PullRequestPortMocks {
  return new PullRequestPortMocks(gh);
}

export class PullRequestPortMocks {
  readonly #downloads: nock.Scope[] = [];

  constructor(readonly gh: GitHubMock) {}

  // --- plumbing ------------------------------------------------------------------------------

  /**
   * A paginated REST list as GitHub serves it: `items` in pages of `perPage` (default 100), each
   * page a request with `per_page` (and `page` after the first) plus `query`, linked with `Link`
   * headers. `askedPages` mocks only the first pages, for a port that stops early.
   */
  list(
    template: string,
    params: Record<string, string | number>,
    items: readonly unknown[],
    options: {
      query?: Record<string, string>;
      wrap?: (page: unknown[]) => Record<string, unknown>;
      perPage?: number;
      askedPages?: number;
    } = {},
  ): this {
    const perPage = options.perPage ?? PR_PORT_PAGE_SIZE;
    const path = expandPath(template, params);
    const operation = resolveRestOperation("GET", path, this.gh.openapi);
    const pages: unknown[][] = [];
    for (let start = 0; start < items.length; start += perPage) {
      pages.push(items.slice(start, start + perPage));
    }
    if (pages.length === 0) pages.push([]);
    const query = (page: number): Record<string, string> => ({
      ...options.query,
      per_page: String(perPage),
      ...(page > 1 ? { page: String(page) } : {}),
    });
    const pageUrl = (page: number): string =>
      `${this.gh.baseUrl}${path}?${new URLSearchParams(query(page)).toString()}`;
    pages.slice(0, options.askedPages ?? pages.length).forEach((page, i) => {
      const number = i + 1;
      const body = options.wrap === undefined ? page : options.wrap(page);
      const problems = checkResponseShape(operation, 200, body);
      if (problems.length > 0) {
        throw new Error(
          `pull-request mocks: the ${operation.operationId} page is not shaped like GitHub's:\n${problems.join("\n")}`,
        );
      }
      const links: string[] = [];
      if (number < pages.length) {
        links.push(
          `<${pageUrl(number + 1)}>; rel="next"`,
          `<${pageUrl(pages.length)}>; rel="last"`,
        );
      }
      if (number > 1) {
        links.push(`<${pageUrl(number - 1)}>; rel="prev"`, `<${pageUrl(1)}>; rel="first"`);
      }
      this.gh
        .rest("GET", path, {}, { query: query(number) })
        .reply(200, body, links.length > 0 ? { link: links.join(", ") } : {});
    });
    return this;
  }

  /** A REST answer whose body must be shaped like GitHub's for that status. */
  #answer(
    method: HttpMethod,
    path: string,
    status: number,
    body: nock.Body,
    options: { body?: (sent: Record<string, unknown>) => boolean } = {},
  ): this {
    const operation = resolveRestOperation(method, path, this.gh.openapi);
    const problems = checkResponseShape(operation, status, body);
    if (problems.length > 0) {
      throw new Error(
        `pull-request mocks: the ${operation.operationId} ${status} body is not shaped like GitHub's:\n${problems.join("\n")}`,
      );
    }
    const matcher = options.body;
    this.gh
      .rest(
        method,
        path,
        {},
        matcher === undefined ? {} : { body: (sent: unknown) => isRecord(sent) && matcher(sent) },
      )
      .reply(status, body);
    return this;
  }

  /** GitHub's validation error (422) with one error message, as it answers a refused change. */
  #validationFailed(
    method: HttpMethod,
    path: string,
    message: string,
    options: { body?: (sent: Record<string, unknown>) => boolean } = {},
  ): this {
    const matcher = options.body;
    this.gh
      .rest(
        method,
        path,
        {},
        matcher === undefined ? {} : { body: (sent: unknown) => isRecord(sent) && matcher(sent) },
      )
      .reply(422, {
        message: "Validation Failed",
        errors: [{ resource: "PullRequest", code: "custom", message }],
        documentation_url: "https://docs.github.com/rest/pulls/pulls#create-a-pull-request",
        status: "422",
      });
    return this;
  }

  /** Download mocks (the redirect target host) not requested yet. */
  pendingDownloads(): string[] {
    return this.#downloads.flatMap((scope) => scope.pendingMocks());
  }

  // --- pull requests -------------------------------------------------------------------------

  /**
   * `createDraftPullRequest` after a 422 (GitHub has a PR for the head already): the open PRs of
   * the head, `GET /repos/{owner}/{repo}/pulls` with `head=owner:branch&state=open`, paginated.
   */
  pullRequestsForBranch(
    repo: RepoRef,
    branch: string,
    pulls: readonly Omit<PullRequestSpec, "head">[],
    options: { state?: "open" } = {},
  ): this {
    return this.list(
      "/repos/{owner}/{repo}/pulls",
      { ...repo },
      pulls.map((pr) => fakePullRequest(repo, { ...pr, head: branch }, this.gh.urls)),
      { query: { head: `${repo.owner}:${branch}`, state: options.state ?? "open" } },
    );
  }

  /** `getPullRequest`: `GET /repos/{owner}/{repo}/pulls/{pull_number}`; `null` answers 404. */
  pullRequest(ref: IssueRef, spec: Omit<PullRequestSpec, "number"> | null): this {
    const path = pullPath(ref);
    if (spec === null) {
      this.gh.rest("GET", path).replyError(404);
      return this;
    }
    return this.#answer(
      "GET",
      path,
      200,
      fakePullRequest(ref, { ...spec, number: ref.number }, this.gh.urls),
    );
  }

  /**
   * `createDraftPullRequest`: `POST /repos/{owner}/{repo}/pulls` with this head, base, title and
   * body (each when given) and `draft` (default true) -> 201 with PR `spec.number`.
   */
  createDraftPullRequest(
    repo: RepoRef,
    spec: PullRequestSpec,
    options: { draft?: boolean } = {},
  ): this {
    const draft = options.draft ?? true;
    return this.#answer(
      "POST",
      expandPath("/repos/{owner}/{repo}/pulls", { ...repo }),
      201,
      fakePullRequest(repo, { ...spec, draft }, this.gh.urls),
      { body: (sent) => sent.draft === draft && sentMatches(sent, prFields(spec)) },
    );
  }

  /** `createDraftPullRequest` when GitHub has a PR for the head already: 422. */
  pullRequestExists(repo: RepoRef, head: string): this {
    return this.#validationFailed(
      "POST",
      expandPath("/repos/{owner}/{repo}/pulls", { ...repo }),
      `A pull request already exists for ${repo.owner}:${head}.`,
      { body: (sent) => sent.head === head },
    );
  }

  /** `createDraftPullRequest` on a repository without drafts: 422 for `draft: true`. */
  draftsNotSupported(repo: RepoRef, head: string): this {
    return this.#validationFailed(
      "POST",
      expandPath("/repos/{owner}/{repo}/pulls", { ...repo }),
      "Draft pull requests are not supported in this repository.",
      { body: (sent) => sent.head === head && sent.draft === true },
    );
  }

  /** `updatePullRequest`: `PATCH …/pulls/{pull_number}` sending exactly `changes`. */
  updatePullRequest(
    ref: IssueRef,
    changes: { title?: string; body?: string },
    spec: Omit<PullRequestSpec, "number">,
  ): this {
    return this.#answer(
      "PATCH",
      pullPath(ref),
      200,
      fakePullRequest(ref, { ...spec, ...changes, number: ref.number }, this.gh.urls),
      { body: (sent) => JSON.stringify(sortKeys(sent)) === JSON.stringify(sortKeys(changes)) },
    );
  }

  /** `markReadyForReview`: the `MarkPullRequestReady` mutation for `nodeId`. */
  markReady(nodeId: string): this {
    this.gh
      .graphql({ operationName: "MarkPullRequestReady", variables: { pullRequestId: nodeId } })
      .reply(200, {
        data: { markPullRequestReadyForReview: { pullRequest: { id: nodeId, isDraft: false } } },
      });
    return this;
  }

  /**
   * `requestReviewers`: `POST …/pulls/{pull_number}/requested_reviewers` with exactly
   * `reviewers` -> 201, or 422 with `refused` as GitHub's message.
   */
  requestReviewers(
    ref: IssueRef,
    reviewers: readonly string[],
    options: { refused?: string; head?: string } = {},
  ): this {
    const path = expandPath("/repos/{owner}/{repo}/pulls/{pull_number}/requested_reviewers", {
      owner: ref.owner,
      repo: ref.repo,
      pull_number: ref.number,
    });
    const body = (sent: Record<string, unknown>) =>
      JSON.stringify(sent.reviewers) === JSON.stringify(reviewers);
    if (options.refused !== undefined) {
      this.gh
        .rest("POST", path, {}, { body: (sent: unknown) => isRecord(sent) && body(sent) })
        .replyError(422, options.refused);
      return this;
    }
    return this.#answer(
      "POST",
      path,
      201,
      fakePullRequest(
        ref,
        {
          number: ref.number,
          head: options.head ?? "kanbot/1-task",
          requestedReviewers: [...reviewers],
        },
        this.gh.urls,
      ),
      { body },
    );
  }

  /**
   * `merge`: `PUT …/pulls/{pull_number}/merge` with `merge_method` (and `sha` when given) ->
   * 200 with the merge commit `merged`, or `status` 405/409 with `message`.
   */
  merge(
    ref: IssueRef,
    request: { method: MergeMethod; sha?: string },
    answer: { merged: string } | { status: 405 | 409 | 422 | 403; message: string },
  ): this {
    const path = expandPath("/repos/{owner}/{repo}/pulls/{pull_number}/merge", {
      owner: ref.owner,
      repo: ref.repo,
      pull_number: ref.number,
    });
    const body = (sent: Record<string, unknown>) =>
      sent.merge_method === request.method && sent.sha === request.sha;
    if ("status" in answer) {
      this.gh
        .rest("PUT", path, {}, { body: (sent: unknown) => isRecord(sent) && body(sent) })
        .replyError(answer.status, answer.message);
      return this;
    }
    return this.#answer(
      "PUT",
      path,
      200,
      { sha: answer.merged, merged: true, message: "Pull Request successfully merged" },
      { body },
    );
  }

  /**
   * `deleteBranch`: `DELETE /repos/{owner}/{repo}/git/refs/heads/{branch}` -> 204, or the branch
   * already gone: 422 "Reference does not exist" (what GitHub answers) or 404.
   */
  deleteBranch(repo: RepoRef, branch: string, options: { gone?: 404 | 422 } = {}): this {
    const path = expandPath("/repos/{owner}/{repo}/git/refs/{ref}", {
      ...repo,
      ref: `heads/${branch}`,
    });
    if (options.gone === 422) {
      this.gh.rest("DELETE", path).replyError(422, "Reference does not exist");
    } else if (options.gone === 404) {
      this.gh.rest("DELETE", path).replyError(404);
    } else {
      this.gh.rest("DELETE", path).reply(204, "");
    }
    return this;
  }

  // --- checks --------------------------------------------------------------------------------

  /**
   * `createCheckRun`: `POST /repos/{owner}/{repo}/check-runs` whose body contains `expected`
   * (deep-equal per field) -> 201 echoing what was sent, with id `id`.
   */
  createCheckRun(
    repo: RepoRef,
    expected: Record<string, unknown> & { head_sha: string },
    options: { id?: number } = {},
  ): this {
    const path = expandPath("/repos/{owner}/{repo}/check-runs", { ...repo });
    const id = options.id ?? 5001;
    const sample = this.#echoCheckRun(repo, id, { name: "kanbot", ...expected });
    this.#shape("POST", path, 201, sample);
    this.gh
      .rest(
        "POST",
        path,
        {},
        { body: (sent: unknown) => isRecord(sent) && sentMatches(sent, expected) },
      )
      .reply(201, (_uri, sent) => this.#echoCheckRun(repo, id, isRecord(sent) ? sent : {}));
    return this;
  }

  /** `listCheckRuns`: `GET …/commits/{ref}/check-runs?filter=all`, paginated. */
  checkRuns(repo: RepoRef, sha: string, runs: readonly Omit<CheckRunSpec, "headSha">[]): this {
    return this.list(
      "/repos/{owner}/{repo}/commits/{ref}/check-runs",
      { ...repo, ref: sha },
      runs.map((run) => fakeCheckRun(repo, { ...run, headSha: sha }, this.gh.urls)),
      {
        query: { filter: "all" },
        wrap: (page) => ({ total_count: runs.length, check_runs: page }),
      },
    );
  }

  /** `listCommitStatuses`: `GET …/commits/{ref}/statuses`, paginated (newest first). */
  commitStatuses(repo: RepoRef, sha: string, statuses: readonly StatusSpec[]): this {
    return this.list(
      "/repos/{owner}/{repo}/commits/{ref}/statuses",
      { ...repo, ref: sha },
      statuses.map((status) => fakeStatus(repo, sha, status, this.gh.urls)),
    );
  }

  /**
   * `branchProtectionRequiredChecks`: "Get a branch" (`GET /repos/{owner}/{repo}/branches/{branch}`)
   * answering the branch with classic protection requiring `checks` (see `BranchSpec` for the
   * options), `"unprotected"` (GitHub's answer for a branch without protection), or 404/403.
   */
  branchProtection(
    repo: RepoRef,
    branch: string,
    checks: readonly RequiredCheckSpec[] | "unprotected" | 403 | 404,
    options: Omit<BranchSpec, "requiredChecks"> = {},
  ): this {
    const path = expandPath("/repos/{owner}/{repo}/branches/{branch}", { ...repo, branch });
    if (checks === 404) {
      this.gh.rest("GET", path).replyError(404, "Branch not found");
      return this;
    }
    if (checks === 403) {
      this.gh.rest("GET", path).replyError(403, "Resource not accessible by integration");
      return this;
    }
    const spec: BranchSpec =
      checks === "unprotected" ? options : { ...options, requiredChecks: checks };
    return this.#answer("GET", path, 200, fakeBranch(repo, branch, spec, this.gh.urls));
  }

  /**
   * `rulesetRequiredChecks`: `GET /repos/{owner}/{repo}/rules/branches/{branch}` (paginated)
   * answering one `required_status_checks` rule per entry of `rulesets` and a `deletion` rule,
   * or 404/403.
   */
  branchRules(
    repo: RepoRef,
    branch: string,
    rulesets: readonly (readonly RequiredCheckSpec[])[] | 403 | 404,
  ): this {
    const params = { ...repo, branch };
    if (rulesets === 403 || rulesets === 404) {
      this.gh
        .rest(
          "GET",
          expandPath("/repos/{owner}/{repo}/rules/branches/{branch}", params),
          {},
          { query: true },
        )
        .replyError(rulesets);
      return this;
    }
    const source = {
      ruleset_source_type: "Repository",
      ruleset_source: `${repo.owner}/${repo.repo}`,
    };
    const rules = [
      { type: "deletion", ...source, ruleset_id: 1 },
      ...rulesets.map((checks, i) => ({
        type: "required_status_checks",
        parameters: {
          strict_required_status_checks_policy: false,
          required_status_checks: checks.map((check) => ({
            context: check.context,
            ...(check.appId === undefined ? {} : { integration_id: check.appId }),
          })),
        },
        ...source,
        ruleset_id: i + 2,
      })),
    ];
    return this.list("/repos/{owner}/{repo}/rules/branches/{branch}", params, rules);
  }

  /**
   * `listAnnotations`: `GET …/check-runs/{check_run_id}/annotations` in pages of `perPage`
   * (the port asks min(limit, 100)), only the first `askedPages` when the port stops early.
   */
  annotations(
    repo: RepoRef,
    checkRunId: number,
    annotations: readonly AnnotationSpec[],
    options: { perPage?: number; askedPages?: number } = {},
  ): this {
    return this.list(
      "/repos/{owner}/{repo}/check-runs/{check_run_id}/annotations",
      { ...repo, check_run_id: checkRunId },
      annotations.map((annotation) => fakeAnnotation(repo, annotation, this.gh.urls)),
      options,
    );
  }

  /**
   * `jobLogTail`: `GET …/actions/jobs/{job_id}/logs` -> 302 to a download URL on
   * {@link LOG_DOWNLOAD_ORIGIN} (or `downloadOrigin`), which answers `log` as text/plain; or
   * the API answers `status` (403, 404, 410) itself. The download must not carry the token.
   */
  jobLog(
    repo: RepoRef,
    jobId: number,
    log: string | Buffer | { status: 403 | 404 | 410; message?: string },
    options: { downloadOrigin?: string } = {},
  ): this {
    const path = expandPath("/repos/{owner}/{repo}/actions/jobs/{job_id}/logs", {
      ...repo,
      job_id: jobId,
    });
    if (typeof log === "object" && !Buffer.isBuffer(log)) {
      this.gh.rest("GET", path).replyError(log.status, log.message);
      return this;
    }
    const origin = options.downloadOrigin ?? LOG_DOWNLOAD_ORIGIN;
    const downloadPath = `/actions-results/job-logs/${jobId}.txt`;
    const location = `${origin}${downloadPath}?sv=2025-01-05&se=2026-01-15T12%3A01%3A00Z&sig=signed`;
    this.gh.rest("GET", path).reply(302, "", { location });
    const crossOrigin = origin !== new URL(this.gh.baseUrl).origin;
    const scope = nock(origin)
      .get(downloadPath)
      .query(true)
      .reply(
        200,
        function (this: nock.ReplyFnContext) {
          // fetch drops Authorization on a redirect to another origin: the signed URL is the key.
          return crossOrigin && this.req.headers.authorization !== undefined
            ? "the installation token reached the download host"
            : log;
        },
        { "content-type": "text/plain; charset=utf-8" },
      );
    if (crossOrigin) this.#downloads.push(scope);
    return this;
  }

  /**
   * `rerunFailedJobs`: `POST …/actions/runs/{run_id}/rerun-failed-jobs` -> 201, or 403 with
   * `refused` as GitHub's message (no `actions: write`, or a run GitHub will not re-run).
   */
  rerunFailedJobs(repo: RepoRef, runId: number, options: { refused?: string } = {}): this {
    const path = expandPath("/repos/{owner}/{repo}/actions/runs/{run_id}/rerun-failed-jobs", {
      ...repo,
      run_id: runId,
    });
    if (options.refused !== undefined) {
      this.gh.rest("POST", path).replyError(403, options.refused);
      return this;
    }
    return this.#answer("POST", path, 201, {});
  }

  // --- reviews -------------------------------------------------------------------------------

  /**
   * `listReviewComments`: `GET …/pulls/{pull_number}/reviews/{review_id}/comments`, paginated;
   * `null` answers 404.
   */
  reviewComments(
    ref: IssueRef,
    reviewId: number,
    comments: readonly ReviewCommentSpec[] | null,
  ): this {
    const params = {
      owner: ref.owner,
      repo: ref.repo,
      pull_number: ref.number,
      review_id: reviewId,
    };
    const template = "/repos/{owner}/{repo}/pulls/{pull_number}/reviews/{review_id}/comments";
    if (comments === null) {
      this.gh.rest("GET", expandPath(template, params), {}, { query: true }).replyError(404);
      return this;
    }
    return this.list(
      template,
      params,
      comments.map((comment) => fakeReviewComment(ref, { reviewId, ...comment }, this.gh.urls)),
    );
  }

  /** `listReviews`: `GET …/pulls/{pull_number}/reviews`, oldest first, paginated. */
  reviews(ref: IssueRef, reviews: readonly ReviewSpec[]): this {
    return this.list(
      "/repos/{owner}/{repo}/pulls/{pull_number}/reviews",
      { owner: ref.owner, repo: ref.repo, pull_number: ref.number },
      reviews.map((review) => fakeReview(ref, review, this.gh.urls)),
    );
  }

  // --- internals -----------------------------------------------------------------------------

  #shape(method: HttpMethod, path: string, status: number, body: unknown): void {
    const operation = resolveRestOperation(method, path, this.gh.openapi);
    const problems = checkResponseShape(operation, status, body);
    if (problems.length > 0) {
      throw new Error(
        `pull-request mocks: the ${operation.operationId} body is not shaped like GitHub's:\n${problems.join("\n")}`,
      );
    }
  }

  /** The check run GitHub answers after a create or update with `sent`. */
  #echoCheckRun(repo: RepoRef, id: number, sent: Record<string, unknown>) {
    const output = isRecord(sent.output) ? sent.output : undefined;
    const text = (value: unknown) => (typeof value === "string" ? value : undefined);
    const conclusion = CHECK_CONCLUSIONS.find((value) => value === sent.conclusion);
    const status = CHECK_STATUSES.find((value) => value === sent.status);
    return fakeCheckRun(
      repo,
      {
        id,
        name: text(sent.name) ?? "kanbot",
        headSha: text(sent.head_sha) ?? fakeSha("head"),
        app: "kanbot",
        status: conclusion !== undefined ? "completed" : (status ?? "queued"),
        conclusion: conclusion ?? null,
        externalId: text(sent.external_id) ?? null,
        detailsUrl: text(sent.details_url) ?? null,
        output: {
          ...(text(output?.title) === undefined ? {} : { title: text(output?.title) }),
          ...(text(output?.summary) === undefined ? {} : { summary: text(output?.summary) }),
          ...(text(output?.text) === undefined ? {} : { text: text(output?.text) }),
        },
      },
      this.gh.urls,
    );
  }
}

const CHECK_STATUSES = [
  "queued",
  "in_progress",
  "completed",
  "waiting",
  "requested",
  "pending",
] as const satisfies readonly CheckStatus[];

const CHECK_CONCLUSIONS = [
  "success",
  "failure",
  "neutral",
  "cancelled",
  "skipped",
  "timed_out",
  "action_required",
  "stale",
  "startup_failure",
] as const satisfies readonly CheckConclusion[];

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function sortKeys(value: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(value).sort(([a], [b]) => a.localeCompare(b)));
}

/** Whether every field of `expected` is in `sent`, deep-equal. */
function sentMatches(sent: Record<string, unknown>, expected: Record<string, unknown>): boolean {
  return Object.entries(expected).every(
    ([name, value]) => JSON.stringify(sent[name]) === JSON.stringify(value),
  );
}

function prFields(spec: PullRequestSpec): Record<string, unknown> {
  return {
    head: spec.head,
    base: spec.base ?? "main",
    ...(spec.title === undefined ? {} : { title: spec.title }),
    ...(typeof spec.body === "string" ? { body: spec.body } : {}),
  };
}

function pullPath(ref: IssueRef): string {
  return expandPath("/repos/{owner}/{repo}/pulls/{pull_number}", {
    owner: ref.owner,
    repo: ref.repo,
    pull_number: ref.number,
  });
}
