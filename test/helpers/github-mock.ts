/**
 * The strict GitHub mock every test that talks to GitHub uses (nock as a contract, after
 * renovate's `test/http-mock.ts`):
 *
 * - no request leaves the process (`nock.disableNetConnect`; loopback only when asked);
 * - a request without a mock fails the test, even when the code under test swallowed the error
 *   (nock's "no match" events are recorded and reported by `verify()` in `afterEach`);
 * - a mock left unused fails the test;
 * - a REST mock for a method + path GitHub's OpenAPI description does not have throws at once;
 * - every GraphQL document sent must validate against GitHub's schema, variables included.
 *
 * `setupGitHubMock()` installs the lifecycle hooks; `createGitHubMock()` gives the same object
 * without hooks, for driving `start()` / `verify()` / `reset()` / `stop()` by hand.
 */
import { isDeepStrictEqual } from "node:util";
import nock from "nock";
import { afterAll, afterEach, beforeAll } from "vitest";
import {
  fakeCollaboratorPermission,
  fakeComment,
  fakeContentFile,
  fakeError,
  fakeInstallationToken,
  fakeIssue,
  fakeLabel,
  urlsFor,
  type CommentFields,
  type GitHubUrls,
  type InstallationTokenFields,
  type IssueFields,
  type LabelFields,
  type RepoRef,
  type RepositoryPermission,
} from "./github-fixtures.js";
import { formatGraphQLErrors, graphQLOperationName, validateGraphQL } from "./github-graphql.js";
import {
  checkResponseShape,
  expandPath,
  latestGhesDescription,
  resolveRestOperation,
  type HttpMethod,
  type OpenApiDescriptionName,
  type PathParams,
  type RestOperation,
} from "./github-openapi.js";

/** github.com's REST base. */
export const GITHUB_API_URL = "https://api.github.com";
/** A GitHub Enterprise Server REST base for tests (GraphQL at https://ghe.example.com/api/graphql). */
export const GHE_API_URL = "https://ghe.example.com/api/v3";

/** The path of the repository config kanbot reads. */
export const REPO_CONFIG_PATH = ".github/kanbot.yml";

export interface GitHubMockOptions {
  /**
   * REST base URL, as Probot's `baseUrl`: `https://api.github.com` (default) or a GHES base
   * ending in `/api/v3` (see {@link GHE_API_URL}), whose GraphQL endpoint is `/api/graphql`.
   */
  baseUrl?: string;
  /**
   * The OpenAPI description REST mocks must exist in. Default: `api.github.com`, or the newest
   * GHES description when `baseUrl` is a GHES base.
   */
  openapi?: OpenApiDescriptionName;
  /** Let requests to 127.0.0.1, ::1 and localhost through (a test's own server). Default false. */
  allowLoopback?: boolean;
}

/** What nock's `.query()` accepts: an object of expected parameters, a predicate, or `true` (any). */
export type QueryMatcher = Parameters<nock.Interceptor["query"]>[0];

export interface RestMockOptions {
  /** Expected query string; without it, a request with a query string does not match. */
  query?: QueryMatcher;
  /** Expected request body: an object (deep-equal), a string, a RegExp or a predicate. */
  body?: nock.RequestBodyMatcher;
  /** Expected request headers. */
  headers?: Record<string, nock.RequestHeaderMatcher>;
}

/** Which GraphQL requests a GraphQL mock answers. Without any field, the next GraphQL request. */
export interface GraphQLMatch {
  /** The operation's name, e.g. `GetProjectItem`. */
  operationName?: string;
  /** The exact document (whitespace-insensitive); validated against GitHub's schema at once. */
  document?: string;
  /** The variables: deep-equal to this object, or accepted by this predicate. */
  variables?: Record<string, unknown> | ((variables: Record<string, unknown>) => boolean);
}

/** What a reply function learns about the request besides its path and body. */
export interface MockRequestInfo {
  /** Request headers, lower-cased names. */
  headers: Record<string, string | string[] | number | undefined>;
}

