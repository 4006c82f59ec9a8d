/**
 * The REST API at `/api/v3`, as GitHub Enterprise Server serves it. Every request is first
 * resolved against GitHub's OpenAPI description (test/helpers/github-openapi.ts): a method and
 * path GitHub does not have is a 404 and a recorded violation, and handlers are looked up by the
 * description's operationId, so the simulator cannot serve a route GitHub does not have. Every
 * body sent back is checked against the description's response schema.
 */
import {
  checkResponseShape,
  resolveRestOperation,
  UnknownRestEndpointError,
  type HttpMethod,
  type OpenApiDescriptionName,
  type RestOperation,
} from "../helpers/github-openapi.js";
import { gitBlobSha } from "../helpers/github-fixtures.js";
import { authMessage, mintInstallationToken, type Credential } from "./auth.js";
import { GitHubRefusal, type SimGitHub } from "./github.js";
import { deliveryFailed, deliveryStatusText, type Delivery } from "./webhooks.js";
import { branchSha, commitExists, git, readFileAt } from "./git.js";
import {
  fullName,
  PERMISSION_RANK,
  type AccessLevel,
  type CheckConclusion,
  type CheckStatus,
  type CommitState,
  type SimRepo,
  type SimToken,
} from "./state.js";

/** Something the simulator saw that GitHub would not do or answer; tests assert there are none. */
export interface Violation {
  kind: "unknown-endpoint" | "response-shape" | "invalid-graphql" | "unimplemented";
  method: string;
  path: string;
  details: string[];
}

export interface RestRequest {
  method: string;
  /** Without `/api/v3`. */
  path: string;
  query: URLSearchParams;
  body: unknown;
  /** The `Accept` header: `application/vnd.github.raw` asks for a file's bytes. */
  accept: string;
  credential: Credential;
}

export interface RestResponse {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  /** Bytes sent as they are (raw file contents) instead of a JSON body. */
  raw?: Buffer;
}

interface Context {
  request: RestRequest;
  operation: RestOperation;
  params: Record<string, string>;
  query: URLSearchParams;
  body: Record<string, unknown>;
  /** The token (installation or user); undefined for app JWT calls. */
  token: SimToken | undefined;
  /** Who acts: the bot for installation tokens, the user for user tokens. */
  actor: string;
  /** The repository of `/repos/{owner}/{repo}/…`, checked for access. */
  repo: SimRepo | undefined;
}

type Handler = (context: Context) => Promise<RestResponse> | RestResponse;

export interface RestOptions {
  description: OpenApiDescriptionName;
  tokenLifetimeMs: number;
  record: (violation: Violation) => void;
  log: (facts: Record<string, unknown>, message: string) => void;
}

const DOCS = "https://docs.github.com/rest";

function error(status: number, message: string, errors?: unknown[]): RestResponse {
  return {
    status,
    body: {
      message,
      documentation_url: DOCS,
      status: String(status),
      ...(errors === undefined ? {} : { errors }),
    },
  };
}

/** The permission an installation token needs for an operation, if the simulator checks one. */
function requiredPermission(
  operation: RestOperation,
): { name: string; level: AccessLevel } | undefined {
  const level: AccessLevel = operation.method === "GET" ? "read" : "write";
  const id = operation.operationId;
  if (id.startsWith("issues/")) return { name: "issues", level };
  if (id.startsWith("pulls/")) return { name: "pull_requests", level };
  if (id.startsWith("checks/")) return { name: "checks", level };
  if (id.startsWith("git/") || id === "repos/get-content" || id === "repos/get-branch") {
    return { name: "contents", level };
  }
  if (id.includes("commit-status") || id === "repos/get-combined-status-for-ref") {
    return { name: "statuses", level };
  }
  if (id === "repos/get-status-checks-protection") return { name: "administration", level };
  return undefined;
}

function grants(granted: AccessLevel | undefined, wanted: AccessLevel): boolean {
  return granted === "write" || (granted === "read" && wanted === "read");
}

function page<T>(items: readonly T[], context: Context, map: (item: T) => unknown): RestResponse {
  const perPage = Math.min(Number(context.query.get("per_page") ?? 30) || 30, 100);
  const pageNumber = Math.max(Number(context.query.get("page") ?? 1) || 1, 1);
  const last = Math.max(Math.ceil(items.length / perPage), 1);
  const slice = items.slice((pageNumber - 1) * perPage, pageNumber * perPage).map(map);
  const links: string[] = [];
  const link = (n: number, rel: string) => {
    const query = new URLSearchParams(context.query);
    query.set("page", String(n));
    query.set("per_page", String(perPage));
    links.push(`<${context.request.path}?${query.toString()}>; rel="${rel}"`);
  };
  if (pageNumber < last) {
    link(pageNumber + 1, "next");
    link(last, "last");
  }
  if (pageNumber > 1) {
    link(1, "first");
    link(pageNumber - 1, "prev");
  }
  return { status: 200, body: slice, headers: links.length > 0 ? { link: links.join(", ") } : {} };
}

/** A delivery as `GET /app/hook/deliveries` lists it (GitHub's `hook-delivery-item`). */
function hookDeliveryItem(delivery: Delivery): Record<string, unknown> {
  const installation = delivery.payload.installation as { id?: unknown } | undefined;
  const repository = delivery.payload.repository as { id?: unknown } | undefined;
  return {
    id: delivery.deliveryId,
    guid: delivery.id,
    delivered_at: delivery.deliveredAt.toISOString().replace(/\.\d{3}Z$/, "Z"),
    redelivery: delivery.redelivery,
    duration: delivery.duration,
    status: deliveryStatusText(delivery),
    status_code: delivery.status,
    event: delivery.event,
    action: delivery.action ?? null,
    installation_id: typeof installation?.id === "number" ? installation.id : null,
    repository_id: typeof repository?.id === "number" ? repository.id : null,
    throttled_at: null,
  };
}

