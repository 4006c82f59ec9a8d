/**
 * REST bodies built from the simulator's state, in the shapes GitHub's OpenAPI description
 * documents (every response is checked against it: see ./rest.ts). The generic field sets come
 * from test/helpers/github-fixtures.ts; ids, states and times come from the state.
 */
import { fakeUser, type GitHubUrls } from "../helpers/github-fixtures.js";
import {
  fullName,
  type SimApp,
  type SimCheckRun,
  type SimCheckSuite,
  type SimComment,
  type SimInstallation,
  type SimIssue,
  type SimIssueEvent,
  type SimLabel,
  type SimPull,
  type SimRepo,
  type SimReview,
  type SimReviewComment,
  type SimStatus,
  type SimulatorState,
} from "./state.js";

/** Builds bodies for one simulator (its URLs and state). */
export class Shapes {
  constructor(
    readonly state: SimulatorState,
    readonly urls: GitHubUrls,
  ) {}

  user(login: string) {
    const account = this.state.account(login);
    return {
      ...fakeUser(account.login, this.urls),
      id: account.id,
      node_id: account.nodeId,
      type: account.type,
    };
  }

  repository(repo: SimRepo) {
    const api = `${this.urls.api}/repos/${repo.owner}/${repo.name}`;
    const html = `${this.urls.web}/${repo.owner}/${repo.name}`;
    const host = new URL(this.urls.web).host;
    const at = (path: string) => `${api}/${path}`;
    const open = [...repo.issues.values()].filter((issue) => issue.state === "open").length;
    return {
      id: repo.id,
      node_id: repo.nodeId,
      name: repo.name,
      full_name: fullName(repo),
      owner: this.user(repo.owner),
      private: repo.private,
      visibility: repo.private ? "private" : "public",
      html_url: html,
      description: null,
      fork: false,
      url: api,
      archive_url: at("{archive_format}{/ref}"),
      assignees_url: at("assignees{/user}"),
      blobs_url: at("git/blobs{/sha}"),
      branches_url: at("branches{/branch}"),
      collaborators_url: at("collaborators{/collaborator}"),
      comments_url: at("comments{/number}"),
      commits_url: at("commits{/sha}"),
      compare_url: at("compare/{base}...{head}"),
      contents_url: at("contents/{+path}"),
      contributors_url: at("contributors"),
      deployments_url: at("deployments"),
      downloads_url: at("downloads"),
      events_url: at("events"),
      forks_url: at("forks"),
      git_commits_url: at("git/commits{/sha}"),
      git_refs_url: at("git/refs{/sha}"),
      git_tags_url: at("git/tags{/sha}"),
      hooks_url: at("hooks"),
      issue_comment_url: at("issues/comments{/number}"),
      issue_events_url: at("issues/events{/number}"),
      issues_url: at("issues{/number}"),
      keys_url: at("keys{/key_id}"),
      labels_url: at("labels{/name}"),
      languages_url: at("languages"),
      merges_url: at("merges"),
      milestones_url: at("milestones{/number}"),
      notifications_url: at("notifications{?since,all,participating}"),
      pulls_url: at("pulls{/number}"),
      releases_url: at("releases{/id}"),
      stargazers_url: at("stargazers"),
      statuses_url: at("statuses/{sha}"),
      subscribers_url: at("subscribers"),
      subscription_url: at("subscription"),
      tags_url: at("tags"),
      teams_url: at("teams"),
      trees_url: at("git/trees{/sha}"),
      clone_url: `${html}.git`,
      git_url: `git://${host}/${repo.owner}/${repo.name}.git`,
      ssh_url: `git@${host}:${repo.owner}/${repo.name}.git`,
      svn_url: html,
      mirror_url: null,
      homepage: null,
      language: null,
      forks: 0,
      forks_count: 0,
      stargazers_count: 0,
      watchers: 0,
      watchers_count: 0,
      size: 1,
      default_branch: repo.defaultBranch,
      open_issues: open,
      open_issues_count: open,
      is_template: false,
      topics: [],
      has_issues: true,
      has_projects: true,
      has_wiki: false,
      has_pages: false,
      has_downloads: true,
      has_discussions: false,
      archived: false,
      disabled: false,
      allow_forking: true,
      web_commit_signoff_required: false,
      license: null,
      pushed_at: repo.pushedAt,
      created_at: repo.createdAt,
      updated_at: repo.pushedAt,
      network_count: 0,
      subscribers_count: 0,
    };
  }