/** A reply body, or a function of the request's path, (parsed) body and headers that returns one. */
export type MockReplyBody =
  | nock.ReplyBody
  | ((uri: string, requestBody: nock.Body, request: MockRequestInfo) => nock.ReplyBody);

/** A declared request waiting for its answer; nothing is mocked until `reply…` is called. */
export interface PendingReply {
  /** Expect the request this many times (default once); each must happen. */
  times(count: number): this;
  /** Answer with `status`, a JSON (or text) body and headers. */
  reply(status: number, body?: MockReplyBody, headers?: nock.ReplyHeaders): GitHubMock;
  /** Answer with GitHub's error body (`{ message, documentation_url, status }`). */
  replyError(status: number, message?: string): GitHubMock;
  /** Fail at the network level (connection reset, DNS…), as a flaky network would. */
  replyWithError(error: string | Record<string, unknown>): GitHubMock;
}

/** A request that reached the mock (answered) or found no mock (missing). */
export interface RecordedRequest {
  method: string;
  url: string;
  /** For GraphQL requests: the operation name, if any. */
  operationName?: string | undefined;
}

/** A GraphQL document that does not validate against GitHub's schema. */
export interface InvalidGraphQLRequest {
  document: string;
  variables: Record<string, unknown> | undefined;
  errors: string;
}

/** The mock's contract was broken: a request without a mock, an unused mock, an invalid document… */
export class GitHubMockError extends Error {
  override readonly name = "GitHubMockError";

  constructor(
    message: string,
    readonly missing: readonly RecordedRequest[],
    readonly unused: readonly string[],
    readonly invalidGraphQL: readonly InvalidGraphQLRequest[],
    readonly unanswered: readonly string[],
  ) {
    super(message);
  }
}

const DEFAULT_ERROR_MESSAGES: Record<number, string> = {
  400: "Bad Request",
  401: "Bad credentials",
  403: "Resource not accessible by integration",
  404: "Not Found",
  409: "Conflict",
  410: "Gone",
  422: "Validation Failed",
  500: "Server Error",
  502: "Bad Gateway",
};

/** Nock-level state shared by every GitHubMock of the test file. */
let activeMocks = 0;

function isLoopbackHost(host: string): boolean {
  return /^(localhost|127(?:\.\d{1,3}){3}|\[::1\]|::1)(:\d+)?$/.test(host);
}

interface GraphQLRequest {
  query: string;
  variables: Record<string, unknown> | undefined;
  operationName: string | undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function readGraphQLRequest(body: unknown): GraphQLRequest | undefined {
  let parsed = body;
  if (typeof body === "string") {
    try {
      parsed = JSON.parse(body);
    } catch {
      return undefined;
    }
  }
  if (!isRecord(parsed) || typeof parsed.query !== "string") {
    return undefined;
  }
  return {
    query: parsed.query,
    variables: isRecord(parsed.variables) ? parsed.variables : undefined,
    operationName: typeof parsed.operationName === "string" ? parsed.operationName : undefined,
  };
}

function normalizeDocument(document: string): string {
  return document.replace(/\s+/g, " ").trim();
}

function matchesText(expected: string | RegExp | undefined, actual: unknown): boolean {
  if (expected === undefined) {
    return true;
  }
  if (typeof actual !== "string") {
    return false;
  }
  return typeof expected === "string" ? expected === actual : expected.test(actual);
}

/** Whether an Accept header asks for a file's raw bytes (`application/vnd.github.raw`, `…v3.raw`). */
function wantsRaw(accept: unknown): boolean {
  return /application\/vnd\.github(\.v3)?\.raw/.test(String(accept ?? ""));
}

function labelNames(value: unknown): string[] | undefined {
  const labels = isRecord(value) ? value.labels : value;
  if (!Array.isArray(labels)) {
    return undefined;
  }
  return labels.map((label: unknown) => (isRecord(label) ? String(label.name) : String(label)));
}

function list(title: string, lines: readonly string[]): string {
  return `${title}\n${lines.map((line) => `  - ${line}`).join("\n")}`;
}

class MockedRequest implements PendingReply {
  #count = 1;
  readonly #mock: GitHubMock;
  readonly #declare: (count: number) => nock.Interceptor;
  readonly #onReply: () => void;
  readonly #wrapBody: (body: MockReplyBody | undefined) => MockReplyBody | undefined;