/**
 * `GET /app/hook/deliveries`: the attempts made, newest first, `per_page` (default 30, at most
 * 100) at a time. Like GitHub, pages are cursor-based: the `Link` header's `next` carries
 * `cursor=v1_<id>`, the id of the first delivery of the next page (GitHub's cursors are opaque;
 * clients follow the link). `status=success|failure` filters by outcome.
 */
function listHookDeliveries(deliveries: readonly Delivery[], context: Context): RestResponse {
  const perPageRaw = context.query.get("per_page");
  const perPage = perPageRaw === null ? 30 : Number(perPageRaw);
  if (!Number.isInteger(perPage) || perPage < 1) {
    throw new GitHubRefusal(422, "Validation Failed", [
      { resource: "Hook", code: "invalid", field: "per_page" },
    ]);
  }
  const size = Math.min(perPage, 100);
  const cursor = context.query.get("cursor");
  let from = Number.MAX_SAFE_INTEGER;
  if (cursor !== null && cursor !== "") {
    const match = /^v1_(\d+)$/.exec(cursor);
    if (match?.[1] === undefined) {
      throw new GitHubRefusal(422, "Validation Failed", [
        { resource: "Hook", code: "invalid", field: "cursor" },
      ]);
    }
    from = Number(match[1]);
  }
  const status = context.query.get("status");
  const attempted = deliveries
    .filter((delivery) => delivery.attempted && delivery.deliveryId <= from)
    .filter(
      (delivery) =>
        status === null ||
        (status === "failure" ? deliveryFailed(delivery) : !deliveryFailed(delivery)),
    )
    .sort((a, b) => b.deliveryId - a.deliveryId);
  const slice = attempted.slice(0, size);
  const next = attempted[size];
  const headers: Record<string, string> = {};
  if (next !== undefined) {
    const query = new URLSearchParams(context.query);
    query.set("per_page", String(size));
    query.set("cursor", `v1_${next.deliveryId}`);
    headers.link = `<${context.request.path}?${query.toString()}>; rel="next"`;
  }
  return { status: 200, body: slice.map(hookDeliveryItem), headers };
}

function str(value: unknown): string | undefined {
  return typeof value === "string" ? value : undefined;
}

export class RestApi {
  readonly #handlers: Record<string, Handler>;

  constructor(
    readonly github: SimGitHub,
    readonly options: RestOptions,
    /** The absolute API base (`http://host/api/v3`) for Link headers. */
    readonly apiBase: string,
  ) {
    this.#handlers = this.#routes();
  }

  /** The operationIds the simulator serves. */
  get operations(): string[] {
    return Object.keys(this.#handlers).sort();
  }

  async handle(request: RestRequest): Promise<RestResponse> {
    const method = request.method.toUpperCase() as HttpMethod;
    let operation: RestOperation;
    try {
      operation = resolveRestOperation(method, request.path, this.options.description);
    } catch (caught) {
      if (!(caught instanceof UnknownRestEndpointError)) throw caught;
      this.options.record({
        kind: "unknown-endpoint",
        method,
        path: request.path,
        details: [caught.message],
      });
      this.options.log({ method, path: request.path }, "REQUEST TO A PATH GITHUB DOES NOT HAVE");
      return error(404, "Not Found");
    }
    const response = await this.#dispatch(request, operation);
    if (response.headers?.link !== undefined) {
      response.headers.link = response.headers.link.replace(/<\//g, `<${this.apiBase}/`);
    }
    if (response.body !== undefined) {
      const problems = checkResponseShape(operation, response.status, response.body);
      const undocumentedError =
        response.status >= 400 &&
        problems.every((problem) => problem.startsWith("GitHub documents no"));
      if (problems.length > 0 && !undocumentedError) {
        this.options.record({
          kind: "response-shape",
          method,
          path: `${operation.template} -> ${response.status}`,
          details: problems,
        });
        this.options.log(
          {
            operation: operation.operationId,
            status: response.status,
            problems: problems.slice(0, 5),
          },
          "RESPONSE NOT SHAPED LIKE GITHUB'S",
        );
      }
    }
    return response;
  }

  async #dispatch(request: RestRequest, operation: RestOperation): Promise<RestResponse> {
    const handler = this.#handlers[operation.operationId];
    if (handler === undefined) {
      this.options.record({
        kind: "unimplemented",
        method: operation.method,
        path: request.path,
        details: [
          `${operation.operationId} (${operation.template}) is GitHub's, but the simulator does not serve it`,
        ],
      });
      this.options.log(
        { operation: operation.operationId },
        "simulator does not implement this operation",
      );
      return error(404, "Not Found");
    }
    const appOnly =
      operation.template.startsWith("/app") ||
      operation.operationId === "apps/get-repo-installation";
    const credential = request.credential;
    if (credential.kind === "refused") return error(401, authMessage(credential.why));
    if (appOnly !== (credential.kind === "app")) {
      return appOnly
        ? error(401, "A JSON web token could not be decoded")
        : error(401, "Bad credentials");
    }
    const token = credential.kind === "token" ? credential.token : undefined;
    const context: Context = {
      request,
      operation,
      params: operation.params,
      query: request.query,
      body:
        typeof request.body === "object" && request.body !== null
          ? (request.body as Record<string, unknown>)
          : {},
      token,
      actor: token?.login ?? this.github.botLogin,
      repo: undefined,
    };
    const owner = operation.params.owner;
    const name = operation.params.repo;
    if (owner !== undefined && name !== undefined && operation.template.startsWith("/repos/")) {
      const repo = this.github.state.repo(owner, name);
      if (repo === undefined || (token !== undefined && !this.#canSee(token, repo))) {
        return error(404, "Not Found");
      }
      context.repo = repo;
      const refusal =
        token === undefined ? undefined : this.#permissionRefusal(token, repo, operation);
      if (refusal !== undefined) return refusal;
    }
    try {
      return await handler(context);
    } catch (caught) {
      if (caught instanceof GitHubRefusal)
        return error(caught.status, caught.message, caught.errors);
      throw caught;
    }
  }

  #canSee(token: SimToken, repo: SimRepo): boolean {
    if (token.kind === "user") {
      return !repo.private || this.github.state.permissionOf(repo, token.login) !== undefined;
    }
    const installation = this.github.state.installationFor(repo);
    if (installation === undefined || installation.id !== token.installationId) return false;
    return token.repositories === undefined || token.repositories.has(fullName(repo).toLowerCase());
  }

  #permissionRefusal(
    token: SimToken,
    repo: SimRepo,
    operation: RestOperation,
  ): RestResponse | undefined {
    if (token.kind === "user") {
      if (operation.method === "GET") return undefined;
      const permission = this.github.state.permissionOf(repo, token.login);
      const rank = permission === undefined ? 0 : PERMISSION_RANK[permission];
      const commentOrIssue = [
        "issues/create",
        "issues/create-comment",
        "pulls/create",
        "pulls/create-review",
      ];
      const needed = commentOrIssue.includes(operation.operationId)
        ? PERMISSION_RANK.read
        : PERMISSION_RANK.triage;
      const needsWrite =
        !operation.operationId.startsWith("issues/") ||
        operation.operationId === "issues/create-label";
      if (
        rank < (needsWrite ? PERMISSION_RANK.write : needed) &&
        !commentOrIssue.includes(operation.operationId)
      ) {
        return error(403, "Must have push access to repository");
      }
      return undefined;
    }
    const wanted = requiredPermission(operation);
    if (wanted === undefined) return undefined;
    if (!grants(token.permissions[wanted.name] as AccessLevel | undefined, wanted.level)) {
      return error(403, "Resource not accessible by integration");
    }
    return undefined;
  }

