/**
 * What GitHub does: the actions behind REST calls, GraphQL mutations, git pushes and the
 * test-facing scripting API, each with GitHub's refusals and the webhooks GitHub sends. REST,
 * GraphQL and git are thin adapters over this class, so every way in behaves the same.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import {
  branchSha,
  commitExists,
  commitSubject,
  deleteBranch,
  exportCommit,
  isAncestor,
  mergeInto,
  readFileAt,
  testMerge,
  type MergeMethod,
} from "./git.js";
import type { Shapes } from "./shapes.js";
import {
  fullName,
  PERMISSION_RANK,
  type CheckConclusion,
  type CheckStatus,
  type CommitState,
  type IssueStateReason,
  type ReviewState,
  type SimApp,
  type SimCheckRun,
  type SimCheckSuite,
  type SimIssue,
  type SimLabel,
  type SimProject,
  type SimProjectItem,
  type SimPull,
  type SimRepo,
  type SimulatorState,
} from "./state.js";
import type { WebhookSender } from "./webhooks.js";

/** A request GitHub refuses: the status and message GitHub answers with. */
export class GitHubRefusal extends Error {
  override readonly name = "GitHubRefusal";

  constructor(
    readonly status: number,
    message: string,
    readonly errors?: { resource: string; code: string; field?: string; message?: string }[],
  ) {
    super(message);
  }
}

/** The app GitHub Actions is on github.com; the simulated CI reports as it. */
export const CI_APP = {
  id: 15368,
  slug: "github-actions",
  name: "GitHub Actions",
  nodeId: "MDM6QXBwMTUzNjg=",
  owner: "github",
} as const satisfies SimApp;

export interface PushedRef {
  ref: string;
  before: string;
  after: string;
}

/** One run of the simulated CI. */
export interface CiRun {
  repo: string;
  sha: string;
  branch: string;
  command: string;
  exitCode: number | null;
  output: string;
  checkRunId: number;
}

const ZERO_SHA = "0000000000000000000000000000000000000000";

const CLOSING_KEYWORDS = /\b(?:close[sd]?|fix(?:e[sd])?|resolve[sd]?)\s+#(\d+)\b/gi;

export class SimGitHub {
  readonly ciRuns: CiRun[] = [];
  #activeCi = new Set<Promise<void>>();
  #mergeLocks = new Map<string, Promise<unknown>>();

  constructor(
    readonly state: SimulatorState,
    readonly shapes: Shapes,
    readonly hooks: WebhookSender,
    readonly app: SimApp,
    readonly options: { ciTimeoutMs: number },
  ) {}

  get botLogin(): string {
    return `${this.app.slug}[bot]`;
  }

  /** Resolves once no CI run is active. */
  async ciDrained(): Promise<void> {
    while (this.#activeCi.size > 0) await Promise.all([...this.#activeCi]);
  }

  get ciActive(): number {
    return this.#activeCi.size;
  }

  // --- webhooks ------------------------------------------------------------------------------

  organization(login: string) {
    const account = this.state.account(login);
    const api = `${this.shapes.urls.api}/orgs/${login}`;
    return {
      login: account.login,
      id: account.id,
      node_id: account.nodeId,
      url: api,
      repos_url: `${api}/repos`,
      events_url: `${api}/events`,
      hooks_url: `${api}/hooks`,
      issues_url: `${api}/issues`,
      members_url: `${api}/members{/member}`,
      public_members_url: `${api}/public_members{/member}`,
      avatar_url: `https://avatars.githubusercontent.com/u/${account.id}?v=4`,
      description: "",
    };
  }

  /** Sends `event` about `repo` when the app is installed there. */
  emit(event: string, repo: SimRepo, sender: string, payload: Record<string, unknown>): void {
    const installation = this.state.installationFor(repo);
    if (installation === undefined || installation.suspended) return;
    const owner = this.state.account(repo.owner);
    this.hooks.send(event, {
      ...payload,
      repository: this.shapes.repository(repo),
      ...(owner.type === "Organization" ? { organization: this.organization(repo.owner) } : {}),
      sender: this.shapes.user(sender),
      installation: {
        id: installation.id,
        node_id: `MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9u${installation.id}`,
      },
    });
  }

  // --- labels and issues ---------------------------------------------------------------------

  ensureLabel(
    repo: SimRepo,
    name: string,
    color = "ededed",
    description: string | null = null,
  ): SimLabel {
    const found = repo.labels.get(name.toLowerCase());
    if (found !== undefined) return found;
    const id = this.state.id();
    const label: SimLabel = { id, nodeId: "", name, color, description };
    label.nodeId = this.state.nodeId("LA", id, { kind: "label", repo, label });
    repo.labels.set(name.toLowerCase(), label);
    return label;
  }

  createLabel(repo: SimRepo, name: string, color?: string, description?: string | null): SimLabel {
    if (repo.labels.has(name.toLowerCase())) {
      throw new GitHubRefusal(422, "Validation Failed", [
        { resource: "Label", code: "already_exists", field: "name" },
      ]);
    }
    return this.ensureLabel(repo, name, color, description ?? null);
  }

  #issueEvent(issue: SimIssue): "issues" | "pull_request" {
    return issue.pullRequest ? "pull_request" : "issues";
  }