  constructor(
    mock: GitHubMock,
    declare: (count: number) => nock.Interceptor,
    onReply: () => void,
    wrapBody: (body: MockReplyBody | undefined) => MockReplyBody | undefined = (body) => body,
  ) {
    this.#mock = mock;
    this.#declare = declare;
    this.#onReply = onReply;
    this.#wrapBody = wrapBody;
  }

  times(count: number): this {
    this.#count = count;
    return this;
  }

  reply(status: number, body?: MockReplyBody, headers?: nock.ReplyHeaders): GitHubMock {
    this.#onReply();
    const interceptor = this.#declare(this.#count);
    const answer = this.#wrapBody(body);
    if (typeof answer === "function") {
      // Two parameters exactly: nock treats a three-parameter reply function as callback-style.
      interceptor.reply(
        status,
        function (this: nock.ReplyFnContext, uri: string, requestBody: nock.Body) {
          return answer(uri, requestBody, { headers: this.req.headers });
        },
        headers,
      );
    } else {
      interceptor.reply(status, answer, headers);
    }
    return this.#mock;
  }

  replyError(status: number, message = DEFAULT_ERROR_MESSAGES[status] ?? "Error"): GitHubMock {
    return this.reply(status, fakeError(message, status));
  }

  replyWithError(error: string | Record<string, unknown>): GitHubMock {
    this.#onReply();
    this.#declare(this.#count).replyWithError(error);
    return this.#mock;
  }
}

/** A strict mock of one GitHub (github.com or a GHES), declared per test. */
export class GitHubMock {
  /** REST base URL (Probot's `baseUrl`). */
  readonly baseUrl: string;
  /** GraphQL endpoint. */
  readonly graphqlUrl: string;
  /** The OpenAPI description REST mocks are checked against. */
  readonly openapi: OpenApiDescriptionName;
  /** URLs to put in response bodies. */
  readonly urls: GitHubUrls;

  readonly #origin: string;
  readonly #restPrefix: string;
  readonly #graphqlPath: string;
  readonly #allowLoopback: boolean;
  #started = false;
  #declared = 0;
  #scopes: nock.Scope[] = [];
  #answered: RecordedRequest[] = [];
  #missing: RecordedRequest[] = [];
  #invalidGraphQL = new Map<string, InvalidGraphQLRequest>();
  #unanswered = new Set<string>();
  readonly #graphqlErrors = new Map<string, string>();
  readonly #onNoMatch = (...args: unknown[]): void => this.#recordMissing(args);

