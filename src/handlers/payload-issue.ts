/**
 * The issue an event carries, used instead of reading it again when it is fresh enough.
 *
 * An `issues.*` payload holds the issue as GitHub had it when the event happened. That is what a
 * `GET` would answer too while the delivery is handled at once, and the inbox handles the later
 * events of the same issue (an edit, a close, a label taken off) after this one, in order. It is
 * not fresh enough when the delivery is replayed: on a retry kanbot's own first attempt may have
 * changed the issue's labels already, and after a long wait in the inbox (a backlog, a restart)
 * a person may have closed or edited the issue since. Those read the issue from GitHub.
 */
import type { IssueFacts } from "../github/port.js";
import type { IssueRef } from "../domain/dependencies.js";
import type { HandlerContext } from "./handler-context.js";

/** How old a delivery's payload may be for its issue to stand in for a read. */
export const PAYLOAD_ISSUE_MAX_AGE_MS = 10_000;

/** The fields of a webhook payload's `issue` kanbot uses (GitHub's issue object). */
export interface PayloadIssue {
  number: number;
  node_id: string;
  title: string;
  body?: string | null;
  state?: string;
  state_reason?: string | null;
  labels?: readonly ({ name?: string } | string)[];
  user?: { login: string } | null;
  pull_request?: unknown;
  html_url: string;
}

/**
 * The payload's issue as `IssueFacts`, when the delivery is handled on its first attempt within
 * {@link PAYLOAD_ISSUE_MAX_AGE_MS} of its arrival; undefined otherwise (read it from GitHub).
 */
export function freshPayloadIssue(
  ctx: Pick<HandlerContext, "now" | "deliveryAttempt" | "deliveryReceivedAt">,
  ref: IssueRef,
  issue: PayloadIssue | undefined,
): IssueFacts | undefined {
  if (issue === undefined || ctx.deliveryReceivedAt === undefined) return undefined;
  if ((ctx.deliveryAttempt?.number ?? 1) !== 1) return undefined;
  const age = ctx.now().getTime() - ctx.deliveryReceivedAt.getTime();
  if (age > PAYLOAD_ISSUE_MAX_AGE_MS) return undefined;
  if (issue.number !== ref.number || typeof issue.node_id !== "string") return undefined;
  return {
    ref,
    nodeId: issue.node_id,
    title: issue.title,
    body: issue.body ?? "",
    state: issue.state === "closed" ? "closed" : "open",
    stateReason: issue.state_reason ?? null,
    labels: (issue.labels ?? []).flatMap((label) => {
      const name = typeof label === "string" ? label : label.name;
      return name === undefined ? [] : [name];
    }),
    author: issue.user?.login ?? "ghost",
    isPullRequest: issue.pull_request !== undefined && issue.pull_request !== null,
    htmlUrl: issue.html_url,
  };
}
