/**
 * The simulator's in-memory GitHub: users, organisations, repositories (each backed by a bare git
 * repository on disk), issues, pull requests, checks, statuses, branch protection, Projects v2,
 * the app, its installations and the tokens GitHub minted. Plain data plus lookups; what GitHub
 * does with it (refusals, webhooks, CI) lives in the modules that use it.
 */

/** Repository permission levels, highest last. */
export type Permission = "read" | "triage" | "write" | "maintain" | "admin";

export const PERMISSION_RANK = {
  read: 1,
  triage: 2,
  write: 3,
  maintain: 4,
  admin: 5,
} as const satisfies Record<Permission, number>;

/** A GitHub App permission's level. */
export type AccessLevel = "read" | "write";

export type AccountType = "User" | "Bot" | "Organization";

export interface SimAccount {
  login: string;
  id: number;
  nodeId: string;
  type: AccountType;
}

export interface SimLabel {
  id: number;
  nodeId: string;
  name: string;
  color: string;
  description: string | null;
}

export interface SimComment {
  id: number;
  nodeId: string;
  issueNumber: number;
  body: string;
  author: string;
  createdAt: string;
  updatedAt: string;
}

export type IssueStateReason = "completed" | "not_planned" | "reopened" | null;

/** An entry of an issue's timeline events (`GET …/issues/{n}/events`): label changes only. */
export interface SimIssueEvent {
  id: number;
  nodeId: string;
  event: "labeled" | "unlabeled";
  /** Who added or removed the label (the app's bot for an installation token). */
  actor: string;
  /** The label as it was named and coloured then. */
  label: { name: string; color: string };
  createdAt: string;
  /** The app whose installation token made the change; undefined for a person. */
  app: SimApp | undefined;
}

export interface SimIssue {
  id: number;
  nodeId: string;
  number: number;
  title: string;
  body: string | null;
  state: "open" | "closed";
  stateReason: IssueStateReason;
  author: string;
  /** Label names, in the order they were added. */
  labels: string[];
  comments: SimComment[];
  /** Label changes, oldest first, as the issue's events list them. */
  events: SimIssueEvent[];
  /** Issue numbers (same repository) this issue is blocked by. */
  blockedBy: number[];
  /** Issue numbers (same repository) that are sub-issues of this one. */
  subIssues: number[];
  createdAt: string;
  updatedAt: string;
  closedAt: string | null;
  /** Set when the issue is a pull request's. */
  pullRequest: boolean;
}

export type ReviewState = "APPROVED" | "CHANGES_REQUESTED" | "COMMENTED";

export interface SimReviewComment {
  id: number;
  nodeId: string;
  reviewId: number;
  path: string;
  line: number;
  body: string;
  author: string;
  commitId: string;
  createdAt: string;
}

export interface SimReview {
  id: number;
  nodeId: string;
  author: string;
  state: ReviewState;
  body: string;
  commitId: string;
  submittedAt: string;
  comments: SimReviewComment[];
}

export interface SimPull {
  id: number;
  nodeId: string;
  /** The issue number the pull request shares. */
  number: number;
  head: string;
  headSha: string;
  base: string;
  draft: boolean;
  state: "open" | "closed";
  merged: boolean;
  mergedAt: string | null;
  mergedBy: string | null;
  mergeCommitSha: string | null;
  requestedReviewers: string[];
  reviews: SimReview[];
  autoMerge: { method: "MERGE" | "SQUASH" | "REBASE"; enabledAt: string; by: string } | null;
}

export type CheckStatus = "queued" | "in_progress" | "completed";
export type CheckConclusion =
  "success" | "failure" | "neutral" | "cancelled" | "skipped" | "timed_out" | "action_required";

/** An app that owns check suites: the installed app, or the simulated CI. */
export interface SimApp {
  id: number;
  slug: string;
  name: string;
  nodeId: string;
  owner: string;
}

export interface SimCheckSuite {
  id: number;
  nodeId: string;
  appId: number;
  headSha: string;
  headBranch: string | null;
  before: string | null;
  status: CheckStatus;
  conclusion: CheckConclusion | null;
  createdAt: string;
  updatedAt: string;
}

export interface SimCheckRun {
  id: number;
  nodeId: string;
  suiteId: number;
  appId: number;
  name: string;
  headSha: string;
  status: CheckStatus;
  conclusion: CheckConclusion | null;
  externalId: string;
  detailsUrl: string | null;
  startedAt: string;
  completedAt: string | null;
  output: { title: string | null; summary: string | null; text: string | null };
}

