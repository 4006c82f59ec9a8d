/**
 * `startSimulator()`: a local GitHub for end-to-end tests and the demo. It composes the state
 * (./state.ts), GitHub's behaviour (./github.ts), REST (./rest.ts), GraphQL (./graphql.ts), git
 * over HTTP (./git.ts) and webhooks (./webhooks.ts) behind one server (./server.ts), and gives
 * tests a seeding API and a scripting API (`sim.actAs(login)`) for what people do on GitHub.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { commitToRemote, type FileTree } from "../helpers/git-repos.js";
import { latestGhesDescription, type OpenApiDescriptionName } from "../helpers/github-openapi.js";
import { appPublicKey, mintUserToken } from "./auth.js";
import { initBare, type MergeMethod } from "./git.js";
import { GraphQLApi } from "./graphql.js";
import { CI_APP, SimGitHub, type CiRun } from "./github.js";
import { limitConfig, RateLimiter, type LimitsOption } from "./rate-limits.js";
import { RestApi, type Violation } from "./rest.js";
import { startServer, type GitRequest } from "./server.js";
import { Shapes } from "./shapes.js";
import {
  SimulatorState,
  type AccessLevel,
  type CiConfig,
  type CommitState,
  type IssueStateReason,
  type Permission,
  type SimInstallation,
  type SimIssue,
  type SimProject,
  type SimPull,
  type SimRepo,
} from "./state.js";
import { WebhookSender, type Delivery, type WebhookTarget } from "./webhooks.js";

/** The permissions kanbot's app.yml asks for; an installation grants these by default. */
export const DEFAULT_APP_PERMISSIONS = {
  issues: "write",
  pull_requests: "write",
  contents: "write",
  checks: "write",
  actions: "read",
  statuses: "read",
  metadata: "read",
  organization_projects: "write",
  members: "read",
} as const satisfies Record<string, AccessLevel>;

export interface SimulatorOptions {
  /** Default 0: any free port on 127.0.0.1. */
  port?: number;
  /** Where webhooks go; without it events are recorded but not sent. */
  webhook?: WebhookTarget;
  /** The app's id: the JWT's `iss` must match. */
  appId: number;
  /** The app's key (private or public PEM): only its public half is used, to verify JWTs. */
  privateKey: string;
  /** Default `kanbot`: the bot is `<slug>[bot]`. */
  appSlug?: string;
  /** GitHub's OpenAPI description requests and answers are checked against; default api.github.com. */
  description?: OpenApiDescriptionName | "latest-ghes";
  /** How long an installation token lives; default one hour, as on GitHub. */
  tokenLifetimeMs?: number;
  /** How long a CI run may take before it is killed (conclusion `timed_out`); default 5 minutes. */
  ciTimeoutMs?: number;
  /** Receives the simulator's logs (default: only violations, to stderr). */
  log?: (facts: Record<string, unknown>, message: string) => void;
  /**
   * GitHub's rate limits (./rate-limits.ts): `false` (default) counts requests but refuses none,
   * `true` enforces GitHub's published limits, an object changes some of them.
   */
  limits?: LimitsOption;
  /** The simulator's clock (token expiry, timestamps, rate limit windows); default real time. */
  now?: () => Date;
}

export interface RepoSpec {
  owner: string;
  name: string;
  /** Default `main`. */
  defaultBranch?: string;
  /** The first commit's files; default a README. */
  files?: FileTree;
  private?: boolean;
  /** The simulated CI; without it, a `.simulator-ci` file in the pushed commit names the command. */
  ci?: CiConfig;
}

export interface ProjectSpec {
  number: number;
  title?: string;
  /** Single-select fields and their options, e.g. `{ Status: ["Todo", "In Progress", "Done"] }`. */
  fields: Record<string, string[]>;
}

