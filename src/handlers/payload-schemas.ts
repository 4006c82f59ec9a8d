/**
 * The shape of each webhook event kanbot handles, as far as kanbot reads it: one zod schema per
 * event and action, written from GitHub's webhook documentation ("Webhook events and payloads")
 * and checked against every example of `@octokit/webhooks-examples` (test/unit/handlers/
 * payload-schemas.test.ts). A payload that does not fit is recorded as `invalid` and never
 * handed to a handler (src/inbox/record-delivery.ts): a handler may then rely on what its
 * schema says without a `TypeError` deep inside it, and a numeric string never becomes an issue
 * number.
 *
 * The schemas are loose: they name only the fields kanbot reads and let every other field
 * through, so a field GitHub adds tomorrow changes nothing. Repository owners and names are
 * checked as GitHub allows them (src/domain/repo-name.ts) before any path is built from them.
 */
import { z } from "zod";
import { OwnerLogin, RepoName } from "../domain/repo-name.js";
import { isKanbotEvent } from "../inbox/internal-events.js";

/** The largest issue or PR number the store keeps (a Postgres `integer`). */
const MAX_ISSUE_NUMBER = 2_147_483_647;

/** An issue or PR number. */
const IssueNumber = z.number().int().positive().max(MAX_ISSUE_NUMBER);

/** A git commit SHA (SHA-1 or SHA-256), lower-case hex. */
const CommitSha = z.string().regex(/^(?:[0-9a-f]{40}|[0-9a-f]{64})$/, {
  error: "expected a 40- or 64-character hex commit SHA",
});

/** A person or app, where kanbot reads only the login. */
const Account = z.looseObject({ login: z.string().min(1) });

/** The repository every repository event carries. */
const Repository = z
  .looseObject({
    name: RepoName,
    owner: z.looseObject({ login: OwnerLogin }),
    full_name: z.string(),
    default_branch: z.string().min(1).optional(),
  })
  .refine((repo) => repo.full_name === `${repo.owner.login}/${repo.name}`, {
    error: "expected full_name to be owner.login/name",
    path: ["full_name"],
  });

/** The installation the app acts as; optional (an event without one is logged and skipped). */
const Installation = z.looseObject({ id: z.number().int().positive() }).nullable().optional();

/** The label an `issues.labeled`/`unlabeled` event is about (absent for a deleted label). */
const Label = z.looseObject({ name: z.string() }).optional();

/** GitHub's issue object, as ./payload-issue.ts reads it. */
const Issue = z.looseObject({
  number: IssueNumber,
  node_id: z.string().min(1),
  title: z.string(),
  body: z.string().nullable().optional(),
  state: z.string().optional(),
  state_reason: z.string().nullable().optional(),
  labels: z.array(z.union([z.looseObject({ name: z.string() }), z.string()])).optional(),
  user: Account.nullable().optional(),
  html_url: z.string(),
});

/** What the issue events share: the issue, its repository and who did it. */
const IssueEvent = {
  issue: Issue,
  repository: Repository,
  sender: Account,
  installation: Installation,
};

/** GitHub's pull request object, as far as the PR handlers read it. */
const PullRequest = z.looseObject({
  number: IssueNumber,
  merged: z.boolean().nullable().optional(),
  head: z.looseObject({
    ref: z.string().min(1),
    sha: CommitSha,
    repo: z.looseObject({ full_name: z.string() }).nullable().optional(),
  }),
  base: z.looseObject({ ref: z.string().min(1) }),
});

/** The repository events without an issue: checks, statuses, pushes. */
const RepositoryEvent = {
  repository: Repository,
  installation: Installation,
};

/**
 * The schema of each handled `event.action` (or bare `event`), keyed as the router
 * (src/inbox/route-event.ts) keys its handlers.
 */
