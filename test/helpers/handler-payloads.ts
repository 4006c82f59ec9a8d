/**
 * Webhook payloads for the handlers' integration tests, built from GitHub's own examples
 * (`@octokit/webhooks-examples`) with only the fields a test is about changed.
 */
import type { IssueRef } from "../../src/domain/dependencies.js";
import { issueNodeId } from "./github-port-mocks.js";
import { webhookExample } from "./github-webhooks.js";
import type { WebhookPayload } from "./probot.js";

/**
 * `projects_v2_item.edited`: the card `itemId` of issue `issue` changed a single-select field
 * (GitHub says which field changed, not to what: kanbot resolves the item).
 */
export function cardMovedPayload(
  itemId: string,
  issue: IssueRef,
  options: { sender?: string; contentType?: "Issue" | "DraftIssue" | "PullRequest" } = {},
): WebhookPayload<"projects_v2_item"> {
  const payload = webhookExample("projects_v2_item", "edited") as unknown as {
    projects_v2_item: { node_id: string; content_node_id: string; content_type: string };
    sender: { login: string };
  };
  payload.projects_v2_item.node_id = itemId;
  payload.projects_v2_item.content_node_id = issueNodeId(issue);
  payload.projects_v2_item.content_type = options.contentType ?? "Issue";
  payload.sender.login = options.sender ?? "alice";
  return payload as unknown as WebhookPayload<"projects_v2_item">;
}

/** `issues.unlabeled` of `label` from issue `number`, by `sender`. */
export function unlabeledPayload(
  label: string,
  options: { number?: number; sender?: string } = {},
): WebhookPayload<"issues"> {
  const payload = webhookExample("issues", "unlabeled") as unknown as {
    label: { name: string };
    issue: { number: number };
    sender: { login: string };
  };
  payload.label.name = label;
  payload.issue.number = options.number ?? 1;
  payload.sender.login = options.sender ?? "alice";
  return payload as unknown as WebhookPayload<"issues">;
}

/** `issues.closed` of issue `number` by `sender` (GitHub's `reopened` example, turned around). */
export function closedPayload(number: number, sender = "alice"): WebhookPayload<"issues"> {
  const payload = webhookExample("issues", "reopened") as unknown as {
    action: string;
    issue: { number: number; state: string };
    sender: { login: string };
  };
  payload.action = "closed";
  payload.issue.number = number;
  payload.issue.state = "closed";
  payload.sender.login = sender;
  return payload as unknown as WebhookPayload<"issues">;
}