  label(repo: SimRepo, label: SimLabel) {
    return {
      id: label.id,
      node_id: label.nodeId,
      url: `${this.urls.api}/repos/${fullName(repo)}/labels/${encodeURIComponent(label.name)}`,
      name: label.name,
      description: label.description,
      color: label.color,
      default: false,
    };
  }

  /** The issue (or the issue side of a pull request), as the issues API answers. */
  issue(repo: SimRepo, issue: SimIssue) {
    const repoApi = `${this.urls.api}/repos/${fullName(repo)}`;
    const api = `${repoApi}/issues/${issue.number}`;
    const kind = issue.pullRequest ? "pull" : "issues";
    const html = `${this.urls.web}/${fullName(repo)}/${kind}/${issue.number}`;
    const pull = repo.pulls.get(issue.number);
    return {
      id: issue.id,
      node_id: issue.nodeId,
      url: api,
      repository_url: repoApi,
      labels_url: `${api}/labels{/name}`,
      comments_url: `${api}/comments`,
      events_url: `${api}/events`,
      html_url: html,
      number: issue.number,
      state: issue.state,
      state_reason: issue.stateReason,
      title: issue.title,
      body: issue.body,
      user: this.user(issue.author),
      labels: issue.labels.flatMap((name) => {
        const label = repo.labels.get(name.toLowerCase());
        return label === undefined ? [] : [this.label(repo, label)];
      }),
      assignee: null,
      assignees: [],
      milestone: null,
      locked: false,
      active_lock_reason: null,
      comments: issue.comments.length,
      closed_at: issue.closedAt,
      created_at: issue.createdAt,
      updated_at: issue.updatedAt,
      author_association: this.association(repo, issue.author),
      reactions: this.reactions(api),
      sub_issues_summary: {
        total: issue.subIssues.length,
        completed: issue.subIssues.filter((n) => repo.issues.get(n)?.state === "closed").length,
        percent_completed: 0,
      },
      ...(pull === undefined
        ? {}
        : {
            draft: pull.draft,
            pull_request: {
              url: `${repoApi}/pulls/${issue.number}`,
              html_url: html,
              diff_url: `${html}.diff`,
              patch_url: `${html}.patch`,
              merged_at: pull.mergedAt,
            },
          }),
    };
  }

  /** An entry of `GET …/issues/{n}/events` (`labeled-issue-event`, `unlabeled-issue-event`). */
  issueEvent(repo: SimRepo, event: SimIssueEvent) {
    return {
      id: event.id,
      node_id: event.nodeId,
      url: `${this.urls.api}/repos/${fullName(repo)}/issues/events/${event.id}`,
      actor: this.user(event.actor),
      event: event.event,
      commit_id: null,
      commit_url: null,
      created_at: event.createdAt,
      performed_via_github_app: event.app === undefined ? null : this.app(event.app),
      label: { name: event.label.name, color: event.label.color },
    };
  }

  reactions(url: string) {
    return {
      url: `${url}/reactions`,
      total_count: 0,
      "+1": 0,
      "-1": 0,
      laugh: 0,
      confused: 0,
      heart: 0,
      hooray: 0,
      eyes: 0,
      rocket: 0,
    };
  }

