/**
 * `issue_comment.created` with a `/kanbot` command: `run [agent]`, `cancel`, `retry`, `status`,
 * `ready` (the PR ready for review although no check ran, src/tasks/ready.ts), `answer <text>`
 * (the answer to the agent's question). A plain comment on an issue whose task waits for an
 * answer (`needs-input`) is the answer when its author has the trigger permission; anyone else's
 * comment is ignored there as everywhere, without a reply.
 * On a pull request, the command applies to the task whose PR it is, and free-text instructions
 * (`/kanbot <text>`) start a `revise` job on the PR's branch with them.
 */
import { DEFAULT_REPO_CONFIG } from "../config/repo-config.js";
import type { IssueRef } from "../domain/dependencies.js";
import { parseCommand, type Command } from "../domain/commands.js";
import { planRevise } from "../domain/review-request.js";
import { hasAtLeast, type GuardedAction } from "../domain/permission.js";
import { waitsForAnswer } from "../domain/task-machine.js";
import { BoardLookup } from "../tasks/effects/board.js";
import { loadRepoConfig, reportInvalidConfig } from "../tasks/repo-config.js";
import { applyTaskEvent } from "../tasks/apply.js";
import { repoName } from "../tasks/lookup.js";
import type { TaskEventOutcome } from "../tasks/request.js";
import { readyWithoutChecks } from "../tasks/ready.js";
import { cancelTask, refreshStatus, startTask } from "../tasks/start.js";
import { issueOfTask } from "../tasks/effects/progress-comment.js";
import { authorize } from "./authorize.js";
import { issueRefOf, type Handler, type HandlerContext } from "./handler-context.js";
import { replyIfRejected } from "./reply.js";

const ACTIONS = {
  run: "start",
  cancel: "cancel",
  retry: "retry",
  status: "status",
  ready: "ready",
  answer: "answer",
  instructions: "steer",
} as const satisfies Record<Command["kind"], GuardedAction>;

export const onIssueCommentCreated: Handler<"issue_comment.created"> = async (ctx, payload) => {
  // 1. Guard: a command, on an issue or on a task's PR.
  const command = parseCommand(payload.comment.body ?? "");
  const where = issueRefOf(payload.repository, payload.issue.number);
  if (command === undefined) {
    if (payload.issue.pull_request === undefined) await plainAnswer(ctx, payload, where);
    return;
  }
  const target = payload.issue.pull_request === undefined ? where : await taskIssueOfPr(ctx, where);
  if (target === undefined) {
    ctx.log.info(
      { pr: where, command: command.kind },
      "command on a pull request kanbot did not open; ignored",
    );
    return;
  }
  if (command.kind === "instructions" && payload.issue.pull_request === undefined) {
    ctx.log.info({ issue: where }, "instructions apply on a task's PR, not on its issue; ignored");
    return;
  }

  // 2. Who may, and a usable config.
  const actor = payload.comment.user?.login ?? payload.sender.login;
  const loaded = await loadRepoConfig(ctx, target);
  const minimum = loaded.ok
    ? loaded.config.minimumPermission
    : DEFAULT_REPO_CONFIG.minimumPermission;
  if (!(await authorize(ctx, where, actor, minimum, ACTIONS[command.kind]))) return;
  if (!loaded.ok) {
    await reportInvalidConfig(ctx, where, loaded.errors);
    return;
  }
  const issue = await ctx.github.getIssue(target);
  if (issue === undefined) return;

  // 3. Plan and apply.
  const board = new BoardLookup();
  const config = loaded.config;
  let outcome: TaskEventOutcome;
  switch (command.kind) {
    case "run":
      outcome = await startTask(ctx, {
        issue,
        config,
        actor,
        source: "command",
        requestedAgent: command.agent,
        board,
      });
      break;
    case "retry":
      outcome = await startTask(ctx, { issue, config, actor, source: "retry", board });
      break;
    case "cancel":
      outcome = await cancelTask(ctx, { issue, config, actor, source: "command", board });
      break;
    case "status":
      outcome = await refreshStatus(ctx, issue, config);
      break;
    case "ready":
      outcome = await readyWithoutChecks(ctx, { issue, config, actor });
      break;
    case "answer":
      outcome = await applyTaskEvent(ctx, {
        issue,
        config,
        actor,
        event: { type: "answered", answer: command.text, author: actor },
        board,
      });
      break;
    case "instructions": {
      const decision = planRevise(
        { type: "comment", body: payload.comment.body ?? "", author: actor },
        { botLogin: ctx.botLogin, trust: { isTrusted: () => true } },
      );
      if (decision.outcome === "ignored") {
        ctx.log.info({ pr: where, reason: decision.reason }, "instructions ignored");
        return;
      }
      outcome = await applyTaskEvent(ctx, {
        issue,
        config,
        actor,
        event: {
          type: "revise-requested",
          source: "command",
          instructions: decision.instructions,
        },
        board,
      });
      break;
    }
  }
  await replyIfRejected(ctx, where, actor, outcome);
};

/**
 * A plain comment on an issue whose task waits for an answer: the answer, when its author has the
 * trigger permission. Bots (kanbot included) and people below it are ignored without a reply, as
 * any plain comment is.
 */
async function plainAnswer(
  ctx: HandlerContext,
  payload: Parameters<Handler<"issue_comment.created">>[1],
  where: IssueRef,
): Promise<void> {
  const author = payload.comment.user;
  if (author === null || author === undefined) return;
  if (author.type === "Bot" || author.login.toLowerCase() === ctx.botLogin.toLowerCase()) return;
  const task = await ctx.store.findTask(repoName(where), where.number);
  if (task === undefined || !waitsForAnswer({ state: task.state, blocker: task.blocker ?? null })) {
    return;
  }
  const loaded = await loadRepoConfig(ctx, where);
  if (!loaded.ok) return;
  const level = await ctx.github.permissionOf(where, author.login);
  if (!hasAtLeast(level, loaded.config.minimumPermission)) {
    ctx.log.info(
      { issue: where, login: author.login, level },
      "reply to the agent's question from someone below the trigger permission; ignored",
    );
    return;
  }
  const issue = await ctx.github.getIssue(where);
  if (issue === undefined) return;
  const outcome = await applyTaskEvent(ctx, {
    issue,
    config: loaded.config,
    actor: author.login,
    event: { type: "answered", answer: payload.comment.body ?? "", author: author.login },
    board: new BoardLookup(),
  });
  await replyIfRejected(ctx, where, author.login, outcome);
}

/** The issue of the task whose PR is `pr`, or undefined when kanbot did not open it. */
async function taskIssueOfPr(ctx: HandlerContext, pr: IssueRef): Promise<IssueRef | undefined> {
  const tasks = await ctx.store.listTasks({ repo: repoName(pr) });
  const task = tasks.find((candidate) => candidate.prNumber === pr.number);
  return task === undefined ? undefined : issueOfTask(task);
}
