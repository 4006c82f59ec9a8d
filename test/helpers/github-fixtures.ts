/**
 * Response bodies shaped like GitHub's: every field GitHub's OpenAPI description marks as
 * required, with values of the documented types (the strict mock checks named helpers' bodies
 * against the description). Ids are derived from names so tests stay deterministic.
 */
import { createHash } from "node:crypto";

/** A repository, as `{ owner, repo }` in Octokit's parameters. */
export interface RepoRef {
  owner: string;
  repo: string;
}

/** Where a GitHub lives: github.com, or a GitHub Enterprise Server. */
export interface GitHubUrls {
  /** REST base, e.g. `https://api.github.com` or `https://ghe.example.com/api/v3`. */
  api: string;
  /** Web base, e.g. `https://github.com` or `https://ghe.example.com`. */
  web: string;
}

export const GITHUB_COM_URLS = {
  api: "https://api.github.com",
  web: "https://github.com",
} as const satisfies GitHubUrls;

/** The URLs of a GitHub whose REST base is `apiBaseUrl` (github.com, or GHES at `/api/v3`). */
export function urlsFor(apiBaseUrl: string): GitHubUrls {
  if (apiBaseUrl === GITHUB_COM_URLS.api) {
    return GITHUB_COM_URLS;
  }
  return { api: apiBaseUrl, web: apiBaseUrl.replace(/\/api\/v3\/?$/, "") };
}

/** Repository permission levels, highest first (`role_name` in GitHub's answer). */
export type RepositoryPermission = "admin" | "maintain" | "write" | "triage" | "read" | "none";

/** A fixed timestamp for created_at/updated_at fields. */
export const FIXTURE_TIME = "2026-01-15T12:00:00Z";

/** A positive id derived from `text`, stable across runs. */
export function stableId(text: string): number {
  return Number.parseInt(createHash("sha1").update(text).digest("hex").slice(0, 7), 16) + 1;
}

function nodeId(prefix: string, id: number): string {
  return `${prefix}_${Buffer.from(String(id)).toString("base64url")}`;
}

export type UserType = "User" | "Bot" | "Organization";

/** A `simple-user`; a login ending in `[bot]` is a Bot. */
export function fakeUser(login: string, urls: GitHubUrls = GITHUB_COM_URLS) {
  const id = stableId(`user:${login}`);
  const type: UserType = login.endsWith("[bot]") ? "Bot" : "User";
  const api = `${urls.api}/users/${encodeURIComponent(login)}`;
  return {
    login,
    id,
    node_id: nodeId(type === "Bot" ? "BOT" : "U", id),
    avatar_url: `https://avatars.githubusercontent.com/u/${id}?v=4`,
    gravatar_id: "",
    url: api,
    html_url: `${urls.web}/${login}`,
    followers_url: `${api}/followers`,
    following_url: `${api}/following{/other_user}`,
    gists_url: `${api}/gists{/gist_id}`,
    starred_url: `${api}/starred{/owner}{/repo}`,
    subscriptions_url: `${api}/subscriptions`,
    organizations_url: `${api}/orgs`,
    repos_url: `${api}/repos`,
    events_url: `${api}/events{/privacy}`,
    received_events_url: `${api}/received_events`,
    type,
    site_admin: false,
  };
}

export interface LabelFields {
  name: string;
  color?: string;
  description?: string | null;
}

/** A `label` of `repo`. */
export function fakeLabel(repo: RepoRef, label: LabelFields, urls: GitHubUrls = GITHUB_COM_URLS) {
  const id = stableId(`label:${repo.owner}/${repo.repo}:${label.name}`);
  return {
    id,
    node_id: nodeId("LA", id),
    url: `${urls.api}/repos/${repo.owner}/${repo.repo}/labels/${encodeURIComponent(label.name)}`,
    name: label.name,
    description: label.description ?? null,
    color: label.color ?? "ededed",
    default: false,
  };
}

export type AuthorAssociation = "COLLABORATOR" | "CONTRIBUTOR" | "MEMBER" | "NONE" | "OWNER";

export interface CommentFields {
  id: number;
  issueNumber: number;
  body: string;
  /** The author's login; default `kanbot[bot]`. */
  author?: string;
  authorAssociation?: AuthorAssociation;
}

/** An `issue-comment` on issue `issueNumber` of `repo`. */
export function fakeComment(
  repo: RepoRef,
  comment: CommentFields,
  urls: GitHubUrls = GITHUB_COM_URLS,
) {
  const repoApi = `${urls.api}/repos/${repo.owner}/${repo.repo}`;
  return {
    id: comment.id,
    node_id: nodeId("IC", comment.id),
    url: `${repoApi}/issues/comments/${comment.id}`,
    html_url: `${urls.web}/${repo.owner}/${repo.repo}/issues/${comment.issueNumber}#issuecomment-${comment.id}`,
    issue_url: `${repoApi}/issues/${comment.issueNumber}`,
    body: comment.body,
    user: fakeUser(comment.author ?? "kanbot[bot]", urls),
    created_at: FIXTURE_TIME,
    updated_at: FIXTURE_TIME,
    author_association: comment.authorAssociation ?? "NONE",
  };
}

export interface IssueFields {
  number: number;
  title?: string;
  body?: string | null;
  state?: "open" | "closed";
  labels?: string[];
  /** The author's login; default `octocat`. */
  author?: string;
  comments?: number;
}