  association(repo: SimRepo, login: string) {
    if (login.toLowerCase() === repo.owner.toLowerCase()) return "OWNER";
    if (repo.collaborators.has(login.toLowerCase())) return "COLLABORATOR";
    return "NONE";
  }

  comment(repo: SimRepo, comment: SimComment) {
    const repoApi = `${this.urls.api}/repos/${fullName(repo)}`;
    const issue = repo.issues.get(comment.issueNumber);
    const kind = issue?.pullRequest === true ? "pull" : "issues";
    return {
      id: comment.id,
      node_id: comment.nodeId,
      url: `${repoApi}/issues/comments/${comment.id}`,
      html_url: `${this.urls.web}/${fullName(repo)}/${kind}/${comment.issueNumber}#issuecomment-${comment.id}`,
      issue_url: `${repoApi}/issues/${comment.issueNumber}`,
      body: comment.body,
      user: this.user(comment.author),
      created_at: comment.createdAt,
      updated_at: comment.updatedAt,
      author_association: this.association(repo, comment.author),
      reactions: this.reactions(`${repoApi}/issues/comments/${comment.id}`),
    };
  }

  pullRequest(
    repo: SimRepo,
    pull: SimPull,
    extra: { mergeable: boolean | null; mergeableState: string; baseSha: string },
  ) {
    const issue = this.state.mustIssue(repo, pull.number);
    const repoApi = `${this.urls.api}/repos/${fullName(repo)}`;
    const api = `${repoApi}/pulls/${pull.number}`;
    const html = `${this.urls.web}/${fullName(repo)}/pull/${pull.number}`;
    const issueApi = `${repoApi}/issues/${pull.number}`;
    const ref = (branch: string, sha: string) => ({
      label: `${repo.owner}:${branch}`,
      ref: branch,
      sha,
      user: this.user(repo.owner),
      repo: this.repository(repo),
    });
    const comments = pull.reviews.flatMap((review) => review.comments).length;
    return {
      url: api,
      id: pull.id,
      node_id: pull.nodeId,
      html_url: html,
      diff_url: `${html}.diff`,
      patch_url: `${html}.patch`,
      issue_url: issueApi,
      commits_url: `${api}/commits`,
      review_comments_url: `${api}/comments`,
      review_comment_url: `${repoApi}/pulls/comments{/number}`,
      comments_url: `${issueApi}/comments`,
      statuses_url: `${repoApi}/statuses/${pull.headSha}`,
      number: pull.number,
      state: pull.state,
      locked: false,
      title: issue.title,
      user: this.user(issue.author),
      body: issue.body,
      labels: this.issue(repo, issue).labels,
      milestone: null,
      active_lock_reason: null,
      created_at: issue.createdAt,
      updated_at: issue.updatedAt,
      closed_at: issue.closedAt,
      merged_at: pull.mergedAt,
      merge_commit_sha: pull.mergeCommitSha,
      assignee: null,
      assignees: [],
      requested_reviewers: pull.requestedReviewers.map((login) => this.user(login)),
      requested_teams: [],
      head: ref(pull.head, pull.headSha),
      base: ref(pull.base, extra.baseSha),
      _links: {
        self: { href: api },
        html: { href: html },
        issue: { href: issueApi },
        comments: { href: `${issueApi}/comments` },
        review_comments: { href: `${api}/comments` },
        review_comment: { href: `${repoApi}/pulls/comments{/number}` },
        commits: { href: `${api}/commits` },
        statuses: { href: `${repoApi}/statuses/${pull.headSha}` },
      },
      author_association: this.association(repo, issue.author),
      auto_merge:
        pull.autoMerge === null
          ? null
          : {
              enabled_by: this.user(pull.autoMerge.by),
              merge_method: pull.autoMerge.method.toLowerCase(),
              commit_title: issue.title,
              commit_message: "",
            },
      draft: pull.draft,
      merged: pull.merged,
      mergeable: extra.mergeable,
      rebaseable: extra.mergeable,
      mergeable_state: extra.mergeableState,
      merged_by: pull.mergedBy === null ? null : this.user(pull.mergedBy),
      comments: issue.comments.length,
      review_comments: comments,
      maintainer_can_modify: false,
      commits: 1,
      additions: 1,
      deletions: 0,
      changed_files: 1,
    };
  }

