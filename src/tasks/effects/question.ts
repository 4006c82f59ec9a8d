/**
 * The `post-question` effect (issue 14, part 2): the agent's question as a comment on the issue,
 * saying who can answer and how. The comment carries a hidden marker of the job that asked, so
 * running the effect again (a crash before it was ticked off) finds it instead of posting twice.
 */
import { answerDueAt, questionMarker, renderQuestionComment } from "../../domain/question.js";
import type { PostQuestionEffect } from "../../domain/task.js";
import type { RepoConfig } from "../../config/repo-config.js";
import type { Task } from "../../store/index.js";
import type { TaskContext } from "../context.js";
import { issueOfTask } from "./progress-comment.js";

export async function postQuestion(
  ctx: TaskContext,
  task: Task,
  effect: PostQuestionEffect,
  config: RepoConfig,
): Promise<void> {
  const issue = issueOfTask(task);
  const marker = questionMarker(issue, effect.jobId);
  const comments = await ctx.github.listComments(issue);
  const posted = comments.find(
    (comment) =>
      comment.author.toLowerCase() === ctx.botLogin.toLowerCase() &&
      comment.body.startsWith(marker),
  );
  if (posted !== undefined) {
    ctx.log.info({ issue, commentId: posted.id }, "question already posted");
    return;
  }
  const body = renderQuestionComment({
    issue,
    jobId: effect.jobId,
    question: effect.question,
    agent: task.agent,
    minimumPermission: config.minimumPermission,
    reminder: effect.reminder,
    dueAt:
      task.state === "needs-input"
        ? answerDueAt(task.enteredAt, config.questions.answerTimeoutHours)
        : undefined,
  });
  const created = await ctx.github.createComment(issue, body);
  ctx.log.info({ issue, commentId: created.id, jobId: effect.jobId }, "question posted");
}