  async #issuePayload(repo: SimRepo, issue: SimIssue): Promise<Record<string, unknown>> {
    if (!issue.pullRequest) return { issue: this.shapes.issue(repo, issue) };
    const pull = this.state.mustPull(repo, issue.number);
    return { number: issue.number, pull_request: await this.pullBody(repo, pull) };
  }

  async createIssue(
    actor: string,
    repo: SimRepo,
    fields: { title: string; body?: string | null; labels?: string[] },
  ): Promise<SimIssue> {
    const number = repo.nextNumber++;
    const id = this.state.id();
    const now = this.state.timestamp();
    const issue: SimIssue = {
      id,
      nodeId: this.state.nodeId("I", id, { kind: "issue", repo, number }),
      number,
      title: fields.title,
      body: fields.body ?? null,
      state: "open",
      stateReason: null,
      author: actor,
      labels: [],
      comments: [],
      events: [],
      blockedBy: [],
      subIssues: [],
      createdAt: now,
      updatedAt: now,
      closedAt: null,
      pullRequest: false,
    };
    repo.issues.set(number, issue);
    this.emit("issues", repo, actor, { action: "opened", issue: this.shapes.issue(repo, issue) });
    await this.addLabels(actor, repo, number, fields.labels ?? []);
    return issue;
  }

  async addLabels(
    actor: string,
    repo: SimRepo,
    number: number,
    names: readonly string[],
  ): Promise<void> {
    const issue = this.#issueOr404(repo, number);
    for (const name of names) {
      const label = this.ensureLabel(repo, name);
      if (issue.labels.some((have) => have.toLowerCase() === name.toLowerCase())) continue;
      issue.labels.push(label.name);
      issue.updatedAt = this.state.timestamp();
      this.#recordLabelEvent(actor, issue, "labeled", label);
      this.emit(this.#issueEvent(issue), repo, actor, {
        action: "labeled",
        ...(await this.#issuePayload(repo, issue)),
        label: this.shapes.label(repo, label),
      });
    }
  }

  /** Adds a `labeled` or `unlabeled` entry to the issue's events, as GitHub's timeline does. */
  #recordLabelEvent(
    actor: string,
    issue: SimIssue,
    event: "labeled" | "unlabeled",
    label: SimLabel,
  ): void {
    const id = this.state.id();
    issue.events.push({
      id,
      nodeId: this.state.nodeId(event === "labeled" ? "LE" : "UNLE", id),
      event,
      actor,
      label: { name: label.name, color: label.color },
      createdAt: this.state.timestamp(),
      app: actor.toLowerCase() === this.botLogin.toLowerCase() ? this.app : undefined,
    });
  }

  async removeLabel(actor: string, repo: SimRepo, number: number, name: string): Promise<void> {
    const issue = this.#issueOr404(repo, number);
    const index = issue.labels.findIndex((have) => have.toLowerCase() === name.toLowerCase());
    const label = repo.labels.get(name.toLowerCase());
    if (index === -1 || label === undefined) throw new GitHubRefusal(404, "Label does not exist");
    issue.labels.splice(index, 1);
    issue.updatedAt = this.state.timestamp();
    this.#recordLabelEvent(actor, issue, "unlabeled", label);
    this.emit(this.#issueEvent(issue), repo, actor, {
      action: "unlabeled",
      ...(await this.#issuePayload(repo, issue)),
      label: this.shapes.label(repo, label),
    });
  }

  async updateIssue(
    actor: string,
    repo: SimRepo,
    number: number,
    changes: {
      title?: string;
      body?: string | null;
      state?: "open" | "closed";
      stateReason?: IssueStateReason;
      labels?: string[];
    },
  ): Promise<SimIssue> {
    const issue = this.#issueOr404(repo, number);
    const now = this.state.timestamp();
    if (changes.title !== undefined || changes.body !== undefined) {
      if (changes.title !== undefined) issue.title = changes.title;
      if (changes.body !== undefined) issue.body = changes.body;
      issue.updatedAt = now;
      this.emit(this.#issueEvent(issue), repo, actor, {
        action: "edited",
        changes: {},
        ...(await this.#issuePayload(repo, issue)),
      });
    }
    if (changes.labels !== undefined) {
      const wanted = changes.labels;
      for (const name of [...issue.labels]) {
        if (!wanted.some((label) => label.toLowerCase() === name.toLowerCase())) {
          await this.removeLabel(actor, repo, number, name);
        }
      }
      await this.addLabels(actor, repo, number, wanted);
    }
    if (changes.state !== undefined && changes.state !== issue.state) {
      if (issue.pullRequest) {
        const pull = this.state.mustPull(repo, number);
        if (pull.merged)
          throw new GitHubRefusal(422, "Validation Failed", [
            {
              resource: "PullRequest",
              code: "custom",
              message: "Cannot reopen a merged pull request",
            },
          ]);
        pull.state = changes.state;
      }
      issue.state = changes.state;
      issue.closedAt = changes.state === "closed" ? now : null;
      issue.stateReason =
        changes.state === "closed" ? (changes.stateReason ?? "completed") : "reopened";
      issue.updatedAt = now;
      this.emit(this.#issueEvent(issue), repo, actor, {
        action: changes.state === "closed" ? "closed" : "reopened",
        ...(await this.#issuePayload(repo, issue)),
      });
    }
    return issue;
  }

  comment(actor: string, repo: SimRepo, number: number, body: string) {
    const issue = this.#issueOr404(repo, number);
    const id = this.state.id();
    const now = this.state.timestamp();
    const comment = {
      id,
      nodeId: this.state.nodeId("IC", id, { kind: "comment", repo, commentId: id }),
      issueNumber: number,
      body,
      author: actor,
      createdAt: now,
      updatedAt: now,
    };
    issue.comments.push(comment);
    this.emit("issue_comment", repo, actor, {
      action: "created",
      issue: this.shapes.issue(repo, issue),
      comment: this.shapes.comment(repo, comment),
    });
    return comment;
  }

  updateComment(actor: string, repo: SimRepo, commentId: number, body: string) {
    const found = this.findComment(repo, commentId);
    if (found === undefined) throw new GitHubRefusal(404, "Not Found");
    const { issue, comment } = found;
    const previous = comment.body;
    comment.body = body;
    comment.updatedAt = this.state.timestamp();
    this.emit("issue_comment", repo, actor, {
      action: "edited",
      changes: { body: { from: previous } },
      issue: this.shapes.issue(repo, issue),
      comment: this.shapes.comment(repo, comment),
    });
    return comment;
  }

  findComment(repo: SimRepo, commentId: number) {
    for (const issue of repo.issues.values()) {
      const comment = issue.comments.find((candidate) => candidate.id === commentId);
      if (comment !== undefined) return { issue, comment };
    }
    return undefined;
  }

  /** Records that `number` is blocked by `blocker` (GitHub's issue dependencies). */
  addBlockedBy(repo: SimRepo, number: number, blocker: number): void {
    const issue = this.#issueOr404(repo, number);
    this.#issueOr404(repo, blocker);
    if (!issue.blockedBy.includes(blocker)) issue.blockedBy.push(blocker);
  }

  addSubIssue(repo: SimRepo, parent: number, child: number): void {
    const issue = this.#issueOr404(repo, parent);
    this.#issueOr404(repo, child);
    if (!issue.subIssues.includes(child)) issue.subIssues.push(child);
  }

  #issueOr404(repo: SimRepo, number: number): SimIssue {
    const issue = repo.issues.get(number);
    if (issue === undefined) throw new GitHubRefusal(404, "Not Found");
    return issue;
  }

  // --- pull requests -------------------------------------------------------------------------

  /** GitHub's answer for `pull` (mergeability computed from the real branches). */
  async pullBody(repo: SimRepo, pull: SimPull) {
    const baseSha = (await branchSha(repo.gitDir, pull.base)) ?? ZERO_SHA;
    const { mergeable, mergeableState } = await this.#mergeability(repo, pull, baseSha);
    return this.shapes.pullRequest(repo, pull, { mergeable, mergeableState, baseSha });
  }

  async #mergeability(
    repo: SimRepo,
    pull: SimPull,
    baseSha: string,
  ): Promise<{ mergeable: boolean | null; mergeableState: string }> {
    if (pull.state === "closed") return { mergeable: null, mergeableState: "unknown" };
    const clean =
      baseSha !== ZERO_SHA && (await testMerge(repo.gitDir, baseSha, pull.headSha)) !== undefined;
    if (!clean) return { mergeable: false, mergeableState: "dirty" };
    if (pull.draft) return { mergeable: true, mergeableState: "draft" };
    if (this.mergeBlocker(repo, pull) !== undefined)
      return { mergeable: true, mergeableState: "blocked" };
    const failing = this.#checkStates(repo, pull.headSha).some(
      ([, outcome]) => outcome === "failing",
    );
    return { mergeable: true, mergeableState: failing ? "unstable" : "clean" };
  }

  /** Every check run (latest per name) and status (latest per context) of `sha`. */
  #checkStates(repo: SimRepo, sha: string): [string, "passing" | "failing" | "pending"][] {
    const byName = new Map<string, "passing" | "failing" | "pending">();
    for (const run of repo.checkRuns.filter((candidate) => candidate.headSha === sha)) {
      byName.set(
        run.name,
        run.status !== "completed"
          ? "pending"
          : ["success", "neutral", "skipped"].includes(run.conclusion ?? "")
            ? "passing"
            : "failing",
      );
    }
    for (const status of repo.statuses.filter((candidate) => candidate.sha === sha)) {
      byName.set(
        status.context,
        status.state === "success" ? "passing" : status.state === "pending" ? "pending" : "failing",
      );
    }
    return [...byName.entries()];
  }

  /** Why branch protection forbids merging `pull` now, or undefined. */
  mergeBlocker(repo: SimRepo, pull: SimPull): string | undefined {
    const protection = repo.protection.get(pull.base);
    if (protection === undefined) return undefined;
    const states = new Map(this.#checkStates(repo, pull.headSha));
    for (const name of protection.requiredChecks) {
      const outcome = states.get(name);
      if (outcome === undefined || outcome === "pending") {
        return `Required status check "${name}" is expected.`;
      }
      if (outcome === "failing") return `Required status check "${name}" is failing.`;
    }
    if (protection.requiredApprovals > 0) {
      const latest = new Map<string, ReviewState>();
      for (const review of pull.reviews) {
        if (review.state !== "COMMENTED") latest.set(review.author.toLowerCase(), review.state);
      }
      if ([...latest.values()].includes("CHANGES_REQUESTED")) {
        return "Changes must be made through a pull request.";
      }
      const approvals = [...latest.values()].filter((state) => state === "APPROVED").length;
      if (approvals < protection.requiredApprovals) {
        return `At least ${protection.requiredApprovals} approving review is required by reviewers with write access.`;
      }
    }
    return undefined;
  }

  async createPull(
    actor: string,
    repo: SimRepo,
    fields: { head: string; base: string; title: string; body?: string | null; draft?: boolean },
  ): Promise<SimPull> {
    const head = fields.head.includes(":")
      ? fields.head.slice(fields.head.indexOf(":") + 1)
      : fields.head;
    const headSha = await branchSha(repo.gitDir, head);
    const baseSha = await branchSha(repo.gitDir, fields.base);
    if (headSha === undefined || baseSha === undefined) {
      throw new GitHubRefusal(422, "Validation Failed", [
        {
          resource: "PullRequest",
          code: "invalid",
          field: headSha === undefined ? "head" : "base",
        },
      ]);
    }
    const existing = [...repo.pulls.values()].find(
      (pull) => pull.state === "open" && pull.head === head && pull.base === fields.base,
    );
    if (existing !== undefined) {
      throw new GitHubRefusal(422, "Validation Failed", [
        {
          resource: "PullRequest",
          code: "custom",
          message: `A pull request already exists for ${repo.owner}:${head}.`,
        },
      ]);
    }
    if (await isAncestor(repo.gitDir, headSha, baseSha)) {
      throw new GitHubRefusal(422, "Validation Failed", [
        {
          resource: "PullRequest",
          code: "custom",
          message: `No commits between ${fields.base} and ${head}`,
        },
      ]);
    }
    const number = repo.nextNumber++;
    const id = this.state.id();
    const now = this.state.timestamp();
    const pull: SimPull = {
      id,
      nodeId: this.state.nodeId("PR", id, { kind: "pull", repo, number }),
      number,
      head,
      headSha,
      base: fields.base,
      draft: fields.draft ?? false,
      state: "open",
      merged: false,
      mergedAt: null,
      mergedBy: null,
      mergeCommitSha: null,
      requestedReviewers: [],
      reviews: [],
      autoMerge: null,
    };
    repo.issues.set(number, {
      id,
      nodeId: pull.nodeId,
      number,
      title: fields.title,
      body: fields.body ?? null,
      state: "open",
      stateReason: null,
      author: actor,
      labels: [],
      comments: [],
      events: [],
      blockedBy: [],
      subIssues: [],
      createdAt: now,
      updatedAt: now,
      closedAt: null,
      pullRequest: true,
    });
    repo.pulls.set(number, pull);
    this.emit("pull_request", repo, actor, {
      action: "opened",
      number,
      pull_request: await this.pullBody(repo, pull),
    });
    return pull;
  }

  async setDraft(actor: string, repo: SimRepo, pull: SimPull, draft: boolean): Promise<void> {
    if (pull.state !== "open") {
      throw new GitHubRefusal(422, "Pull request is closed");
    }
    if (pull.draft === draft) return;
    pull.draft = draft;
    this.emit("pull_request", repo, actor, {
      action: draft ? "converted_to_draft" : "ready_for_review",
      number: pull.number,
      pull_request: await this.pullBody(repo, pull),
    });
  }

  async requestReviewers(
    actor: string,
    repo: SimRepo,
    pull: SimPull,
    reviewers: readonly string[],
  ) {
    const issue = this.state.mustIssue(repo, pull.number);
    for (const login of reviewers) {
      if (login.toLowerCase() === issue.author.toLowerCase()) {
        throw new GitHubRefusal(422, "Review cannot be requested from pull request author.");
      }
      if (this.state.permissionOf(repo, login) === undefined) {
        throw new GitHubRefusal(
          422,
          `Reviews may only be requested from collaborators. One or more of the users or teams you specified is not a collaborator of the ${fullName(repo)} repository.`,
        );
      }
    }
    for (const login of reviewers) {
      if (pull.requestedReviewers.some((have) => have.toLowerCase() === login.toLowerCase()))
        continue;
      pull.requestedReviewers.push(login);
      this.emit("pull_request", repo, actor, {
        action: "review_requested",
        number: pull.number,
        pull_request: await this.pullBody(repo, pull),
        requested_reviewer: this.shapes.user(login),
      });
    }
  }

  async submitReview(
    actor: string,
    repo: SimRepo,
    pull: SimPull,
    fields: {
      event: "APPROVE" | "REQUEST_CHANGES" | "COMMENT";
      body?: string;
      comments?: { path: string; line: number; body: string }[];
    },
  ) {
    const issue = this.state.mustIssue(repo, pull.number);
    if (fields.event !== "COMMENT" && actor.toLowerCase() === issue.author.toLowerCase()) {
      throw new GitHubRefusal(
        422,
        fields.event === "APPROVE"
          ? "Can not approve your own pull request"
          : "Can not request changes on your own pull request",
      );
    }
    if (fields.event === "REQUEST_CHANGES" && (fields.body ?? "") === "") {
      throw new GitHubRefusal(422, "Unprocessable Entity", [
        {
          resource: "PullRequestReview",
          code: "custom",
          message: "Body is required for REQUEST_CHANGES",
        },
      ]);
    }
    const id = this.state.id();
    const now = this.state.timestamp();
    const state: ReviewState =
      fields.event === "APPROVE"
        ? "APPROVED"
        : fields.event === "REQUEST_CHANGES"
          ? "CHANGES_REQUESTED"
          : "COMMENTED";
    const review = {
      id,
      nodeId: this.state.nodeId("PRR", id),
      author: actor,
      state,
      body: fields.body ?? "",
      commitId: pull.headSha,
      submittedAt: now,
      comments: (fields.comments ?? []).map((comment) => {
        const commentId = this.state.id();
        return {
          id: commentId,
          nodeId: this.state.nodeId("PRRC", commentId),
          reviewId: id,
          path: comment.path,
          line: comment.line,
          body: comment.body,
          author: actor,
          commitId: pull.headSha,
          createdAt: now,
        };
      }),
    };
    pull.reviews.push(review);
    pull.requestedReviewers = pull.requestedReviewers.filter(
      (login) => login.toLowerCase() !== actor.toLowerCase(),
    );
    const reviewBody = this.shapes.review(repo, pull, review);
    this.emit("pull_request_review", repo, actor, {
      action: "submitted",
      review: { ...reviewBody, state: state.toLowerCase() },
      pull_request: await this.pullBody(repo, pull),
    });
    return review;
  }

  /** Merges as GitHub's merge button: refusals first, then the git merge and its events. */
  async merge(
    actor: string,
    repo: SimRepo,
    pull: SimPull,
    options: { method?: MergeMethod; sha?: string; commitTitle?: string },
  ): Promise<string> {
    const key = `${fullName(repo)}#${pull.base}`;
    const previous = this.#mergeLocks.get(key) ?? Promise.resolve();
    const run = previous.catch(() => undefined).then(() => this.#merge(actor, repo, pull, options));
    this.#mergeLocks.set(key, run);
    return run;
  }

  async #merge(
    actor: string,
    repo: SimRepo,
    pull: SimPull,
    options: { method?: MergeMethod; sha?: string; commitTitle?: string },
  ): Promise<string> {
    if (pull.merged || pull.state !== "open") {
      throw new GitHubRefusal(405, "Pull Request is not mergeable");
    }
    if (pull.draft) throw new GitHubRefusal(405, "Pull Request is still a draft");
    if (options.sha !== undefined && options.sha !== pull.headSha) {
      throw new GitHubRefusal(409, "Head branch was modified. Review and try the merge again.");
    }
    const blocker = this.mergeBlocker(repo, pull);
    if (blocker !== undefined) throw new GitHubRefusal(405, blocker);
    const baseSha = await branchSha(repo.gitDir, pull.base);
    const issue = this.state.mustIssue(repo, pull.number);
    const method = options.method ?? "merge";
    const message =
      method === "merge"
        ? `Merge pull request #${pull.number} from ${repo.owner}/${pull.head}\n\n${issue.title}`
        : `${options.commitTitle ?? issue.title} (#${pull.number})`;
    const sha =
      baseSha === undefined
        ? undefined
        : await mergeInto(repo.gitDir, pull.base, baseSha, pull.headSha, method, message);
    if (sha === undefined || baseSha === undefined) {
      throw new GitHubRefusal(405, "Pull Request is not mergeable");
    }
    const now = this.state.timestamp();
    pull.merged = true;
    pull.state = "closed";
    pull.mergedAt = now;
    pull.mergedBy = actor;
    pull.mergeCommitSha = sha;
    issue.state = "closed";
    issue.closedAt = now;
    issue.updatedAt = now;
    this.emit("pull_request", repo, actor, {
      action: "closed",
      number: pull.number,
      pull_request: await this.pullBody(repo, pull),
    });
    await this.pushed(actor, repo, [
      { ref: `refs/heads/${pull.base}`, before: baseSha, after: sha },
    ]);
    if (pull.base === repo.defaultBranch) {
      for (const match of (issue.body ?? "").matchAll(CLOSING_KEYWORDS)) {
        const linked = repo.issues.get(Number(match[1]));
        if (linked !== undefined && !linked.pullRequest && linked.state === "open") {
          await this.updateIssue(actor, repo, linked.number, {
            state: "closed",
            stateReason: "completed",
          });
        }
      }
    }
    return sha;
  }

  async deleteRef(actor: string, repo: SimRepo, branch: string): Promise<void> {
    const before = await branchSha(repo.gitDir, branch);
    if (before === undefined) throw new GitHubRefusal(422, "Reference does not exist");
    await deleteBranch(repo.gitDir, branch);
    await this.pushed(actor, repo, [{ ref: `refs/heads/${branch}`, before, after: ZERO_SHA }]);
  }

  // --- pushes and CI -------------------------------------------------------------------------

  /** What GitHub does after refs moved: `push`, `pull_request.synchronize`, CI. */
  async pushed(actor: string, repo: SimRepo, refs: readonly PushedRef[]): Promise<void> {
    repo.pushedAt = this.state.timestamp();
    for (const update of refs) {
      if (!update.ref.startsWith("refs/heads/")) continue;
      const branch = update.ref.slice("refs/heads/".length);
      const deleted = update.after === ZERO_SHA;
      const subject = deleted ? "" : await commitSubject(repo.gitDir, update.after);
      const author = { name: actor, email: `${actor}@users.noreply.github.com`, username: actor };
      const commit = deleted
        ? null
        : {
            id: update.after,
            tree_id: update.after,
            distinct: true,
            message: subject,
            timestamp: repo.pushedAt,
            url: `${this.shapes.urls.web}/${fullName(repo)}/commit/${update.after}`,
            author,
            committer: author,
            added: [],
            removed: [],
            modified: [],
          };
      this.emit("push", repo, actor, {
        ref: update.ref,
        before: update.before,
        after: update.after,
        created: update.before === ZERO_SHA,
        deleted,
        forced: false,
        base_ref: null,
        compare: `${this.shapes.urls.web}/${fullName(repo)}/compare/${update.before.slice(0, 12)}...${update.after.slice(0, 12)}`,
        commits: commit === null ? [] : [commit],
        head_commit: commit,
        pusher: { name: actor, email: author.email },
      });
      if (deleted) continue;
      for (const pull of repo.pulls.values()) {
        if (pull.state !== "open" || pull.head !== branch || pull.headSha === update.after)
          continue;
        const before = pull.headSha;
        pull.headSha = update.after;
        this.emit("pull_request", repo, actor, {
          action: "synchronize",
          number: pull.number,
          before,
          after: update.after,
          pull_request: await this.pullBody(repo, pull),
        });
      }
      this.#startCi(repo, branch, update.before, update.after);
    }
  }

  /** Open pull requests whose head is `sha`, as checks list them. */
  pullsForSha(repo: SimRepo, sha: string): SimPull[] {
    return [...repo.pulls.values()].filter((pull) => pull.state === "open" && pull.headSha === sha);
  }

  #startCi(repo: SimRepo, branch: string, before: string, sha: string): void {
    const run = this.#runCi(repo, branch, before, sha).catch((error: unknown) => {
      console.error("[github-simulator] CI run failed to start", error);
    });
    this.#activeCi.add(run);
    void run.finally(() => this.#activeCi.delete(run));
  }

  async #runCi(repo: SimRepo, branch: string, before: string, sha: string): Promise<void> {
    const file = await readFileAt(repo.gitDir, sha, ".simulator-ci");
    const command = repo.ci?.command ?? file?.toString("utf8").split("\n")[0]?.trim();
    if (command === undefined || command === "") return;
    const name = repo.ci?.name ?? "test";
    const suite = this.#suite(repo, CI_APP.id, sha, branch, before === ZERO_SHA ? null : before);
    const run = this.createCheckRun(repo, CI_APP.id, {
      name,
      headSha: sha,
      status: "queued",
      suiteId: suite.id,
    });
    await this.updateCheckRun(repo, run, { status: "in_progress" });
    const dir = mkdtempSync(join(tmpdir(), "kanbot-sim-ci-"));
    let exitCode: number | null = null;
    let output = "";
    try {
      await exportCommit(repo.gitDir, sha, dir);
      ({ exitCode, output } = await runShell(command, dir, this.options.ciTimeoutMs));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    this.ciRuns.push({
      repo: fullName(repo),
      sha,
      branch,
      command,
      exitCode,
      output,
      checkRunId: run.id,
    });
    const tail = output.length > 60_000 ? output.slice(-60_000) : output;
    await this.updateCheckRun(repo, run, {
      status: "completed",
      conclusion: exitCode === 0 ? "success" : exitCode === null ? "timed_out" : "failure",
      output: {
        title: exitCode === 0 ? `${name} passed` : `${name} failed`,
        summary: `\`${command}\` exited with ${exitCode ?? "a timeout"}`,
        text: tail,
      },
    });
  }

  // --- checks and statuses -------------------------------------------------------------------

  #suite(
    repo: SimRepo,
    appId: number,
    sha: string,
    branch: string | null,
    before: string | null,
  ): SimCheckSuite {
    const found = repo.checkSuites.find((suite) => suite.appId === appId && suite.headSha === sha);
    if (found !== undefined) return found;
    const id = this.state.id();
    const now = this.state.timestamp();
    const suite: SimCheckSuite = {
      id,
      nodeId: this.state.nodeId("CS", id),
      appId,
      headSha: sha,
      headBranch: branch,
      before,
      status: "queued",
      conclusion: null,
      createdAt: now,
      updatedAt: now,
    };
    repo.checkSuites.push(suite);
    return suite;
  }

  #headBranchOf(repo: SimRepo, sha: string): string | null {
    return [...repo.pulls.values()].find((pull) => pull.headSha === sha)?.head ?? null;
  }

  checkRunBody(repo: SimRepo, run: SimCheckRun) {
    return this.shapes.checkRun(repo, run, this.pullsForSha(repo, run.headSha));
  }

  suiteBody(repo: SimRepo, suite: SimCheckSuite) {
    return this.shapes.checkSuite(repo, suite, this.pullsForSha(repo, suite.headSha));
  }

  createCheckRun(
    repo: SimRepo,
    appId: number,
    fields: {
      name: string;
      headSha: string;
      status?: CheckStatus;
      conclusion?: CheckConclusion;
      externalId?: string;
      detailsUrl?: string;
      output?: { title?: string | null; summary?: string | null; text?: string | null };
      suiteId?: number;
    },
  ): SimCheckRun {
    const suite =
      repo.checkSuites.find((candidate) => candidate.id === fields.suiteId) ??
      this.#suite(repo, appId, fields.headSha, this.#headBranchOf(repo, fields.headSha), null);
    const id = this.state.id();
    const now = this.state.timestamp();
    const status: CheckStatus =
      fields.conclusion !== undefined ? "completed" : (fields.status ?? "queued");
    const run: SimCheckRun = {
      id,
      nodeId: this.state.nodeId("CR", id),
      suiteId: suite.id,
      appId,
      name: fields.name,
      headSha: fields.headSha,
      status,
      conclusion: fields.conclusion ?? null,
      externalId: fields.externalId ?? "",
      detailsUrl: fields.detailsUrl ?? `${this.shapes.urls.web}/${fullName(repo)}/runs/${id}`,
      startedAt: now,
      completedAt: status === "completed" ? now : null,
      output: {
        title: fields.output?.title ?? null,
        summary: fields.output?.summary ?? null,
        text: fields.output?.text ?? null,
      },
    };
    repo.checkRuns.push(run);
    this.#afterCheckRun(repo, run, "created", this.#sender(appId));
    if (status === "completed") this.#afterCheckRun(repo, run, "completed", this.#sender(appId));
    return run;
  }

  async updateCheckRun(
    repo: SimRepo,
    run: SimCheckRun,
    fields: {
      status?: CheckStatus;
      conclusion?: CheckConclusion;
      name?: string;
      detailsUrl?: string;
      output?: { title?: string | null; summary?: string | null; text?: string | null };
    },
  ): Promise<SimCheckRun> {
    const wasCompleted = run.status === "completed";
    if (fields.name !== undefined) run.name = fields.name;
    if (fields.detailsUrl !== undefined) run.detailsUrl = fields.detailsUrl;
    if (fields.output !== undefined) run.output = { ...run.output, ...fields.output };
    if (fields.conclusion !== undefined) {
      run.status = "completed";
      run.conclusion = fields.conclusion;
    } else if (fields.status !== undefined) {
      if (fields.status === "completed") {
        throw new GitHubRefusal(422, "Validation Failed", [
          { resource: "CheckRun", code: "missing_field", field: "conclusion" },
        ]);
      }
      run.status = fields.status;
    }
    if (run.status === "completed" && run.completedAt === null)
      run.completedAt = this.state.timestamp();
    if (run.status === "completed" && (!wasCompleted || fields.conclusion !== undefined)) {
      this.#afterCheckRun(repo, run, "completed", this.#sender(run.appId));
    }
    await Promise.resolve();
    return run;
  }

  #sender(appId: number): string {
    return appId === this.app.id ? this.botLogin : `${CI_APP.slug}[bot]`;
  }

  #afterCheckRun(
    repo: SimRepo,
    run: SimCheckRun,
    action: "created" | "completed",
    sender: string,
  ): void {
    const suite = repo.checkSuites.find((candidate) => candidate.id === run.suiteId);
    if (suite === undefined) return;
    const runs = repo.checkRuns.filter((candidate) => candidate.suiteId === suite.id);
    const wasCompleted = suite.status === "completed";
    const previousConclusion = suite.conclusion;
    suite.status = runs.every((candidate) => candidate.status === "completed")
      ? "completed"
      : runs.some((candidate) => candidate.status === "in_progress")
        ? "in_progress"
        : "queued";
    suite.conclusion = suite.status === "completed" ? suiteConclusion(runs) : null;
    suite.updatedAt = this.state.timestamp();
    this.emit("check_run", repo, sender, {
      action,
      check_run: { ...this.checkRunBody(repo, run), check_suite: this.suiteBody(repo, suite) },
    });
    if (
      suite.status === "completed" &&
      (!wasCompleted || suite.conclusion !== previousConclusion)
    ) {
      this.emit("check_suite", repo, sender, {
        action: "completed",
        check_suite: this.suiteBody(repo, suite),
      });
    }
  }

  async createStatus(
    actor: string,
    repo: SimRepo,
    sha: string,
    fields: {
      state: CommitState;
      context?: string;
      description?: string | null;
      targetUrl?: string | null;
    },
  ) {
    if (!(await commitExists(repo.gitDir, sha))) {
      throw new GitHubRefusal(422, `No commit found for SHA: ${sha}`);
    }
    const id = this.state.id();
    const status = {
      id,
      nodeId: this.state.nodeId("SC", id),
      sha,
      state: fields.state,
      context: fields.context ?? "default",
      description: fields.description ?? null,
      targetUrl: fields.targetUrl ?? null,
      creator: actor,
      createdAt: this.state.timestamp(),
    };
    repo.statuses.push(status);
    this.emit("status", repo, actor, {
      id,
      sha,
      name: fullName(repo),
      target_url: status.targetUrl,
      context: status.context,
      description: status.description,
      state: status.state,
      commit: {
        sha,
        node_id: this.state.nodeId("C", id),
        commit: { message: await commitSubject(repo.gitDir, sha) },
      },
      branches: [],
      created_at: status.createdAt,
      updated_at: status.createdAt,
    });
    return status;
  }

  // --- Projects v2 ---------------------------------------------------------------------------

  #emitProjectItem(
    project: SimProject,
    item: SimProjectItem,
    actor: string,
    action: "created" | "edited",
    changes?: Record<string, unknown>,
  ): void {
    const installation = this.state.installationForAccount(project.owner);
    if (installation === undefined || installation.suspended) return;
    const content = this.state.content(item.contentNodeId);
    this.hooks.send("projects_v2_item", {
      action,
      projects_v2_item: {
        id: item.databaseId,
        node_id: item.id,
        project_node_id: project.id,
        content_node_id: item.contentNodeId,
        content_type: content?.issue.pullRequest === true ? "PullRequest" : "Issue",
        creator: this.shapes.user(item.creator),
        created_at: item.createdAt,
        updated_at: item.updatedAt,
        archived_at: null,
      },
      ...(changes === undefined ? {} : { changes }),
      organization: this.organization(project.owner),
      sender: this.shapes.user(actor),
      installation: {
        id: installation.id,
        node_id: `MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9u${installation.id}`,
      },
    });
  }

  /** Adds an issue or pull request to a project; the existing item when it is there already. */
  addProjectItem(actor: string, project: SimProject, contentNodeId: string): SimProjectItem {
    const existing = project.items.find((item) => item.contentNodeId === contentNodeId);
    if (existing !== undefined) return existing;
    if (this.state.content(contentNodeId) === undefined) {
      throw new GitHubRefusal(
        422,
        `Could not resolve to a node with the global id of '${contentNodeId}'`,
      );
    }
    const databaseId = this.state.id();
    const now = this.state.timestamp();
    const item: SimProjectItem = {
      id: "",
      databaseId,
      projectId: project.id,
      contentNodeId,
      values: new Map(),
      creator: actor,
      createdAt: now,
      updatedAt: now,
    };
    item.id = this.state.nodeId("PVTI", databaseId, { kind: "item", project, item });
    project.items.push(item);
    this.#emitProjectItem(project, item, actor, "created");
    return item;
  }

  /** Sets a single-select field of an item (a card moved to a column). */
  setProjectValue(
    actor: string,
    project: SimProject,
    item: SimProjectItem,
    fieldId: string,
    optionId: string,
  ): void {
    const field = project.fields.find((candidate) => candidate.id === fieldId);
    if (field === undefined)
      throw new GitHubRefusal(
        422,
        `Could not resolve to a node with the global id of '${fieldId}'`,
      );
    const option = field.options.find((candidate) => candidate.id === optionId);
    if (option === undefined)
      throw new GitHubRefusal(422, `The single select option Id does not belong to the field`);
    const previous = field.options.find((candidate) => candidate.id === item.values.get(fieldId));
    if (previous?.id === option.id) return;
    item.values.set(fieldId, option.id);
    item.updatedAt = this.state.timestamp();
    const describe = (chosen: { id: string; name: string }) => ({
      id: chosen.id,
      name: chosen.name,
      color: "GRAY",
      description: "",
    });
    this.#emitProjectItem(project, item, actor, "edited", {
      field_value: {
        field_node_id: field.id,
        field_type: "single_select",
        field_name: field.name,
        project_number: project.number,
        from: previous === undefined ? null : describe(previous),
        to: describe(option),
      },
    });
  }

  /** Permission check helper: whether `login` may push/merge on `repo`. */
  canWrite(repo: SimRepo, login: string): boolean {
    if (login === this.botLogin) return true;
    const permission = this.state.permissionOf(repo, login);
    return permission !== undefined && PERMISSION_RANK[permission] >= PERMISSION_RANK.write;
  }
}