  constructor(options: GitHubMockOptions = {}) {
    const base = new URL((options.baseUrl ?? GITHUB_API_URL).replace(/\/+$/, ""));
    this.baseUrl = base.href.replace(/\/+$/, "");
    this.#origin = base.origin;
    this.#restPrefix = base.pathname.replace(/\/+$/, "");
    const ghes = /\/api\/v3$/.test(this.#restPrefix);
    this.#graphqlPath = ghes
      ? this.#restPrefix.replace(/\/v3$/, "/graphql")
      : `${this.#restPrefix}/graphql`;
    this.graphqlUrl = `${this.#origin}${this.#graphqlPath}`;
    this.openapi = options.openapi ?? (ghes ? latestGhesDescription() : "api.github.com");
    this.urls = urlsFor(this.baseUrl);
    this.#allowLoopback = options.allowLoopback ?? false;
  }

  // -------------------------------------------------------------------------------------------
  // Lifecycle

  /** Blocks the network and starts recording requests without a mock. `beforeAll`. */
  start(): void {
    if (this.#started) {
      return;
    }
    this.#started = true;
    activeMocks++;
    if (!nock.isActive()) {
      nock.activate();
    }
    nock.disableNetConnect();
    if (this.#allowLoopback) {
      nock.enableNetConnect(isLoopbackHost);
    }
    nock.emitter.on("no match", this.#onNoMatch);
  }

  /**
   * Throws a {@link GitHubMockError} listing every request that had no mock, every GraphQL
   * document GitHub's schema rejects, every mock declared without a reply and every mock left
   * unused. `afterEach`, before `reset()`.
   */
  verify(): void {
    const missing = this.#missing;
    const invalid = [...this.#invalidGraphQL.values()];
    const unanswered = [...this.#unanswered];
    const unused = this.#scopes.flatMap((scope) => scope.pendingMocks());
    if (missing.length + invalid.length + unanswered.length + unused.length === 0) {
      return;
    }
    const blocks = [
      "GitHub mock: this test broke the contract of the strict GitHub mock (docs/testing.md).",
    ];
    if (missing.length > 0) {
      blocks.push(
        list(
          "Requests without a mock (declare each with gh.rest(), gh.graphql() or a named helper):",
          missing.map(describeRequest),
        ),
      );
    }
    if (invalid.length > 0) {
      blocks.push(
        list(
          "GraphQL documents GitHub's schema rejects (fix the document in the code under test):",
          invalid.map(
            ({ document, errors }) =>
              `${errors.replace(/\n/g, "\n    ")}\n    document: ${normalizeDocument(document).slice(0, 300)}`,
          ),
        ),
      );
    }
    if (unanswered.length > 0) {
      blocks.push(list("Mocks declared without .reply() (finish or remove them):", unanswered));
    }
    if (unused.length > 0) {
      blocks.push(
        list(
          "Mocks never requested (the code did not make this call; remove the mock or fix the code):",
          unused.map((pending) => pending.replace(":443/", "/")),
        ),
      );
    }
    if (this.#answered.length > 0) {
      blocks.push(list("Requests answered:", this.#answered.map(describeRequest)));
    }
    throw new GitHubMockError(blocks.join("\n\n"), missing, unused, invalid, unanswered);
  }

  /** Forgets every mock and every recorded request. `afterEach`, after `verify()`. */
  reset(): void {
    nock.abortPendingRequests();
    for (const scope of this.#scopes) {
      scope.removeAllListeners();
    }
    nock.cleanAll();
    this.#scopes = [];
    this.#answered = [];
    this.#missing = [];
    this.#invalidGraphQL = new Map();
    this.#unanswered = new Set();
  }

  /** Stops recording and, when no other mock is active, gives the network back. `afterAll`. */
  stop(): void {
    if (!this.#started) {
      return;
    }
    this.#started = false;
    nock.emitter.removeListener("no match", this.#onNoMatch);
    this.reset();
    activeMocks--;
    if (activeMocks === 0) {
      nock.enableNetConnect();
      nock.restore();
    }
  }

  /** Requests answered by a mock so far in this test. */
  get requests(): readonly RecordedRequest[] {
    return this.#answered;
  }

  /** Whether every declared mock has been requested. */
  isDone(): boolean {
    return this.#unanswered.size === 0 && this.#scopes.every((scope) => scope.isDone());
  }

  // -------------------------------------------------------------------------------------------
  // Declaring mocks

  /**
   * Declares a REST request. `path` is a template of GitHub's description with its parameters
   * (`"/repos/{owner}/{repo}/issues/{issue_number}", { owner: "o", repo: "r", issue_number: 1 }`)
   * or a concrete path (`"/repos/o/r/issues/1"`). Throws at once when GitHub has no such
   * method + path. Parameters are encoded as Octokit encodes them.
   */
  rest<Path extends string>(
    method: HttpMethod,
    path: Path,
    ...[params, options]: Path extends `${string}{${string}}${string}`
      ? [params: PathParams<Path>, options?: RestMockOptions]
      : [params?: Record<never, never>, options?: RestMockOptions]
  ): PendingReply {
    const operation = this.#resolve(method, path, params ?? {});
    return this.#restRequest(
      operation,
      options ?? {},
      path.includes("?") ? path.slice(path.indexOf("?") + 1) : "",
    );
  }

  /**
   * Declares a GraphQL request (POST to the GraphQL endpoint). Every document that reaches this
   * mock is validated against GitHub's schema with its variables; an invalid one is answered
   * with GraphQL errors, as GitHub would, and fails the test in `verify()`.
   */
  graphql(match: GraphQLMatch = {}): PendingReply {
    if (match.document !== undefined) {
      const errors = validateGraphQL(match.document);
      if (errors.length > 0) {
        throw new Error(
          `gh.graphql(): the document to match is not valid against GitHub's schema:\n${formatGraphQLErrors(errors)}`,
        );
      }
    }
    const expected = match.document === undefined ? undefined : normalizeDocument(match.document);
    const label = `POST ${this.graphqlUrl}${match.operationName === undefined ? "" : ` (${match.operationName})`}`;
    const matcher = (body: unknown): boolean => {
      const request = readGraphQLRequest(body);
      if (request === undefined) {
        return false;
      }
      this.#checkGraphQL(request);
      const name = request.operationName ?? graphQLOperationName(request.query);
      const variables = request.variables ?? {};
      return (
        (match.operationName === undefined || match.operationName === name) &&
        (expected === undefined || expected === normalizeDocument(request.query)) &&
        (match.variables === undefined ||
          (typeof match.variables === "function"
            ? match.variables(variables)
            : isDeepStrictEqual(match.variables, variables)))
      );
    };
    const wrapBody = (body: MockReplyBody | undefined): MockReplyBody => {
      return (uri, requestBody, info) => {
        const request = readGraphQLRequest(requestBody);
        const errors = request === undefined ? undefined : this.#checkGraphQL(request);
        if (errors !== undefined) {
          // GitHub answers an invalid document with 200 and `errors`; the test fails in verify().
          return { errors: errors.split("\n").map((message) => ({ message })) };
        }
        return typeof body === "function" ? body(uri, requestBody, info) : (body ?? "");
      };
    };
    return this.#pending(
      label,
      (count) => this.#scope().post(this.#graphqlPath, matcher).times(count),
      wrapBody,
    );
  }

  // -------------------------------------------------------------------------------------------
  // Named helpers for recurring calls. Each answers with a body shaped like GitHub's (checked
  // against the OpenAPI description) and returns the mock, for chaining.

  /** `POST /app/installations/{installation_id}/access_tokens` -> 201 with a token valid for an hour. */
  installationToken(installationId = 1, fields: InstallationTokenFields = {}): this {
    return this.#named(
      "POST",
      "/app/installations/{installation_id}/access_tokens",
      { installation_id: installationId },
      {},
      201,
      fakeInstallationToken(fields),
    );
  }

  /**
   * `GET /repos/{owner}/{repo}/collaborators/{username}/permission` -> 200 with `role_name`
   * `permission` (and the legacy `permission` field GitHub derives from it).
   */
  collaboratorPermission(repo: RepoRef, username: string, permission: RepositoryPermission): this {
    return this.#named(
      "GET",
      "/repos/{owner}/{repo}/collaborators/{username}/permission",
      { ...repo, username },
      {},
      200,
      fakeCollaboratorPermission(username, permission, this.urls),
    );
  }

  /**
   * `GET /repos/{owner}/{repo}/contents/{path}` -> 200 with `text` base64-encoded as GitHub
   * sends it, or the raw text when the request asks for `application/vnd.github.raw` (as
   * Probot's `context.config()` does), or 404 when `text` is null (no such file). Pass `ref` when
   * the code asks for a branch; without it the request must carry no query (the default branch).
   */
  repositoryContent(
    repo: RepoRef,
    path: string,
    text: string | null,
    options: { ref?: string } = {},
  ): this {
    const query = options.ref === undefined ? {} : { query: { ref: options.ref } };
    const params = { ...repo, path };
    if (text === null) {
      const operation = this.#resolve("GET", "/repos/{owner}/{repo}/contents/{path}", params);
      this.#restRequest(operation, query, "").replyError(404);
      return this;
    }
    const file = fakeContentFile(repo, path, text, options.ref ?? "main", this.urls);
    return this.#named(
      "GET",
      "/repos/{owner}/{repo}/contents/{path}",
      params,
      query,
      200,
      (_uri, _body, request) => (wantsRaw(request.headers.accept) ? text : file),
      {
        "content-type": (request) =>
          wantsRaw(request.getHeader("accept"))
            ? "text/plain; charset=utf-8"
            : "application/json; charset=utf-8",
      },
    );
  }

  /** `.github/kanbot.yml` of `repo` (null: the repository has none). */
  repoConfig(repo: RepoRef, yaml: string | null, options: { ref?: string } = {}): this {
    return this.repositoryContent(repo, REPO_CONFIG_PATH, yaml, options);
  }

  /** `POST /repos/{owner}/{repo}/labels` with this name (and color/description if given) -> 201. */
  createLabel(repo: RepoRef, label: LabelFields): this {
    const matcher = (body: unknown): boolean =>
      isRecord(body) &&
      body.name === label.name &&
      (label.color === undefined || body.color === label.color) &&
      (label.description === undefined || body.description === label.description);
    return this.#named(
      "POST",
      "/repos/{owner}/{repo}/labels",
      { ...repo },
      { body: matcher },
      201,
      fakeLabel(repo, label, this.urls),
    );
  }

  /**
   * `POST /repos/{owner}/{repo}/issues/{issue_number}/labels` adding exactly `labels` (any
   * order) -> 200 with every label now on the issue (`existing` plus the added ones).
   */
  addLabels(
    repo: RepoRef,
    issueNumber: number,
    labels: string[],
    options: { existing?: string[] } = {},
  ): this {
    const expected = [...labels].sort();
    const matcher = (body: unknown): boolean =>
      isDeepStrictEqual(labelNames(body)?.sort(), expected);
    const all = [...new Set([...(options.existing ?? []), ...labels])];
    return this.#named(
      "POST",
      "/repos/{owner}/{repo}/issues/{issue_number}/labels",
      { ...repo, issue_number: issueNumber },
      { body: matcher },
      200,
      all.map((name) => fakeLabel(repo, { name }, this.urls)),
    );
  }