  review(repo: SimRepo, pull: SimPull, review: SimReview) {
    const html = `${this.urls.web}/${fullName(repo)}/pull/${pull.number}`;
    return {
      id: review.id,
      node_id: review.nodeId,
      user: this.user(review.author),
      body: review.body,
      state: review.state,
      html_url: `${html}#pullrequestreview-${review.id}`,
      pull_request_url: `${this.urls.api}/repos/${fullName(repo)}/pulls/${pull.number}`,
      _links: {
        html: { href: `${html}#pullrequestreview-${review.id}` },
        pull_request: { href: `${this.urls.api}/repos/${fullName(repo)}/pulls/${pull.number}` },
      },
      submitted_at: review.submittedAt,
      commit_id: review.commitId,
      author_association: this.association(repo, review.author),
    };
  }

  reviewComment(repo: SimRepo, pull: SimPull, comment: SimReviewComment) {
    const repoApi = `${this.urls.api}/repos/${fullName(repo)}`;
    const html = `${this.urls.web}/${fullName(repo)}/pull/${pull.number}#discussion_r${comment.id}`;
    return {
      url: `${repoApi}/pulls/comments/${comment.id}`,
      pull_request_review_id: comment.reviewId,
      id: comment.id,
      node_id: comment.nodeId,
      diff_hunk: `@@ -${comment.line},1 +${comment.line},1 @@`,
      path: comment.path,
      position: 1,
      original_position: 1,
      commit_id: comment.commitId,
      original_commit_id: comment.commitId,
      user: this.user(comment.author),
      body: comment.body,
      created_at: comment.createdAt,
      updated_at: comment.createdAt,
      html_url: html,
      pull_request_url: `${repoApi}/pulls/${pull.number}`,
      author_association: this.association(repo, comment.author),
      _links: {
        self: { href: `${repoApi}/pulls/comments/${comment.id}` },
        html: { href: html },
        pull_request: { href: `${repoApi}/pulls/${pull.number}` },
      },
      line: comment.line,
      original_line: comment.line,
      side: "RIGHT",
      reactions: this.reactions(`${repoApi}/pulls/comments/${comment.id}`),
    };
  }

  app(app: SimApp) {
    const time = "2026-01-01T00:00:00Z";
    return {
      id: app.id,
      slug: app.slug,
      node_id: app.nodeId,
      client_id: `Iv1.${String(app.id).padStart(16, "0")}`,
      owner: this.user(app.owner),
      name: app.name,
      description: null,
      external_url: `${this.urls.web}/apps/${app.slug}`,
      html_url: `${this.urls.web}/apps/${app.slug}`,
      created_at: time,
      updated_at: time,
      permissions: { checks: "write", metadata: "read" },
      events: ["check_suite", "check_run"],
    };
  }

  installation(installation: SimInstallation, app: SimApp) {
    const account = this.state.account(installation.account);
    return {
      id: installation.id,
      app_id: app.id,
      app_slug: app.slug,
      target_id: account.id,
      target_type: account.type === "Organization" ? "Organization" : "User",
      single_file_name: null,
      repository_selection: installation.repositories === "all" ? "all" : "selected",
      access_tokens_url: `${this.urls.api}/app/installations/${installation.id}/access_tokens`,
      html_url: `${this.urls.web}/organizations/${installation.account}/settings/installations/${installation.id}`,
      repositories_url: `${this.urls.api}/installation/repositories`,
      events: [
        "issues",
        "issue_comment",
        "pull_request",
        "pull_request_review",
        "check_suite",
        "check_run",
        "status",
        "push",
        "projects_v2_item",
      ],
      account: {
        ...this.user(installation.account),
        name: installation.account,
        slug: installation.account,
        created_at: installation.createdAt,
        updated_at: installation.createdAt,
      },
      permissions: installation.permissions,
      created_at: installation.createdAt,
      updated_at: installation.createdAt,
      suspended_by: null,
      suspended_at: installation.suspended ? installation.createdAt : null,
    };
  }