/** What a person does on GitHub, as the demo and end-to-end tests script it. Repos are `owner/name`. */
export interface Actor {
  readonly login: string;
  createIssue(
    repo: string,
    fields: { title: string; body?: string; labels?: string[] },
  ): Promise<number>;
  labelIssue(repo: string, number: number, ...labels: string[]): Promise<void>;
  unlabelIssue(repo: string, number: number, label: string): Promise<void>;
  comment(repo: string, number: number, body: string): Promise<number>;
  closeIssue(repo: string, number: number, reason?: "completed" | "not_planned"): Promise<void>;
  reopenIssue(repo: string, number: number): Promise<void>;
  /** Moves the issue's card on the org's project (added to it first if needed) to `column`. */
  moveCard(
    repo: string,
    number: number,
    column: string,
    options?: { project?: number; field?: string },
  ): Promise<void>;
  /** Commits `files` on `branch` (created from `from`, default the default branch) and pushes. */
  push(
    repo: string,
    branch: string,
    files: FileTree,
    message?: string,
    options?: { from?: string },
  ): Promise<string>;
  openPullRequest(
    repo: string,
    fields: { head: string; base?: string; title: string; body?: string; draft?: boolean },
  ): Promise<number>;
  approve(repo: string, number: number, body?: string): Promise<void>;
  requestChanges(
    repo: string,
    number: number,
    body: string,
    comments?: { path: string; line: number; body: string }[],
  ): Promise<void>;
  merge(repo: string, number: number, method?: MergeMethod): Promise<string>;
  setStatus(repo: string, sha: string, state: CommitState, context: string): Promise<void>;
}

export interface Simulator {
  /** `http://127.0.0.1:<port>`. */
  url: string;
  /** `127.0.0.1:<port>`: Probot's `GHE_HOST` (with `GHE_PROTOCOL=http`). */
  host: string;
  /** REST base, `<url>/api/v3`. */
  apiUrl: string;
  /** The clone URL of a repository (`owner/name`). */
  gitUrl(repo: string): string;
  state: SimulatorState;
  github: SimGitHub;
  /** Everything GitHub would not do or answer; tests assert it stays empty. */
  violations: Violation[];
  /**
   * Requests counted by client (`installation:<id>`, `user:<login>`, `app`) and class
   * (`limits.total()`, `limits.of(client)`), the refusals (`limits.refusals`), `limits.reset()`.
   */
  limits: RateLimiter;
  deliveries: Delivery[];
  ciRuns: CiRun[];
  gitRequests: GitRequest[];
  /** The operationIds the REST API serves. */
  operations: string[];
  addOrg(login: string): void;
  addRepo(spec: RepoSpec): Promise<SimRepo>;
  addCollaborator(repo: string, login: string, permission: Permission): void;
  /** Installs the app on `account`; returns the installation id. */
  install(
    account: string,
    options?: { repositories?: string[]; permissions?: Record<string, AccessLevel> },
  ): number;
  protectBranch(
    repo: string,
    branch: string,
    rule: {
      requiredChecks?: string[];
      requiredApprovals?: number;
      source?: "branch-protection" | "ruleset";
    },
  ): void;
  addProject(org: string, spec: ProjectSpec): SimProject;
  /** Records that issue `number` is blocked by issue `blocker`. */
  addBlockedBy(repo: string, number: number, blocker: number): void;
  addSubIssue(repo: string, parent: number, child: number): void;
  /** A personal token for `login`, for REST and git as that person. */
  userToken(login: string): string;
  expireToken(token: string): void;
  revokeToken(token: string): void;
  actAs(login: string): Actor;
  issue(repo: string, number: number): SimIssue;
  pull(repo: string, number: number): SimPull;
  /** The card's option in `field` (default Status) on the org's project, or undefined. */
  cardColumn(
    repo: string,
    number: number,
    options?: { project?: number; field?: string },
  ): string | undefined;
  /** Resolves when no webhook is queued and no CI runs (poll targets, not timers). */
  idle(): Promise<void>;
  stop(): Promise<void>;
}

function defaultLog(facts: Record<string, unknown>, message: string): void {
  if (message === message.toUpperCase()) console.error(`[github-simulator] ${message}`, facts);
}

