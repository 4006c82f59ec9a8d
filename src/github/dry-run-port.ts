/**
 * Dry run (`KANBOT_DRY_RUN=true`) lives in the apply step: the GitHub port is wrapped so that
 * reads still reach GitHub (plans are made from real data) while every write is logged and
 * answered with a stand-in value. The store is still written, so `kanbot plan` and the audit
 * log show what kanbot would have done.
 */
import type { Logger } from "pino";
import type { GitHubPort, IssueComment, ProjectItem } from "./port.js";

/** `port` with every GitHub write replaced by a log line. */
export function dryRunPort(port: GitHubPort, log: Logger): GitHubPort {
  const skipped = (call: string, facts: Record<string, unknown>): void => {
    log.info({ call, ...facts }, "dry run: GitHub write skipped");
  };
  const fakeComment = (body: string, id = 0): IssueComment => ({
    id,
    body,
    author: "kanbot[dry-run]",
    authorType: "Bot",
    createdAt: new Date(0).toISOString(),
    htmlUrl: "",
  });
  return {
    permissionOf: (repo, login) => port.permissionOf(repo, login),
    defaultBranch: (repo) => port.defaultBranch(repo),
    readFile: (repo, path, ref) => port.readFile(repo, path, ref),
    getIssue: (issue) => port.getIssue(issue),
    listComments: (issue) => port.listComments(issue),
    // The stand-in comment a skipped `createComment` answered (id 0) is not on GitHub: no read.
    commentNodeId: (repo, commentId) =>
      commentId === 0 ? Promise.resolve(undefined) : port.commentNodeId(repo, commentId),
    labelNodeIds: (repo) => port.labelNodeIds(repo),
    isPullRequestMerged: (pr) => port.isPullRequestMerged(pr),
    listIssuesWithLabels: (repo, labels) => port.listIssuesWithLabels(repo, labels),
    lastLabeler: (issue, label) => port.lastLabeler(issue, label),
    lastLabelers: (issue, labels) => port.lastLabelers(issue, labels),
    listBlockedBy: (issue) => port.listBlockedBy(issue),
    listSubIssues: (issue) => port.listSubIssues(issue),
    findProject: (owner, number, options) => port.findProject(owner, number, options),
    findProjectItem: (board, nodeId) => port.findProjectItem(board, nodeId),
    resolveProjectItem: (itemNodeId) => port.resolveProjectItem(itemNodeId),
    createComment(issue, body) {
      skipped("createComment", { issue });
      return Promise.resolve(fakeComment(body));
    },
    updateComment(repo, commentId, body) {
      skipped("updateComment", { repo, commentId });
      return Promise.resolve(fakeComment(body, commentId));
    },
    writeIssueView(issue, write) {
      skipped("writeIssueView", {
        issue,
        removeLabelIds: write.removeLabelIds,
        addLabelIds: write.addLabelIds,
        card: write.card === undefined ? undefined : write.card.optionId,
        comment: write.comment?.nodeId,
      });
      return Promise.resolve();
    },
    ensureLabels(repo, labels) {
      skipped("ensureLabels", { repo, labels: labels.map((label) => label.name) });
      return Promise.resolve();
    },
    addLabels(issue, labels) {
      skipped("addLabels", { issue, labels });
      return Promise.resolve();
    },
    removeLabel(issue, label) {
      skipped("removeLabel", { issue, label });
      return Promise.resolve();
    },
    addProjectItem(board, issueNodeId) {
      skipped("addProjectItem", { project: board.number, issueNodeId });
      return Promise.resolve({ id: "dry-run-item", values: {} } satisfies ProjectItem);
    },
    setSingleSelect(board, itemId, fieldId, optionId) {
      skipped("setSingleSelect", { project: board.number, itemId, fieldId, optionId });
      return Promise.resolve();
    },
  };
}