  checkSuite(repo: SimRepo, suite: SimCheckSuite, pullRequests: SimPull[]) {
    const repoApi = `${this.urls.api}/repos/${fullName(repo)}`;
    const app = this.state.apps.get(suite.appId);
    const runs = repo.checkRuns.filter((run) => run.suiteId === suite.id);
    return {
      id: suite.id,
      node_id: suite.nodeId,
      head_branch: suite.headBranch,
      head_sha: suite.headSha,
      status: suite.status,
      conclusion: suite.conclusion,
      url: `${repoApi}/check-suites/${suite.id}`,
      before: suite.before,
      after: suite.headSha,
      pull_requests: pullRequests.map((pull) => this.pullRequestMinimal(repo, pull)),
      app: app === undefined ? null : this.app(app),
      repository: this.repository(repo),
      created_at: suite.createdAt,
      updated_at: suite.updatedAt,
      head_commit: {
        id: suite.headSha,
        tree_id: suite.headSha,
        message: "commit",
        timestamp: suite.createdAt,
        author: { name: "Simulator", email: "simulator@example.com" },
        committer: { name: "Simulator", email: "simulator@example.com" },
      },
      latest_check_runs_count: runs.length,
      check_runs_url: `${repoApi}/check-suites/${suite.id}/check-runs`,
      rerequestable: true,
      runs_rerequestable: true,
    };
  }

  /** `pull-request-minimal`, as check runs and suites list their pull requests. */
  pullRequestMinimal(repo: SimRepo, pull: SimPull) {
    const repoRef = {
      id: repo.id,
      url: `${this.urls.api}/repos/${fullName(repo)}`,
      name: repo.name,
    };
    return {
      id: pull.id,
      number: pull.number,
      url: `${this.urls.api}/repos/${fullName(repo)}/pulls/${pull.number}`,
      head: { ref: pull.head, sha: pull.headSha, repo: repoRef },
      base: { ref: pull.base, sha: pull.headSha, repo: repoRef },
    };
  }

  checkRun(repo: SimRepo, run: SimCheckRun, pullRequests: SimPull[]) {
    const repoApi = `${this.urls.api}/repos/${fullName(repo)}`;
    const app = this.state.apps.get(run.appId);
    return {
      id: run.id,
      node_id: run.nodeId,
      head_sha: run.headSha,
      external_id: run.externalId,
      url: `${repoApi}/check-runs/${run.id}`,
      html_url: `${this.urls.web}/${fullName(repo)}/runs/${run.id}`,
      details_url: run.detailsUrl,
      status: run.status,
      conclusion: run.conclusion,
      started_at: run.startedAt,
      completed_at: run.completedAt,
      output: {
        ...run.output,
        annotations_count: 0,
        annotations_url: `${repoApi}/check-runs/${run.id}/annotations`,
      },
      name: run.name,
      check_suite: { id: run.suiteId },
      app: app === undefined ? null : this.app(app),
      pull_requests: pullRequests.map((pull) => this.pullRequestMinimal(repo, pull)),
    };
  }

  status(repo: SimRepo, status: SimStatus) {
    return {
      url: `${this.urls.api}/repos/${fullName(repo)}/statuses/${status.sha}`,
      avatar_url: null,
      id: status.id,
      node_id: status.nodeId,
      state: status.state,
      description: status.description,
      target_url: status.targetUrl,
      context: status.context,
      created_at: status.createdAt,
      updated_at: status.createdAt,
      creator: this.user(status.creator),
    };
  }
}