  /**
   * `DELETE /repos/{owner}/{repo}/issues/{issue_number}/labels/{name}` -> 200 with the labels
   * left (`remaining`), or 404 "Label does not exist" when `absent`.
   */
  removeLabel(
    repo: RepoRef,
    issueNumber: number,
    name: string,
    options: { remaining?: string[]; absent?: boolean } = {},
  ): this {
    const params = { ...repo, issue_number: issueNumber, name };
    if (options.absent === true) {
      const operation = this.#resolve(
        "DELETE",
        "/repos/{owner}/{repo}/issues/{issue_number}/labels/{name}",
        params,
      );
      this.#restRequest(operation, {}, "").replyError(404, "Label does not exist");
      return this;
    }
    return this.#named(
      "DELETE",
      "/repos/{owner}/{repo}/issues/{issue_number}/labels/{name}",
      params,
      {},
      200,
      (options.remaining ?? []).map((label) => fakeLabel(repo, { name: label }, this.urls)),
    );
  }

  /**
   * `GET /repos/{owner}/{repo}/issues/{issue_number}/comments` -> 200 with these comments (one
   * page). Any query string matches unless `query` says otherwise.
   */
  listComments(
    repo: RepoRef,
    issueNumber: number,
    comments: Omit<CommentFields, "issueNumber">[],
    options: { query?: QueryMatcher } = {},
  ): this {
    return this.#named(
      "GET",
      "/repos/{owner}/{repo}/issues/{issue_number}/comments",
      { ...repo, issue_number: issueNumber },
      { query: options.query ?? true },
      200,
      comments.map((comment) => fakeComment(repo, { ...comment, issueNumber }, this.urls)),
    );
  }

  /**
   * `POST /repos/{owner}/{repo}/issues/{issue_number}/comments` (with this body text, or any) ->
   * 201 with the comment as created, echoing the text sent; its id is `id` (default 1001).
   */
  createComment(
    repo: RepoRef,
    issueNumber: number,
    options: { body?: string | RegExp; id?: number } = {},
  ): this {
    const id = options.id ?? 1001;
    const matcher = (body: unknown): boolean =>
      isRecord(body) && matchesText(options.body, body.body);
    return this.#named(
      "POST",
      "/repos/{owner}/{repo}/issues/{issue_number}/comments",
      { ...repo, issue_number: issueNumber },
      { body: matcher },
      201,
      (_uri, requestBody) =>
        fakeComment(
          repo,
          { id, issueNumber, body: isRecord(requestBody) ? String(requestBody.body) : "" },
          this.urls,
        ),
    );
  }

  /**
   * `PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}` (with this body text, or any) ->
   * 200 with the updated comment, echoing the text sent.
   */
  updateComment(
    repo: RepoRef,
    commentId: number,
    options: { body?: string | RegExp; issueNumber?: number } = {},
  ): this {
    const matcher = (body: unknown): boolean =>
      isRecord(body) && matchesText(options.body, body.body);
    const issueNumber = options.issueNumber ?? 1;
    return this.#named(
      "PATCH",
      "/repos/{owner}/{repo}/issues/comments/{comment_id}",
      { ...repo, comment_id: commentId },
      { body: matcher },
      200,
      (_uri, requestBody) =>
        fakeComment(
          repo,
          {
            id: commentId,
            issueNumber,
            body: isRecord(requestBody) ? String(requestBody.body) : "",
          },
          this.urls,
        ),
    );
  }

  /** `GET /repos/{owner}/{repo}/issues/{issue_number}` -> 200 with the issue. */
  getIssue(repo: RepoRef, issueNumber: number, fields: Omit<IssueFields, "number"> = {}): this {
    return this.#named(
      "GET",
      "/repos/{owner}/{repo}/issues/{issue_number}",
      { ...repo, issue_number: issueNumber },
      {},
      200,
      fakeIssue(repo, { ...fields, number: issueNumber }, this.urls),
    );
  }

  // -------------------------------------------------------------------------------------------
  // Internals

  #resolve(
    method: HttpMethod,
    path: string,
    params: Record<string, string | number>,
  ): RestOperation {
    const pathname = path.split("?")[0] ?? path;
    if (/(^|\/)graphql$/.test(pathname)) {
      throw new Error(
        "gh.rest(): GraphQL is not a REST path; declare GraphQL requests with gh.graphql()",
      );
    }
    const concrete = pathname.includes("{") ? expandPath(pathname, params) : pathname;
    return resolveRestOperation(method, concrete, this.openapi);
  }

  #scope(): nock.Scope {
    const scope = nock(this.#origin);
    scope.on(
      "request",
      (request: { method?: string; path?: string }, _interceptor: unknown, body: string) => {
        const url = `${this.#origin}${request.path ?? ""}`;
        const method = request.method ?? "?";
        const graphql = url === this.graphqlUrl ? readGraphQLRequest(body) : undefined;
        const operationName =
          graphql && (graphql.operationName ?? graphQLOperationName(graphql.query));
        this.#answered.push({ method, url, operationName });
      },
    );
    this.#scopes.push(scope);
    return scope;
  }

  #pending(
    label: string,
    declare: (count: number) => nock.Interceptor,
    wrapBody?: (body: MockReplyBody | undefined) => MockReplyBody | undefined,
  ): PendingReply {
    this.#declared++;
    const key = `${label} [mock #${this.#declared}]`;
    this.#unanswered.add(key);
    return new MockedRequest(this, declare, () => this.#unanswered.delete(key), wrapBody);
  }

  #restRequest(operation: RestOperation, options: RestMockOptions, search: string): PendingReply {
    const path = `${this.#restPrefix}${expandPath(operation.template, operation.params)}`;
    const label = `${operation.method} ${this.#origin}${path} (${operation.operationId})`;
    return this.#pending(label, (count) => {
      let interceptor = this.#scope().intercept(path, operation.method, options.body);
      if (options.query !== undefined) {
        interceptor = interceptor.query(options.query);
      } else if (search !== "") {
        interceptor = interceptor.query(search);
      }
      for (const [name, value] of Object.entries(options.headers ?? {})) {
        interceptor = interceptor.matchHeader(name, value);
      }
      return interceptor.times(count);
    });
  }

  /** A named helper's mock: its body must have the shape GitHub documents for the status. */
  #named(
    method: HttpMethod,
    template: string,
    params: Record<string, string | number>,
    options: RestMockOptions,
    status: number,
    body:
      nock.Body | ((uri: string, requestBody: nock.Body, request: MockRequestInfo) => nock.Body),
    headers?: nock.ReplyHeaders,
  ): this {
    const operation = this.#resolve(method, template, params);
    const sample = typeof body === "function" ? body("", {}, { headers: {} }) : body;
    const problems = checkResponseShape(operation, status, sample);
    if (problems.length > 0) {
      throw new Error(
        `GitHub mock: the ${operation.operationId} body is not shaped like GitHub's (${operation.description}):\n${problems.join("\n")}`,
      );
    }
    this.#restRequest(operation, options, "").reply(status, body, headers);
    return this;
  }

  /** Validates a GraphQL request once; returns its errors (text), or undefined when valid. */
  #checkGraphQL(request: GraphQLRequest): string | undefined {
    const key = `${request.query}\n${JSON.stringify(request.variables ?? null)}\n${request.operationName ?? ""}`;
    if (!this.#graphqlErrors.has(key)) {
      const errors = validateGraphQL(request.query, {
        variables: request.variables ?? {},
        operationName: request.operationName,
      });
      this.#graphqlErrors.set(key, formatGraphQLErrors(errors));
    }
    const errors = this.#graphqlErrors.get(key) ?? "";
    if (errors === "") {
      return undefined;
    }
    this.#invalidGraphQL.set(key, {
      document: request.query,
      variables: request.variables,
      errors,
    });
    return errors;
  }

  #recordMissing(args: unknown[]): void {
    const withUrl = args.find(
      (arg): arg is { href: string; method?: string } => isRecord(arg) && "href" in arg,
    );
    if (withUrl === undefined) {
      return;
    }
    const url = new URL(String(withUrl.href));
    if (this.#allowLoopback && isLoopbackHost(url.host)) {
      return;
    }
    const body = args.length >= 3 ? args[2] : undefined;
    const graphql = url.href === this.graphqlUrl ? readGraphQLRequest(body) : undefined;
    if (graphql !== undefined) {
      this.#checkGraphQL(graphql);
    }
    this.#missing.push({
      method: String(withUrl.method ?? "GET").toUpperCase(),
      url: url.href,
      operationName: graphql && (graphql.operationName ?? graphQLOperationName(graphql.query)),
    });
  }
}

function describeRequest(request: RecordedRequest): string {
  return `${request.method} ${request.url}${request.operationName === undefined ? "" : ` (${request.operationName})`}`;
}

/** A strict GitHub mock without test hooks: call `start`, `verify`, `reset` and `stop` yourself. */
export function createGitHubMock(options: GitHubMockOptions = {}): GitHubMock {
  return new GitHubMock(options);
}

/**
 * A strict GitHub mock for the calling test file or `describe` block: started in `beforeAll`,
 * verified and reset after each test (so a test fails on a request without a mock, an invalid
 * GraphQL document or an unused mock), stopped in `afterAll`.
 */
export function setupGitHubMock(options: GitHubMockOptions = {}): GitHubMock {
  const gh = createGitHubMock(options);
  beforeAll(() => gh.start());
  afterEach(() => {
    try {
      gh.verify();
    } finally {
      gh.reset();
    }
  });
  afterAll(() => gh.stop());
  return gh;
}