export type CommitState = "error" | "failure" | "pending" | "success";

export interface SimStatus {
  id: number;
  nodeId: string;
  sha: string;
  state: CommitState;
  context: string;
  description: string | null;
  targetUrl: string | null;
  creator: string;
  createdAt: string;
}

export interface SimBranchProtection {
  /**
   * Where GitHub keeps the rule: classic branch protection (readable only with the
   * `administration` permission) or a ruleset (readable with `metadata`).
   */
  source: "branch-protection" | "ruleset";
  /** Check or status names a pull request into the branch needs to pass. */
  requiredChecks: string[];
  /** Approving reviews required before a merge. */
  requiredApprovals: number;
}

/** What the simulated CI runs on every push. */
export interface CiConfig {
  /** A shell command; default: the first line of `.simulator-ci` in the pushed commit. */
  command?: string;
  /** The check run's name; default `test`. */
  name?: string;
}

export interface SimRepo {
  id: number;
  nodeId: string;
  owner: string;
  name: string;
  defaultBranch: string;
  private: boolean;
  /** The bare git repository. */
  gitDir: string;
  collaborators: Map<string, Permission>;
  /** By lower-cased name. */
  labels: Map<string, SimLabel>;
  /** Issues and pull requests share numbers, as on GitHub. */
  issues: Map<number, SimIssue>;
  pulls: Map<number, SimPull>;
  nextNumber: number;
  protection: Map<string, SimBranchProtection>;
  checkSuites: SimCheckSuite[];
  checkRuns: SimCheckRun[];
  statuses: SimStatus[];
  ci: CiConfig | undefined;
  createdAt: string;
  pushedAt: string;
}

export interface SimProjectOption {
  id: string;
  name: string;
}

export interface SimProjectField {
  id: string;
  name: string;
  /** Single-select fields only; other kinds are not simulated. */
  options: SimProjectOption[];
}

export interface SimProjectItem {
  id: string;
  /** The numeric id projects_v2_item webhooks carry. */
  databaseId: number;
  projectId: string;
  /** The issue or pull request's node id. */
  contentNodeId: string;
  /** field id -> option id. */
  values: Map<string, string>;
  creator: string;
  createdAt: string;
  updatedAt: string;
}

export interface SimProject {
  id: string;
  databaseId: number;
  owner: string;
  number: number;
  title: string;
  fields: SimProjectField[];
  items: SimProjectItem[];
}

export interface SimInstallation {
  id: number;
  account: string;
  /** `all`, or the full names (`owner/repo`) the installation was granted. */
  repositories: "all" | Set<string>;
  permissions: Record<string, AccessLevel>;
  suspended: boolean;
  createdAt: string;
}

export type TokenKind = "installation" | "user";

export interface SimToken {
  token: string;
  kind: TokenKind;
  /** The installation (installation tokens), else undefined. */
  installationId: number | undefined;
  /** Who acts with the token: the app's bot, or the user. */
  login: string;
  /** Full names the token is limited to; undefined: every repository the installation has. */
  repositories: Set<string> | undefined;
  permissions: Record<string, AccessLevel>;
  expiresAt: Date;
  revoked: boolean;
  /** Whether a request ever authenticated with it (its own revocation included). */
  used?: boolean;
}

/** Where a node id points. */
export type NodeTarget =
  | { kind: "issue"; repo: SimRepo; number: number }
  | { kind: "pull"; repo: SimRepo; number: number }
  | { kind: "project"; project: SimProject }
  | { kind: "item"; project: SimProject; item: SimProjectItem }
  | { kind: "field"; project: SimProject; field: SimProjectField }
  | { kind: "repository"; repo: SimRepo }
  | { kind: "account"; account: SimAccount }
  | { kind: "label"; repo: SimRepo; label: SimLabel }
  | { kind: "comment"; repo: SimRepo; commentId: number };

function nodeId(prefix: string, id: number): string {
  return `${prefix}_kwDO${Buffer.from(String(id)).toString("base64url")}`;
}