function suiteConclusion(runs: SimCheckRun[]): CheckConclusion {
  const order: CheckConclusion[] = [
    "action_required",
    "cancelled",
    "timed_out",
    "failure",
    "neutral",
    "skipped",
    "success",
  ];
  for (const conclusion of order.slice(0, 4)) {
    if (runs.some((run) => run.conclusion === conclusion)) return conclusion;
  }
  return runs.every((run) => run.conclusion === "skipped")
    ? "skipped"
    : runs.some((run) => run.conclusion === "success")
      ? "success"
      : "neutral";
}

/** Runs `command` with `sh -c` in `cwd` in its own process group; kills the group on timeout. */
function runShell(
  command: string,
  cwd: string,
  timeoutMs: number,
): Promise<{ exitCode: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn("sh", ["-c", command], {
      cwd,
      detached: true,
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: cwd, LANG: "C.UTF-8", CI: "true" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    const append = (chunk: Buffer) => {
      output += chunk.toString("utf8");
      if (output.length > 1_000_000) output = output.slice(-500_000);
    };
    child.stdout.on("data", append);
    child.stderr.on("data", append);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      if (child.pid !== undefined) {
        try {
          process.kill(-child.pid, "SIGKILL");
        } catch {
          // already gone
        }
      }
    }, timeoutMs);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ exitCode: timedOut ? null : code, output });
    });
    child.on("error", (error) => {
      clearTimeout(timer);
      resolve({ exitCode: 127, output: `${output}${error.message}\n` });
    });
  });
}