export const PAYLOAD_SCHEMAS = {
  "issues.labeled": z.looseObject({ ...IssueEvent, label: Label }),
  "issues.unlabeled": z.looseObject({ ...IssueEvent, label: Label }),
  "issues.closed": z.looseObject(IssueEvent),
  "issue_comment.created": z.looseObject({
    ...IssueEvent,
    comment: z.looseObject({
      id: z.number().int().positive(),
      body: z.string().nullable().optional(),
      user: Account.nullable().optional(),
    }),
  }),
  "projects_v2_item.edited": z.looseObject({
    projects_v2_item: z.looseObject({
      node_id: z.string().min(1),
      content_type: z.string(),
      content_node_id: z.string().nullable().optional(),
    }),
    changes: z.looseObject({}).optional(),
    sender: Account,
    installation: Installation,
  }),
  "check_suite.completed": z.looseObject({
    ...RepositoryEvent,
    check_suite: z.looseObject({ head_sha: CommitSha }),
  }),
  "check_run.completed": z.looseObject({
    ...RepositoryEvent,
    check_run: z.looseObject({
      id: z.number().int().positive(),
      name: z.string(),
      head_sha: CommitSha,
      app: z.looseObject({ slug: z.string().optional() }).nullable().optional(),
    }),
  }),
  status: z.looseObject({
    ...RepositoryEvent,
    sha: CommitSha,
    state: z.string(),
    context: z.string().optional(),
  }),
  "pull_request.closed": z.looseObject({
    ...RepositoryEvent,
    pull_request: PullRequest,
    sender: Account,
  }),
  "pull_request.synchronize": z.looseObject({
    ...RepositoryEvent,
    pull_request: PullRequest,
    sender: Account,
  }),
  "pull_request_review.submitted": z.looseObject({
    ...RepositoryEvent,
    pull_request: PullRequest,
    review: z.looseObject({
      id: z.number().int().positive(),
      state: z.string(),
      body: z.string().nullable().optional(),
      user: Account.nullable().optional(),
    }),
    sender: Account,
  }),
  push: z.looseObject({
    ...RepositoryEvent,
    ref: z.string().min(1),
    after: z.string().regex(/^[0-9a-f]{40}$|^[0-9a-f]{64}$/, {
      error: "expected a 40- or 64-character hex commit SHA",
    }),
    deleted: z.boolean().optional(),
    sender: Account.nullable().optional(),
  }),
} satisfies Record<string, z.ZodType>;

/** A handled event and action, as {@link PAYLOAD_SCHEMAS} keys them. */
export type HandledEventKey = keyof typeof PAYLOAD_SCHEMAS;

/**
 * Why `payload` does not fit the `event`/`action` kanbot handles, as one line naming the field
 * (`issue.number: expected number, received string`); undefined when it fits or when kanbot does
 * not handle the event (those are recorded and skipped).
 */
export function payloadProblem(
  event: string,
  action: string | undefined,
  payload: unknown,
): string | undefined {
  if (typeof payload !== "object" || payload === null || Array.isArray(payload)) {
    return "(payload): expected a JSON object";
  }
  // Events only kanbot records itself (src/inbox/internal-events.ts); GitHub never sends them.
  if (isKanbotEvent(event)) {
    return `(event): ${event} is kanbot's own inbox event and never comes from GitHub`;
  }
  const key = action === undefined ? event : `${event}.${action}`;
  const schema = (PAYLOAD_SCHEMAS as Record<string, z.ZodType>)[key];
  if (schema === undefined) return undefined;
  const parsed = schema.safeParse(payload);
  if (parsed.success) return undefined;
  const first = parsed.error.issues[0];
  if (first === undefined) return "(payload): does not fit the event";
  const path = first.path.length === 0 ? "(payload)" : formatPath(first.path);
  return `${path}: ${readable(first.message)}`;
}

/** `issue.labels[2].name` from zod's path. */
function formatPath(path: readonly PropertyKey[]): string {
  return path
    .map((part, index) =>
      typeof part === "number" ? `[${part}]` : `${index === 0 ? "" : "."}${String(part)}`,
    )
    .join("");
}

/** zod's "Invalid input: expected number, received undefined" as "missing (expected number)". */
function readable(message: string): string {
  const text = message.replace(/^Invalid input: /, "");
  const missing = /^expected (.+), received undefined$/.exec(text);
  return missing ? `missing (expected ${missing[1]})` : text;
}