  #repo(context: Context): SimRepo {
    if (context.repo === undefined) throw new GitHubRefusal(404, "Not Found");
    return context.repo;
  }

  #number(context: Context, name: string): number {
    return Number(context.params[name]);
  }

  #pull(context: Context) {
    const repo = this.#repo(context);
    const pull = repo.pulls.get(this.#number(context, "pull_number"));
    if (pull === undefined) throw new GitHubRefusal(404, "Not Found");
    return { repo, pull };
  }

  #checkAppId(context: Context): number {
    if (context.token?.kind !== "installation") {
      throw new GitHubRefusal(403, "You must authenticate via a GitHub App.");
    }
    return this.github.app.id;
  }

  #routes(): Record<string, Handler> {
    const gh = this.github;
    const state = gh.state;
    const shapes = gh.shapes;
    return {
      // --- the app ---------------------------------------------------------------------------
      "apps/get-authenticated": () => ({ status: 200, body: shapes.app(gh.app) }),
      "apps/list-installations": (context) =>
        page([...state.installations.values()], context, (installation) =>
          shapes.installation(installation, gh.app),
        ),
      "apps/list-webhook-deliveries": (context) => listHookDeliveries(gh.hooks.deliveries, context),
      "apps/redeliver-webhook-delivery": (context) => {
        const id = Number(context.params.delivery_id);
        const again = Number.isSafeInteger(id) ? gh.hooks.redeliver(id) : undefined;
        if (again === undefined) throw new GitHubRefusal(404, "Not Found");
        return { status: 202, body: {} };
      },
      "apps/get-installation": (context) => {
        const installation = state.installations.get(this.#number(context, "installation_id"));
        if (installation === undefined) throw new GitHubRefusal(404, "Not Found");
        return { status: 200, body: shapes.installation(installation, gh.app) };
      },
      "apps/get-repo-installation": (context) => {
        const repo = state.repo(context.params.owner ?? "", context.params.repo ?? "");
        const installation = repo === undefined ? undefined : state.installationFor(repo);
        if (installation === undefined) throw new GitHubRefusal(404, "Not Found");
        return { status: 200, body: shapes.installation(installation, gh.app) };
      },
      "apps/create-installation-access-token": (context) => {
        const installation = state.installations.get(this.#number(context, "installation_id"));
        if (installation === undefined) throw new GitHubRefusal(404, "Not Found");
        if (installation.suspended)
          throw new GitHubRefusal(403, "This installation has been suspended");
        const reachable = state.installationRepos(installation);
        const names = context.body.repositories;
        const ids = context.body.repository_ids;
        let repositories: Set<string> | undefined;
        if (Array.isArray(names) || Array.isArray(ids)) {
          const wanted = [
            ...(Array.isArray(names) ? names : []).map((repoName) =>
              reachable.find((repo) => repo.name.toLowerCase() === String(repoName).toLowerCase()),
            ),
            ...(Array.isArray(ids) ? ids : []).map((id) =>
              reachable.find((repo) => repo.id === Number(id)),
            ),
          ];
          if (wanted.some((repo) => repo === undefined)) {
            throw new GitHubRefusal(
              422,
              "There is at least one repository that does not exist or is not accessible to the parent installation.",
            );
          }
          repositories = new Set(
            wanted.flatMap((repo) => (repo === undefined ? [] : [fullName(repo).toLowerCase()])),
          );
        }
        let permissions = installation.permissions;
        const requested = context.body.permissions;
        if (typeof requested === "object" && requested !== null) {
          permissions = {};
          for (const [permission, level] of Object.entries(requested as Record<string, unknown>)) {
            if (
              (level !== "read" && level !== "write") ||
              !grants(installation.permissions[permission], level)
            ) {
              throw new GitHubRefusal(
                422,
                "The permissions requested are not granted to this installation.",
              );
            }
            permissions[permission] = level;
          }
        }
        const token = mintInstallationToken(state, installation, gh.botLogin, {
          repositories,
          permissions,
          lifetimeMs: this.options.tokenLifetimeMs,
        });
        const scoped =
          repositories === undefined
            ? undefined
            : reachable.filter((repo) => repositories.has(fullName(repo).toLowerCase()));
        return {
          status: 201,
          body: {
            token: token.token,
            expires_at: token.expiresAt.toISOString().replace(/\.\d{3}Z$/, "Z"),
            permissions,
            repository_selection:
              scoped === undefined && installation.repositories === "all" ? "all" : "selected",
            ...(scoped === undefined
              ? {}
              : { repositories: scoped.map((repo) => shapes.repository(repo)) }),
          },
        };
      },
      "apps/revoke-installation-access-token": (context) => {
        if (context.token?.kind !== "installation") throw new GitHubRefusal(401, "Bad credentials");
        context.token.revoked = true;
        return { status: 204 };
      },
      "apps/list-repos-accessible-to-installation": (context) => {
        const token = context.token;
        const installation =
          token?.installationId === undefined
            ? undefined
            : state.installations.get(token.installationId);
        if (token === undefined || installation === undefined) {
          throw new GitHubRefusal(403, "You must authenticate with an installation access token.");
        }
        const repos = state
          .installationRepos(installation)
          .filter(
            (repo) =>
              token.repositories === undefined ||
              token.repositories.has(fullName(repo).toLowerCase()),
          );
        const response = page(repos, context, (repo) => shapes.repository(repo));
        return {
          ...response,
          body: {
            total_count: repos.length,
            repositories: response.body,
            repository_selection: installation.repositories === "all" ? "all" : "selected",
          },
        };
      },

      // --- repositories ----------------------------------------------------------------------
      "repos/get": (context) => ({ status: 200, body: shapes.repository(this.#repo(context)) }),
      "repos/get-collaborator-permission-level": (context) => {
        const repo = this.#repo(context);
        const login = context.params.username ?? "";
        const permission = state.permissionOf(repo, login);
        if (permission === undefined && !state.accounts.has(login.toLowerCase())) {
          throw new GitHubRefusal(404, "Not Found");
        }
        const rank = permission === undefined ? 0 : PERMISSION_RANK[permission];
        const legacy = rank >= 5 ? "admin" : rank >= 3 ? "write" : rank >= 1 ? "read" : "none";
        const role = permission ?? (repo.private ? "none" : "read");
        return {
          status: 200,
          body: {
            permission: permission === undefined && !repo.private ? "read" : legacy,
            role_name: role,
            user: {
              ...shapes.user(login),
              permissions: {
                pull: rank >= 1 || !repo.private,
                triage: rank >= 2,
                push: rank >= 3,
                maintain: rank >= 4,
                admin: rank >= 5,
              },
              role_name: role,
            },
          },
        };
      },
      "repos/get-content": async (context) => {
        const repo = this.#repo(context);
        const path = context.params.path ?? "";
        const ref = context.query.get("ref") ?? repo.defaultBranch;
        const bytes = await readFileAt(repo.gitDir, ref, path);
        if (bytes === undefined) throw new GitHubRefusal(404, "Not Found");
        if (context.request.accept.includes("raw")) {
          return {
            status: 200,
            raw: bytes,
            headers: { "content-type": "text/plain; charset=utf-8" },
          };
        }
        const sha = gitBlobSha(bytes);
        const api = `${this.apiBase}/repos/${fullName(repo)}`;
        const self = `${api}/contents/${path}?ref=${encodeURIComponent(ref)}`;
        const html = `${shapes.urls.web}/${fullName(repo)}/blob/${ref}/${path}`;
        const base64 = bytes.toString("base64");
        return {
          status: 200,
          body: {
            type: "file",
            encoding: "base64",
            size: bytes.length,
            name: path.split("/").pop() ?? path,
            path,
            content: `${base64.replace(/.{60}/g, "$&\n")}${base64.length % 60 === 0 ? "" : "\n"}`,
            sha,
            url: self,
            git_url: `${api}/git/blobs/${sha}`,
            html_url: html,
            download_url: `${shapes.urls.web}/${fullName(repo)}/raw/${ref}/${path}`,
            _links: { self, git: `${api}/git/blobs/${sha}`, html },
          },
        };
      },

      // --- issues, labels, comments ----------------------------------------------------------
      "issues/get": (context) => {
        const repo = this.#repo(context);
        const issue = repo.issues.get(this.#number(context, "issue_number"));
        if (issue === undefined) throw new GitHubRefusal(404, "Not Found");
        return { status: 200, body: shapes.issue(repo, issue) };
      },
      "issues/list-for-repo": (context) => {
        const repo = this.#repo(context);
        const stateFilter = context.query.get("state") ?? "open";
        const labels = (context.query.get("labels") ?? "")
          .split(",")
          .map((label) => label.trim().toLowerCase())
          .filter((label) => label !== "");
        const issues = [...repo.issues.values()]
          .filter((issue) => stateFilter === "all" || issue.state === stateFilter)
          .filter((issue) =>
            labels.every((label) => issue.labels.some((have) => have.toLowerCase() === label)),
          )
          .sort((a, b) => b.number - a.number);
        return page(issues, context, (issue) => shapes.issue(repo, issue));
      },
      "issues/create": async (context) => {
        const repo = this.#repo(context);
        const title = str(context.body.title);
        if (title === undefined || title === "") {
          throw new GitHubRefusal(422, "Validation Failed", [
            { resource: "Issue", code: "missing_field", field: "title" },
          ]);
        }
        const labels = Array.isArray(context.body.labels) ? context.body.labels.map(String) : [];
        const issue = await gh.createIssue(context.actor, repo, {
          title,
          body: str(context.body.body) ?? null,
          labels,
        });
        return { status: 201, body: shapes.issue(repo, issue) };
      },
      "issues/update": async (context) => {
        const repo = this.#repo(context);
        const number = this.#number(context, "issue_number");
        const body = context.body;
        const issueState =
          body.state === "open" || body.state === "closed" ? body.state : undefined;
        const reason = body.state_reason;
        const issue = await gh.updateIssue(context.actor, repo, number, {
          ...(str(body.title) === undefined ? {} : { title: str(body.title) }),
          ...("body" in body ? { body: str(body.body) ?? null } : {}),
          ...(issueState === undefined ? {} : { state: issueState }),
          ...(reason === "completed" || reason === "not_planned" || reason === "reopened"
            ? { stateReason: reason }
            : {}),
          ...(Array.isArray(body.labels) ? { labels: body.labels.map(String) } : {}),
        });
        return { status: 200, body: shapes.issue(repo, issue) };
      },
      "issues/list-comments": (context) => {
        const repo = this.#repo(context);
        const issue = repo.issues.get(this.#number(context, "issue_number"));
        if (issue === undefined) throw new GitHubRefusal(404, "Not Found");
        return page(issue.comments, context, (comment) => shapes.comment(repo, comment));
      },
      "issues/create-comment": (context) => {
        const repo = this.#repo(context);
        const body = str(context.body.body);
        if (body === undefined) {
          throw new GitHubRefusal(422, "Validation Failed", [
            { resource: "IssueComment", code: "missing_field", field: "body" },
          ]);
        }
        const comment = gh.comment(
          context.actor,
          repo,
          this.#number(context, "issue_number"),
          body,
        );
        return { status: 201, body: shapes.comment(repo, comment) };
      },
      "issues/get-comment": (context) => {
        const repo = this.#repo(context);
        const found = gh.findComment(repo, this.#number(context, "comment_id"));
        if (found === undefined) throw new GitHubRefusal(404, "Not Found");
        return { status: 200, body: shapes.comment(repo, found.comment) };
      },
      "issues/update-comment": (context) => {
        const repo = this.#repo(context);
        const found = gh.findComment(repo, this.#number(context, "comment_id"));
        if (found === undefined) throw new GitHubRefusal(404, "Not Found");
        if (
          context.token?.kind === "user" &&
          found.comment.author.toLowerCase() !== context.actor.toLowerCase() &&
          !gh.canWrite(repo, context.actor)
        ) {
          throw new GitHubRefusal(403, "Must have push access to repository");
        }
        const comment = gh.updateComment(
          context.actor,
          repo,
          found.comment.id,
          str(context.body.body) ?? "",
        );
        return { status: 200, body: shapes.comment(repo, comment) };
      },
      "issues/list-events": (context) => {
        const repo = this.#repo(context);
        const issue = repo.issues.get(this.#number(context, "issue_number"));
        if (issue === undefined) throw new GitHubRefusal(404, "Not Found");
        return page(issue.events, context, (event) => shapes.issueEvent(repo, event));
      },
      "issues/list-labels-for-repo": (context) => {
        const repo = this.#repo(context);
        return page([...repo.labels.values()], context, (label) => shapes.label(repo, label));
      },
      "issues/get-label": (context) => {
        const repo = this.#repo(context);
        const label = repo.labels.get((context.params.name ?? "").toLowerCase());
        if (label === undefined) throw new GitHubRefusal(404, "Not Found");
        return { status: 200, body: shapes.label(repo, label) };
      },
      "issues/create-label": (context) => {
        const repo = this.#repo(context);
        const name = str(context.body.name) ?? "";
        const label = gh.createLabel(
          repo,
          name,
          str(context.body.color)?.replace(/^#/, ""),
          str(context.body.description) ?? null,
        );
        return { status: 201, body: shapes.label(repo, label) };
      },
      "issues/list-labels-on-issue": (context) => {
        const repo = this.#repo(context);
        const issue = repo.issues.get(this.#number(context, "issue_number"));
        if (issue === undefined) throw new GitHubRefusal(404, "Not Found");
        return page(shapes.issue(repo, issue).labels, context, (label) => label);
      },
      "issues/add-labels": async (context) => {
        const repo = this.#repo(context);
        const number = this.#number(context, "issue_number");
        const raw = Array.isArray(context.body.labels)
          ? context.body.labels
          : Array.isArray(context.request.body)
            ? context.request.body
            : [];
        const names = raw.map((entry: unknown) =>
          typeof entry === "object" && entry !== null
            ? String((entry as { name?: unknown }).name)
            : String(entry),
        );
        await gh.addLabels(context.actor, repo, number, names);
        return { status: 200, body: shapes.issue(repo, state.mustIssue(repo, number)).labels };
      },
      "issues/remove-label": async (context) => {
        const repo = this.#repo(context);
        const number = this.#number(context, "issue_number");
        await gh.removeLabel(context.actor, repo, number, context.params.name ?? "");
        return { status: 200, body: shapes.issue(repo, state.mustIssue(repo, number)).labels };
      },
      "issues/list-dependencies-blocked-by": (context) => {
        const repo = this.#repo(context);
        const issue = repo.issues.get(this.#number(context, "issue_number"));
        if (issue === undefined) throw new GitHubRefusal(404, "Not Found");
        return page(issue.blockedBy, context, (number) =>
          shapes.issue(repo, state.mustIssue(repo, number)),
        );
      },
      "issues/add-blocked-by-dependency": (context) => {
        const repo = this.#repo(context);
        const number = this.#number(context, "issue_number");
        const blockerId = Number(context.body.issue_id);
        const blocker = [...repo.issues.values()].find((issue) => issue.id === blockerId);
        if (blocker === undefined) throw new GitHubRefusal(404, "Not Found");
        gh.addBlockedBy(repo, number, blocker.number);
        return { status: 201, body: shapes.issue(repo, blocker) };
      },
      "issues/list-sub-issues": (context) => {
        const repo = this.#repo(context);
        const issue = repo.issues.get(this.#number(context, "issue_number"));
        if (issue === undefined) throw new GitHubRefusal(404, "Not Found");
        return page(issue.subIssues, context, (number) =>
          shapes.issue(repo, state.mustIssue(repo, number)),
        );
      },
      "issues/add-sub-issue": (context) => {
        const repo = this.#repo(context);
        const number = this.#number(context, "issue_number");
        const childId = Number(context.body.sub_issue_id);
        const child = [...repo.issues.values()].find((issue) => issue.id === childId);
        if (child === undefined) throw new GitHubRefusal(404, "Not Found");
        gh.addSubIssue(repo, number, child.number);
        return { status: 201, body: shapes.issue(repo, state.mustIssue(repo, number)) };
      },

      // --- pull requests ---------------------------------------------------------------------
      "pulls/list": async (context) => {
        const repo = this.#repo(context);
        const wanted = context.query.get("state") ?? "open";
        const head = context.query.get("head");
        const base = context.query.get("base");
        const pulls = [...repo.pulls.values()]
          .filter((pull) => wanted === "all" || pull.state === wanted)
          .filter(
            (pull) =>
              head === null || `${repo.owner}:${pull.head}`.toLowerCase() === head.toLowerCase(),
          )
          .filter((pull) => base === null || pull.base === base)
          .sort((a, b) => b.number - a.number);
        const bodies = await Promise.all(pulls.map((pull) => gh.pullBody(repo, pull)));
        return page(bodies, context, (body) => body);
      },
      "pulls/get": async (context) => {
        const { repo, pull } = this.#pull(context);
        return { status: 200, body: await gh.pullBody(repo, pull) };
      },
      "pulls/create": async (context) => {
        const repo = this.#repo(context);
        const { head, base, title } = {
          head: str(context.body.head),
          base: str(context.body.base),
          title: str(context.body.title),
        };
        if (head === undefined || base === undefined) {
          throw new GitHubRefusal(422, "Validation Failed", [
            {
              resource: "PullRequest",
              code: "missing_field",
              field: head === undefined ? "head" : "base",
            },
          ]);
        }
        const pull = await gh.createPull(context.actor, repo, {
          head,
          base,
          title: title ?? head,
          body: str(context.body.body) ?? null,
          draft: context.body.draft === true,
        });
        return { status: 201, body: await gh.pullBody(repo, pull) };
      },
      "pulls/update": async (context) => {
        const { repo, pull } = this.#pull(context);
        const body = context.body;
        const wantedState =
          body.state === "open" || body.state === "closed" ? body.state : undefined;
        await gh.updateIssue(context.actor, repo, pull.number, {
          ...(str(body.title) === undefined ? {} : { title: str(body.title) }),
          ...("body" in body ? { body: str(body.body) ?? null } : {}),
          ...(wantedState === undefined ? {} : { state: wantedState }),
        });
        if (str(body.base) !== undefined) pull.base = str(body.base) ?? pull.base;
        return { status: 200, body: await gh.pullBody(repo, pull) };
      },
      "pulls/check-if-merged": (context) => {
        const { pull } = this.#pull(context);
        if (!pull.merged) throw new GitHubRefusal(404, "Not Found");
        return { status: 204 };
      },
      "pulls/merge": async (context) => {
        const { repo, pull } = this.#pull(context);
        const method = context.body.merge_method;
        const sha = await gh.merge(context.actor, repo, pull, {
          ...(method === "merge" || method === "squash" || method === "rebase" ? { method } : {}),
          ...(str(context.body.sha) === undefined ? {} : { sha: str(context.body.sha) }),
          ...(str(context.body.commit_title) === undefined
            ? {}
            : { commitTitle: str(context.body.commit_title) }),
        });
        return {
          status: 200,
          body: { sha, merged: true, message: "Pull Request successfully merged" },
        };
      },
      "pulls/request-reviewers": async (context) => {
        const { repo, pull } = this.#pull(context);
        const reviewers = Array.isArray(context.body.reviewers)
          ? context.body.reviewers.map(String)
          : [];
        await gh.requestReviewers(context.actor, repo, pull, reviewers);
        return { status: 201, body: await gh.pullBody(repo, pull) };
      },
      "pulls/create-review": async (context) => {
        const { repo, pull } = this.#pull(context);
        const event = context.body.event;
        if (event !== "APPROVE" && event !== "REQUEST_CHANGES" && event !== "COMMENT") {
          throw new GitHubRefusal(422, "Unprocessable Entity", [
            {
              resource: "PullRequestReview",
              code: "custom",
              message: "Pending reviews are not simulated; pass event",
            },
          ]);
        }
        const comments = Array.isArray(context.body.comments)
          ? context.body.comments.map((entry: unknown) => {
              const comment = entry as { path?: unknown; line?: unknown; body?: unknown };
              return {
                path: String(comment.path),
                line: Number(comment.line ?? 1),
                body: String(comment.body),
              };
            })
          : [];
        const review = await gh.submitReview(context.actor, repo, pull, {
          event,
          body: str(context.body.body) ?? "",
          comments,
        });
        return { status: 200, body: shapes.review(repo, pull, review) };
      },
      "pulls/list-reviews": (context) => {
        const { repo, pull } = this.#pull(context);
        return page(pull.reviews, context, (review) => shapes.review(repo, pull, review));
      },
      "pulls/list-review-comments": (context) => {
        const { repo, pull } = this.#pull(context);
        const comments = pull.reviews.flatMap((review) => review.comments);
        return page(comments, context, (comment) => shapes.reviewComment(repo, pull, comment));
      },
      "pulls/list-comments-for-review": (context) => {
        const { repo, pull } = this.#pull(context);
        const review = pull.reviews.find(
          (candidate) => candidate.id === this.#number(context, "review_id"),
        );
        if (review === undefined) throw new GitHubRefusal(404, "Not Found");
        return page(review.comments, context, (comment) => {
          const body = shapes.reviewComment(repo, pull, comment);
          return body;
        });
      },

      // --- git refs --------------------------------------------------------------------------
      "git/get-ref": async (context) => {
        const repo = this.#repo(context);
        const ref = context.params.ref ?? "";
        const branch = ref.replace(/^heads\//, "");
        const sha = ref.startsWith("heads/") ? await branchSha(repo.gitDir, branch) : undefined;
        if (sha === undefined) throw new GitHubRefusal(404, "Not Found");
        const api = `${this.apiBase}/repos/${fullName(repo)}`;
        return {
          status: 200,
          body: {
            ref: `refs/${ref}`,
            node_id: `REF_${Buffer.from(`${fullName(repo)}:${ref}`).toString("base64url")}`,
            url: `${api}/git/refs/${ref}`,
            object: { type: "commit", sha, url: `${api}/git/commits/${sha}` },
          },
        };
      },
      "git/delete-ref": async (context) => {
        const repo = this.#repo(context);
        const ref = context.params.ref ?? "";
        if (!ref.startsWith("heads/")) throw new GitHubRefusal(422, "Reference does not exist");
        await gh.deleteRef(context.actor, repo, ref.slice("heads/".length));
        return { status: 204 };
      },

      // --- checks and statuses ---------------------------------------------------------------
      "checks/create": async (context) => {
        const repo = this.#repo(context);
        const appId = this.#checkAppId(context);
        const body = context.body;
        const name = str(body.name);
        const headSha = str(body.head_sha);
        if (name === undefined || headSha === undefined) {
          throw new GitHubRefusal(422, "Validation Failed", [
            {
              resource: "CheckRun",
              code: "missing_field",
              field: name === undefined ? "name" : "head_sha",
            },
          ]);
        }
        if (!(await commitExists(repo.gitDir, headSha))) {
          throw new GitHubRefusal(422, "Validation Failed", [
            { resource: "CheckRun", code: "invalid", field: "head_sha" },
          ]);
        }
        const conclusion = str(body.conclusion) as CheckConclusion | undefined;
        const status = str(body.status) as CheckStatus | undefined;
        if (status === "completed" && conclusion === undefined) {
          throw new GitHubRefusal(422, "Validation Failed", [
            { resource: "CheckRun", code: "missing_field", field: "conclusion" },
          ]);
        }
        const output = body.output as
          { title?: string; summary?: string; text?: string } | undefined;
        const run = gh.createCheckRun(repo, appId, {
          name,
          headSha,
          ...(status === undefined ? {} : { status }),
          ...(conclusion === undefined ? {} : { conclusion }),
          ...(str(body.external_id) === undefined ? {} : { externalId: str(body.external_id) }),
          ...(str(body.details_url) === undefined ? {} : { detailsUrl: str(body.details_url) }),
          ...(output === undefined ? {} : { output }),
        });
        return { status: 201, body: gh.checkRunBody(repo, run) };
      },
      "checks/update": async (context) => {
        const repo = this.#repo(context);
        const appId = this.#checkAppId(context);
        const run = repo.checkRuns.find(
          (candidate) => candidate.id === this.#number(context, "check_run_id"),
        );
        if (run === undefined) throw new GitHubRefusal(404, "Not Found");
        if (run.appId !== appId)
          throw new GitHubRefusal(
            403,
            "Invalid app_id `" +
              appId +
              "` - check run can only be modified by the GitHub App that created it.",
          );
        const body = context.body;
        const output = body.output as
          { title?: string; summary?: string; text?: string } | undefined;
        const conclusion = str(body.conclusion) as CheckConclusion | undefined;
        const status = str(body.status) as CheckStatus | undefined;
        await gh.updateCheckRun(repo, run, {
          ...(status === undefined ? {} : { status }),
          ...(conclusion === undefined ? {} : { conclusion }),
          ...(str(body.name) === undefined ? {} : { name: str(body.name) }),
          ...(str(body.details_url) === undefined ? {} : { detailsUrl: str(body.details_url) }),
          ...(output === undefined ? {} : { output }),
        });
        return { status: 200, body: gh.checkRunBody(repo, run) };
      },
      "checks/get": (context) => {
        const repo = this.#repo(context);
        const run = repo.checkRuns.find(
          (candidate) => candidate.id === this.#number(context, "check_run_id"),
        );
        if (run === undefined) throw new GitHubRefusal(404, "Not Found");
        return { status: 200, body: gh.checkRunBody(repo, run) };
      },
      "checks/list-for-ref": async (context) => {
        const repo = this.#repo(context);
        const sha = await this.#resolveRef(repo, context.params.ref ?? "");
        const name = context.query.get("check_name");
        const all = repo.checkRuns.filter(
          (run) => run.headSha === sha && (name === null || run.name === name),
        );
        const runs = context.query.get("filter") === "all" ? all : latestByName(all);
        const response = page(runs.reverse(), context, (run) => gh.checkRunBody(repo, run));
        return { ...response, body: { total_count: runs.length, check_runs: response.body } };
      },
      "checks/list-suites-for-ref": async (context) => {
        const repo = this.#repo(context);
        const sha = await this.#resolveRef(repo, context.params.ref ?? "");
        const suites = repo.checkSuites.filter((suite) => suite.headSha === sha);
        const response = page(suites, context, (suite) => gh.suiteBody(repo, suite));
        return { ...response, body: { total_count: suites.length, check_suites: response.body } };
      },
      "checks/list-annotations": (context) => {
        const repo = this.#repo(context);
        const run = repo.checkRuns.find(
          (candidate) => candidate.id === this.#number(context, "check_run_id"),
        );
        if (run === undefined) throw new GitHubRefusal(404, "Not Found");
        return page([], context, (annotation) => annotation);
      },
      "repos/create-commit-status": async (context) => {
        const repo = this.#repo(context);
        const wanted = context.body.state;
        if (
          wanted !== "error" &&
          wanted !== "failure" &&
          wanted !== "pending" &&
          wanted !== "success"
        ) {
          throw new GitHubRefusal(422, "Validation Failed", [
            { resource: "Status", code: "invalid", field: "state" },
          ]);
        }
        const status = await gh.createStatus(context.actor, repo, context.params.sha ?? "", {
          state: wanted as CommitState,
          ...(str(context.body.context) === undefined
            ? {}
            : { context: str(context.body.context) }),
          description: str(context.body.description) ?? null,
          targetUrl: str(context.body.target_url) ?? null,
        });
        return { status: 201, body: shapes.status(repo, status) };
      },
      "repos/list-commit-statuses-for-ref": async (context) => {
        const repo = this.#repo(context);
        const sha = await this.#resolveRef(repo, context.params.ref ?? "");
        const statuses = repo.statuses.filter((status) => status.sha === sha).reverse();
        return page(statuses, context, (status) => shapes.status(repo, status));
      },
      "repos/get-branch": async (context) => {
        const repo = this.#repo(context);
        const branch = context.params.branch ?? "";
        const sha = await branchSha(repo.gitDir, branch);
        if (sha === undefined) throw new GitHubRefusal(404, "Branch not found");
        const [tree = "", parents = "", authorName, authorEmail, authorDate, ...rest] = (
          await git(repo.gitDir, "show", "-s", "--format=%T%n%P%n%an%n%ae%n%aI%n%B", sha)
        ).split("\n");
        const api = `${this.apiBase}/repos/${fullName(repo)}`;
        const web = `${this.apiBase.replace(/\/api\/v3$/, "")}/${fullName(repo)}`;
        const person = { name: authorName ?? "", email: authorEmail ?? "", date: authorDate ?? "" };
        // Classic branch protection shows in the summary; a ruleset does not (GitHub lists it
        // under rules/branches instead).
        const protection = repo.protection.get(branch);
        const classic = protection?.source === "branch-protection" ? protection : undefined;
        const protectionUrl = `${api}/branches/${branch}/protection`;
        return {
          status: 200,
          body: {
            name: branch,
            commit: {
              sha,
              node_id: `C_${sha}`,
              url: `${api}/commits/${sha}`,
              html_url: `${web}/commit/${sha}`,
              comments_url: `${api}/commits/${sha}/comments`,
              commit: {
                url: `${api}/git/commits/${sha}`,
                author: person,
                committer: person,
                message: rest.join("\n").trim(),
                comment_count: 0,
                tree: { sha: tree, url: `${api}/git/trees/${tree}` },
              },
              author: null,
              committer: null,
              parents: parents
                .split(" ")
                .filter((parent) => parent !== "")
                .map((parent) => ({ sha: parent, url: `${api}/commits/${parent}` })),
            },
            _links: { self: `${api}/branches/${branch}`, html: `${web}/tree/${branch}` },
            protected: classic !== undefined,
            protection: {
              enabled: classic !== undefined,
              required_status_checks: {
                enforcement_level:
                  classic === undefined || classic.requiredChecks.length === 0
                    ? "off"
                    : "non_admins",
                contexts: classic?.requiredChecks ?? [],
                checks: (classic?.requiredChecks ?? []).map((check) => ({
                  context: check,
                  app_id: null,
                })),
              },
            },
            protection_url: protectionUrl,
          },
        };
      },
      "repos/get-status-checks-protection": (context) => {
        const repo = this.#repo(context);
        const branch = context.params.branch ?? "";
        const protection = repo.protection.get(branch);
        if (protection === undefined || protection.source !== "branch-protection") {
          throw new GitHubRefusal(404, "Required status checks not enabled");
        }
        const url = `${this.apiBase}/repos/${fullName(repo)}/branches/${branch}/protection/required_status_checks`;
        return {
          status: 200,
          body: {
            url,
            strict: false,
            contexts: protection.requiredChecks,
            checks: protection.requiredChecks.map((context) => ({ context, app_id: null })),
            contexts_url: `${url}/contexts`,
          },
        };
      },
      "repos/get-branch-rules": (context) => {
        const repo = this.#repo(context);
        const protection = repo.protection.get(context.params.branch ?? "");
        const rules =
          protection === undefined || protection.source !== "ruleset"
            ? []
            : [
                ...(protection.requiredChecks.length === 0
                  ? []
                  : [
                      {
                        type: "required_status_checks",
                        ruleset_source_type: "Repository",
                        ruleset_source: fullName(repo),
                        ruleset_id: 1,
                        parameters: {
                          strict_required_status_checks_policy: false,
                          required_status_checks: protection.requiredChecks.map((check) => ({
                            context: check,
                          })),
                        },
                      },
                    ]),
                ...(protection.requiredApprovals === 0
                  ? []
                  : [
                      {
                        type: "pull_request",
                        ruleset_source_type: "Repository",
                        ruleset_source: fullName(repo),
                        ruleset_id: 1,
                        parameters: {
                          dismiss_stale_reviews_on_push: false,
                          require_code_owner_review: false,
                          require_last_push_approval: false,
                          required_approving_review_count: protection.requiredApprovals,
                          required_review_thread_resolution: false,
                        },
                      },
                    ]),
              ];
        return page(rules, context, (rule) => rule);
      },
    };
  }

  async #resolveRef(repo: SimRepo, ref: string): Promise<string> {
    if (/^[0-9a-f]{40}$/.test(ref)) return ref;
    const sha = await branchSha(repo.gitDir, ref.replace(/^(refs\/)?heads\//, ""));
    if (sha === undefined) throw new GitHubRefusal(422, `No commit found for SHA: ${ref}`);
    return sha;
  }
}

function latestByName<T extends { name: string }>(runs: readonly T[]): T[] {
  const latest = new Map<string, T>();
  for (const run of runs) latest.set(run.name, run);
  return [...latest.values()];
}