/** The simulator's whole GitHub. Ids are sequential from a fixed start, so runs are repeatable. */
export class SimulatorState {
  readonly accounts = new Map<string, SimAccount>();
  readonly repos = new Map<string, SimRepo>();
  readonly installations = new Map<number, SimInstallation>();
  readonly tokens = new Map<string, SimToken>();
  readonly projects: SimProject[] = [];
  readonly apps = new Map<number, SimApp>();
  readonly nodes = new Map<string, NodeTarget>();
  #nextId = 1000;

  constructor(readonly now: () => Date = () => new Date()) {}

  /** A new numeric id; every kind draws from one sequence. */
  id(): number {
    return this.#nextId++;
  }

  nodeId(prefix: string, id: number, target?: NodeTarget): string {
    const value = nodeId(prefix, id);
    if (target !== undefined) this.nodes.set(value, target);
    return value;
  }

  /** GitHub's timestamps have whole seconds. */
  timestamp(): string {
    return this.now()
      .toISOString()
      .replace(/\.\d{3}Z$/, "Z");
  }

  /** The account `login`, created (as a user, or a bot for `…[bot]`) on first use. */
  account(login: string, type?: AccountType): SimAccount {
    const found = this.accounts.get(login.toLowerCase());
    if (found !== undefined) return found;
    const id = this.id();
    const kind: AccountType = type ?? (login.endsWith("[bot]") ? "Bot" : "User");
    const account: SimAccount = { login, id, nodeId: "", type: kind };
    account.nodeId = this.nodeId(kind === "Organization" ? "O" : kind === "Bot" ? "BOT" : "U", id, {
      kind: "account",
      account,
    });
    this.accounts.set(login.toLowerCase(), account);
    return account;
  }

  repo(owner: string, name: string): SimRepo | undefined {
    return this.repos.get(`${owner}/${name}`.toLowerCase());
  }

  /** The repository, or throws: for the test-facing API, where a typo is the test's bug. */
  mustRepo(fullName: string): SimRepo {
    const [owner = "", name = ""] = fullName.split("/");
    const repo = this.repo(owner, name);
    if (repo === undefined) {
      throw new Error(`the simulator has no repository ${fullName}; add it with sim.addRepo()`);
    }
    return repo;
  }

  mustIssue(repo: SimRepo, number: number): SimIssue {
    const issue = repo.issues.get(number);
    if (issue === undefined) {
      throw new Error(`${repo.owner}/${repo.name} has no issue or pull request #${number}`);
    }
    return issue;
  }

  mustPull(repo: SimRepo, number: number): SimPull {
    const pull = repo.pulls.get(number);
    if (pull === undefined) {
      throw new Error(`${repo.owner}/${repo.name} has no pull request #${number}`);
    }
    return pull;
  }

  /** The installation whose account owns `repo` and that was granted it, if any. */
  installationFor(repo: SimRepo): SimInstallation | undefined {
    return [...this.installations.values()].find(
      (installation) =>
        installation.account.toLowerCase() === repo.owner.toLowerCase() &&
        (installation.repositories === "all" ||
          installation.repositories.has(fullName(repo).toLowerCase())),
    );
  }

  installationForAccount(login: string): SimInstallation | undefined {
    return [...this.installations.values()].find(
      (installation) => installation.account.toLowerCase() === login.toLowerCase(),
    );
  }

  /** The repositories an installation was granted. */
  installationRepos(installation: SimInstallation): SimRepo[] {
    return [...this.repos.values()].filter(
      (repo) => this.installationFor(repo)?.id === installation.id,
    );
  }

  /** The permission of `login` on `repo`: the owner is admin, collaborators as granted. */
  permissionOf(repo: SimRepo, login: string): Permission | undefined {
    if (login.toLowerCase() === repo.owner.toLowerCase()) return "admin";
    return repo.collaborators.get(login.toLowerCase());
  }

  project(owner: string, number: number): SimProject | undefined {
    return this.projects.find(
      (project) => project.owner.toLowerCase() === owner.toLowerCase() && project.number === number,
    );
  }

  /** The issue or pull request a node id names. */
  content(nodeIdValue: string): { repo: SimRepo; issue: SimIssue } | undefined {
    const target = this.nodes.get(nodeIdValue);
    if (target === undefined || (target.kind !== "issue" && target.kind !== "pull")) {
      return undefined;
    }
    const issue = target.repo.issues.get(target.number);
    return issue === undefined ? undefined : { repo: target.repo, issue };
  }
}

export function fullName(repo: SimRepo): string {
  return `${repo.owner}/${repo.name}`;
}