export async function startSimulator(options: SimulatorOptions): Promise<Simulator> {
  const log = options.log ?? defaultLog;
  const state = new SimulatorState(options.now);
  const limiter = new RateLimiter(limitConfig(options.limits), () => state.now().getTime());
  const violations: Violation[] = [];
  const record = (violation: Violation) => void violations.push(violation);
  const gitRoot = mkdtempSync(join(tmpdir(), "kanbot-sim-git-"));
  const slug = options.appSlug ?? "kanbot";
  const app = {
    id: options.appId,
    slug,
    name: slug,
    nodeId: `A_${options.appId}`,
    owner: "octo-org",
  };
  state.apps.set(app.id, app);
  state.apps.set(CI_APP.id, CI_APP);
  const hooks = new WebhookSender(options.webhook, options.appId, log, () => state.now());
  const description =
    options.description === "latest-ghes"
      ? latestGhesDescription()
      : (options.description ?? "api.github.com");

  const server = await startServer(options.port ?? 0, (url) => {
    const shapes = new Shapes(state, { api: `${url}/api/v3`, web: url });
    const github = new SimGitHub(state, shapes, hooks, app, {
      ciTimeoutMs: options.ciTimeoutMs ?? 300_000,
    });
    return {
      github,
      rest: new RestApi(
        github,
        { description, tokenLifetimeMs: options.tokenLifetimeMs ?? 3_600_000, record, log },
        `${url}/api/v3`,
      ),
      graphql: new GraphQLApi(github, record, log),
      appKey: appPublicKey(options.privateKey),
      appId: options.appId,
      gitRoot,
      record,
      limiter,
    };
  });
  const github = server.parts.github;

  function project(org: string, number?: number): SimProject {
    const found =
      number === undefined
        ? state.projects.find((candidate) => candidate.owner.toLowerCase() === org.toLowerCase())
        : state.project(org, number);
    if (found === undefined)
      throw new Error(
        `the simulator has no project ${number ?? ""} of ${org}; add it with sim.addProject()`,
      );
    return found;
  }

  function actAs(login: string): Actor {
    state.account(login);
    return {
      login,
      async createIssue(repo, fields) {
        return (await github.createIssue(login, state.mustRepo(repo), fields)).number;
      },
      labelIssue: (repo, number, ...labels) =>
        github.addLabels(login, state.mustRepo(repo), number, labels),
      unlabelIssue: (repo, number, label) =>
        github.removeLabel(login, state.mustRepo(repo), number, label),
      comment: (repo, number, body) =>
        Promise.resolve(github.comment(login, state.mustRepo(repo), number, body).id),
      async closeIssue(repo, number, reason = "completed") {
        await github.updateIssue(login, state.mustRepo(repo), number, {
          state: "closed",
          stateReason: reason as IssueStateReason,
        });
      },
      async reopenIssue(repo, number) {
        await github.updateIssue(login, state.mustRepo(repo), number, { state: "open" });
      },
      async moveCard(repo, number, column, where = {}) {
        const target = state.mustRepo(repo);
        const board = project(target.owner, where.project);
        const field = board.fields.find(
          (candidate) => candidate.name === (where.field ?? "Status"),
        );
        const option = field?.options.find((candidate) => candidate.name === column);
        if (field === undefined || option === undefined) {
          throw new Error(
            `project ${board.number} has no ${where.field ?? "Status"} option ${column}`,
          );
        }
        const item = github.addProjectItem(login, board, state.mustIssue(target, number).nodeId);
        github.setProjectValue(login, board, item, field.id, option.id);
        await Promise.resolve();
      },
      async push(repo, branch, files, message = "change", pushOptions = {}) {
        const target = state.mustRepo(repo);
        const { branchSha } = await import("./git.js");
        const before = await branchSha(target.gitDir, branch);
        const sha = commitToRemote(target.gitDir, branch, files, message, {
          create: before === undefined,
          from: pushOptions.from ?? target.defaultBranch,
        });
        await github.pushed(login, target, [
          { ref: `refs/heads/${branch}`, before: before ?? "0".repeat(40), after: sha },
        ]);
        return sha;
      },
      async openPullRequest(repo, fields) {
        const target = state.mustRepo(repo);
        const pull = await github.createPull(login, target, {
          ...fields,
          base: fields.base ?? target.defaultBranch,
        });
        return pull.number;
      },
      async approve(repo, number, body = "") {
        const target = state.mustRepo(repo);
        await github.submitReview(login, target, state.mustPull(target, number), {
          event: "APPROVE",
          body,
        });
      },
      async requestChanges(repo, number, body, comments = []) {
        const target = state.mustRepo(repo);
        await github.submitReview(login, target, state.mustPull(target, number), {
          event: "REQUEST_CHANGES",
          body,
          comments,
        });
      },
      merge(repo, number, method = "squash") {
        const target = state.mustRepo(repo);
        return github.merge(login, target, state.mustPull(target, number), { method });
      },
      async setStatus(repo, sha, commitState, context) {
        await github.createStatus(login, state.mustRepo(repo), sha, {
          state: commitState,
          context,
        });
      },
    };
  }

  return {
    url: server.url,
    host: server.host,
    apiUrl: `${server.url}/api/v3`,
    gitUrl: (repo) => `${server.url}/${repo}.git`,
    state,
    github,
    violations,
    limits: limiter,
    deliveries: hooks.deliveries,
    ciRuns: github.ciRuns,
    gitRequests: server.gitRequests,
    operations: server.parts.rest.operations,
    addOrg(login) {
      state.account(login, "Organization");
    },
    async addRepo(spec) {
      const defaultBranch = spec.defaultBranch ?? "main";
      state.account(spec.owner);
      const gitDir = join(gitRoot, spec.owner, `${spec.name}.git`);
      await initBare(gitDir, defaultBranch);
      commitToRemote(
        gitDir,
        defaultBranch,
        spec.files ?? { "README.md": `# ${spec.name}\n` },
        "initial commit",
        { create: true },
      );
      const id = state.id();
      const now = state.timestamp();
      const repo: SimRepo = {
        id,
        nodeId: "",
        owner: spec.owner,
        name: spec.name,
        defaultBranch,
        private: spec.private ?? true,
        gitDir,
        collaborators: new Map(),
        labels: new Map(),
        issues: new Map(),
        pulls: new Map(),
        nextNumber: 1,
        protection: new Map(),
        checkSuites: [],
        checkRuns: [],
        statuses: [],
        ci: spec.ci,
        createdAt: now,
        pushedAt: now,
      };
      repo.nodeId = state.nodeId("R", id, { kind: "repository", repo });
      state.repos.set(`${spec.owner}/${spec.name}`.toLowerCase(), repo);
      return repo;
    },
    addCollaborator(repo, login, permission) {
      state.account(login);
      state.mustRepo(repo).collaborators.set(login.toLowerCase(), permission);
    },
    install(account, installOptions = {}) {
      const id = state.id();
      const installation: SimInstallation = {
        id,
        account,
        repositories:
          installOptions.repositories === undefined
            ? "all"
            : new Set(
                installOptions.repositories.map((name) =>
                  (name.includes("/") ? name : `${account}/${name}`).toLowerCase(),
                ),
              ),
        permissions: installOptions.permissions ?? { ...DEFAULT_APP_PERMISSIONS },
        suspended: false,
        createdAt: state.timestamp(),
      };
      state.installations.set(id, installation);
      return id;
    },
    protectBranch(repo, branch, rule) {
      state.mustRepo(repo).protection.set(branch, {
        source: rule.source ?? "ruleset",
        requiredChecks: rule.requiredChecks ?? [],
        requiredApprovals: rule.requiredApprovals ?? 0,
      });
    },
    addProject(org, spec) {
      const databaseId = state.id();
      const created: SimProject = {
        id: "",
        databaseId,
        owner: org,
        number: spec.number,
        title: spec.title ?? `Project ${spec.number}`,
        fields: [],
        items: [],
      };
      created.id = state.nodeId("PVT", databaseId, { kind: "project", project: created });
      for (const [name, options] of Object.entries(spec.fields)) {
        const fieldId = state.id();
        const field = {
          id: "",
          name,
          options: options.map((option, i) => ({
            id: `${fieldId.toString(16)}${i.toString(16).padStart(4, "0")}`,
            name: option,
          })),
        };
        field.id = state.nodeId("PVTSSF", fieldId, { kind: "field", project: created, field });
        created.fields.push(field);
      }
      state.projects.push(created);
      return created;
    },
    addBlockedBy(repo, number, blocker) {
      github.addBlockedBy(state.mustRepo(repo), number, blocker);
    },
    addSubIssue(repo, parent, child) {
      github.addSubIssue(state.mustRepo(repo), parent, child);
    },
    userToken: (login) => mintUserToken(state, login).token,
    expireToken(token) {
      const found = state.tokens.get(token);
      if (found !== undefined) found.expiresAt = new Date(state.now().getTime() - 1000);
    },
    revokeToken(token) {
      const found = state.tokens.get(token);
      if (found !== undefined) found.revoked = true;
    },
    actAs,
    issue: (repo, number) => state.mustIssue(state.mustRepo(repo), number),
    pull: (repo, number) => state.mustPull(state.mustRepo(repo), number),
    cardColumn(repo, number, where = {}) {
      const target = state.mustRepo(repo);
      const board = project(target.owner, where.project);
      const nodeId = state.mustIssue(target, number).nodeId;
      const item = board.items.find((candidate) => candidate.contentNodeId === nodeId);
      const field = board.fields.find((candidate) => candidate.name === (where.field ?? "Status"));
      if (item === undefined || field === undefined) return undefined;
      return field.options.find((option) => option.id === item.values.get(field.id))?.name;
    },
    async idle() {
      while (hooks.pending > 0 || github.ciActive > 0) {
        await hooks.drained();
        await github.ciDrained();
      }
    },
    async stop() {
      await github.ciDrained();
      await hooks.drained();
      await server.close();
      rmSync(gitRoot, { recursive: true, force: true });
    },
  };
}