/** An `issue` of `repo`. */
export function fakeIssue(repo: RepoRef, issue: IssueFields, urls: GitHubUrls = GITHUB_COM_URLS) {
  const id = stableId(`issue:${repo.owner}/${repo.repo}#${issue.number}`);
  const repoApi = `${urls.api}/repos/${repo.owner}/${repo.repo}`;
  const issueApi = `${repoApi}/issues/${issue.number}`;
  const state = issue.state ?? "open";
  return {
    id,
    node_id: nodeId("I", id),
    url: issueApi,
    repository_url: repoApi,
    labels_url: `${issueApi}/labels{/name}`,
    comments_url: `${issueApi}/comments`,
    events_url: `${issueApi}/events`,
    html_url: `${urls.web}/${repo.owner}/${repo.repo}/issues/${issue.number}`,
    number: issue.number,
    state,
    state_reason: state === "closed" ? "completed" : null,
    title: issue.title ?? `Issue ${issue.number}`,
    body: issue.body ?? null,
    user: fakeUser(issue.author ?? "octocat", urls),
    labels: (issue.labels ?? []).map((name) => fakeLabel(repo, { name }, urls)),
    assignee: null,
    assignees: [],
    milestone: null,
    locked: false,
    active_lock_reason: null,
    comments: issue.comments ?? 0,
    closed_at: state === "closed" ? FIXTURE_TIME : null,
    created_at: FIXTURE_TIME,
    updated_at: FIXTURE_TIME,
    author_association: "OWNER",
  };
}

export interface InstallationTokenFields {
  token?: string;
  /** Default: one hour from now, as GitHub does (an expired token would make Octokit ask again). */
  expiresAt?: string;
  permissions?: Record<string, "read" | "write">;
}

/** An `installation-token`, as `POST /app/installations/{id}/access_tokens` answers. */
export function fakeInstallationToken(fields: InstallationTokenFields = {}) {
  return {
    token: fields.token ?? "ghs_test0000000000000000000000000000000",
    expires_at:
      fields.expiresAt ?? new Date(Date.now() + 3_600_000).toISOString().replace(/\.\d{3}Z$/, "Z"),
    permissions: fields.permissions ?? {
      issues: "write",
      pull_requests: "write",
      contents: "write",
      metadata: "read",
    },
    repository_selection: "all",
  };
}

/** The legacy `permission` GitHub still reports next to `role_name`: maintain -> write, triage -> read. */
function legacyPermission(permission: RepositoryPermission): "admin" | "write" | "read" | "none" {
  switch (permission) {
    case "admin":
      return "admin";
    case "maintain":
    case "write":
      return "write";
    case "triage":
    case "read":
      return "read";
    case "none":
      return "none";
  }
}

/** A `repository-collaborator-permission` for `username` at level `permission`. */
export function fakeCollaboratorPermission(
  username: string,
  permission: RepositoryPermission,
  urls: GitHubUrls = GITHUB_COM_URLS,
) {
  const rank = ["none", "read", "triage", "write", "maintain", "admin"].indexOf(permission);
  return {
    permission: legacyPermission(permission),
    role_name: permission,
    user: {
      ...fakeUser(username, urls),
      permissions: {
        pull: rank >= 1,
        triage: rank >= 2,
        push: rank >= 3,
        maintain: rank >= 4,
        admin: rank >= 5,
      },
      role_name: permission,
    },
  };
}

/** Git's blob id of `content`, which GitHub reports as a file's `sha`. */
export function gitBlobSha(content: Buffer): string {
  return createHash("sha1").update(`blob ${content.length}\0`).update(content).digest("hex");
}

/** GitHub wraps the base64 of file contents at 60 characters, with a trailing newline. */
function githubBase64(content: Buffer): string {
  const base64 = content.toString("base64");
  return `${base64.replace(/.{60}/g, "$&\n")}${base64.length % 60 === 0 ? "" : "\n"}`;
}

/** A `content-file` for `path` in `repo` holding `text` (UTF-8), base64-encoded as GitHub sends it. */
export function fakeContentFile(
  repo: RepoRef,
  path: string,
  text: string,
  ref = "main",
  urls: GitHubUrls = GITHUB_COM_URLS,
) {
  const content = Buffer.from(text, "utf8");
  const sha = gitBlobSha(content);
  const repoApi = `${urls.api}/repos/${repo.owner}/${repo.repo}`;
  const self = `${repoApi}/contents/${path}?ref=${encodeURIComponent(ref)}`;
  const html = `${urls.web}/${repo.owner}/${repo.repo}/blob/${ref}/${path}`;
  const git = `${repoApi}/git/blobs/${sha}`;
  return {
    type: "file",
    encoding: "base64",
    size: content.length,
    name: path.split("/").pop() ?? path,
    path,
    content: githubBase64(content),
    sha,
    url: self,
    git_url: git,
    html_url: html,
    download_url: `https://raw.githubusercontent.com/${repo.owner}/${repo.repo}/${ref}/${path}`,
    _links: { self, git, html },
  };
}

/** GitHub's `basic-error` body, e.g. for a 404. */
export function fakeError(
  message: string,
  status: number,
  docsUrl = "https://docs.github.com/rest",
) {
  return { message, documentation_url: docsUrl, status: String(status) };
}
