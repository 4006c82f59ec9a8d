/**
 * Checks on Octokit (`ChecksPort`): kanbot's own check run, every check run and commit status on
 * a commit (what the gate reads), and a check run's annotations (the fix bundle).
 */
import type { RepoRef } from "../../domain/dependencies.js";
import type {
  ActionsJobRef,
  AnnotationLevel,
  CheckAnnotation,
  CheckConclusion,
  CheckRunFacts,
  CheckRunInput,
  CheckRunOutput,
  CheckStatus,
  ChecksPort,
  CommitStatusFacts,
  CommitStatusState,
} from "../pull-request-port.js";
import { PER_PAGE, formatRepo, oneOf, type OctokitCall, type RestUser } from "./octokit-call.js";

/** The name of kanbot's own check run. */
export const KANBOT_CHECK_NAME = "kanbot";
/** GitHub refuses a check run output's `summary` or `text` longer than this (characters). */
export const CHECK_OUTPUT_LIMIT = 65_535;
/** How many annotations of one check run are read by default. */
export const DEFAULT_ANNOTATION_LIMIT = 50;

interface RestApp {
  id?: number;
  slug?: string;
}

interface RestCheckRun {
  id: number;
  name: string;
  head_sha: string;
  status: string;
  conclusion: string | null;
  started_at: string | null;
  completed_at: string | null;
  details_url: string | null;
  external_id: string | null;
  html_url: string | null;
  app: RestApp | null;
  check_suite: { id: number } | null;
  output: {
    title: string | null;
    summary: string | null;
    text: string | null;
    annotations_count: number;
  };
}

interface RestStatus {
  id: number;
  context: string;
  state: string;
  description: string | null;
  target_url: string | null;
  created_at: string;
  updated_at: string;
  creator: RestUser | null;
}

interface RestAnnotation {
  path: string;
  start_line: number;
  end_line: number;
  annotation_level: string | null;
  title: string | null;
  message: string | null;
  raw_details: string | null;
}

const CHECK_STATUSES: readonly CheckStatus[] = [
  "queued",
  "in_progress",
  "completed",
  "waiting",
  "requested",
  "pending",
];

const CHECK_CONCLUSIONS: readonly CheckConclusion[] = [
  "success",
  "failure",
  "neutral",
  "cancelled",
  "skipped",
  "timed_out",
  "action_required",
  "stale",
  "startup_failure",
];

const STATUS_STATES: readonly CommitStatusState[] = ["error", "failure", "pending", "success"];

/**
 * The Actions run and job of a check run made by GitHub Actions: its details URL reads
 * `…/actions/runs/{run_id}/job/{job_id}` (Actions' check run id is the job id).
 */
function actionsJobOf(run: RestCheckRun): ActionsJobRef | undefined {
  if (run.app?.slug !== "github-actions" || run.details_url === null) return undefined;
  const match = /\/actions\/runs\/(\d+)\/jobs?\/(\d+)/.exec(run.details_url);
  if (match === null) return undefined;
  return { runId: Number(match[1]), jobId: Number(match[2]) };
}

function toCheckRun(run: RestCheckRun): CheckRunFacts {
  return {
    id: run.id,
    name: run.name,
    headSha: run.head_sha,
    status: oneOf(CHECK_STATUSES, run.status) ?? "queued",
    conclusion: oneOf(CHECK_CONCLUSIONS, run.conclusion) ?? null,
    startedAt: run.started_at,
    completedAt: run.completed_at,
    detailsUrl: run.details_url,
    externalId: run.external_id,
    htmlUrl: run.html_url,
    appSlug: run.app?.slug,
    appId: run.app?.id,
    checkSuiteId: run.check_suite?.id,
    output: {
      title: run.output.title,
      summary: run.output.summary,
      text: run.output.text,
      annotationsCount: run.output.annotations_count,
    },
    actionsJob: actionsJobOf(run),
  };
}

function toStatus(status: RestStatus): CommitStatusFacts {
  return {
    id: status.id,
    context: status.context,
    state: oneOf(STATUS_STATES, status.state) ?? "pending",
    description: status.description,
    targetUrl: status.target_url,
    createdAt: status.created_at,
    updatedAt: status.updated_at,
    creator: status.creator?.login,
  };
}

function toAnnotation(annotation: RestAnnotation): CheckAnnotation {
  const levels: readonly AnnotationLevel[] = ["notice", "warning", "failure"];
  return {
    path: annotation.path,
    startLine: annotation.start_line,
    endLine: annotation.end_line,
    level: oneOf(levels, annotation.annotation_level),
    title: annotation.title,
    message: annotation.message ?? "",
    rawDetails: annotation.raw_details,
  };
}

/** Text GitHub accepts in a check run output: cut at {@link CHECK_OUTPUT_LIMIT}, saying so. */
function fitOutput(text: string): string {
  if (text.length <= CHECK_OUTPUT_LIMIT) return text;
  const note = "\n\n… (cut: GitHub keeps at most 65535 characters)";
  return text.slice(0, CHECK_OUTPUT_LIMIT - note.length) + note;
}

function outputOf(output: CheckRunOutput) {
  return {
    title: output.title,
    summary: fitOutput(output.summary),
    ...(output.text === undefined ? {} : { text: fitOutput(output.text) }),
  };
}

/** The request fields of a check run, leaving out what the caller did not set. */
function checkRunFields(run: Partial<Omit<CheckRunInput, "headSha" | "name">>) {
  return {
    ...(run.status === undefined ? {} : { status: run.status }),
    ...(run.conclusion === undefined ? {} : { conclusion: run.conclusion }),
    ...(run.output === undefined ? {} : { output: outputOf(run.output) }),
    ...(run.detailsUrl === undefined ? {} : { details_url: run.detailsUrl }),
    ...(run.externalId === undefined ? {} : { external_id: run.externalId }),
    ...(run.startedAt === undefined ? {} : { started_at: run.startedAt }),
    ...(run.completedAt === undefined ? {} : { completed_at: run.completedAt }),
  };
}

export function octokitChecks(gh: OctokitCall): ChecksPort {
  const { octokit } = gh;
  return {
    async createCheckRun(repo: RepoRef, run: CheckRunInput): Promise<CheckRunFacts> {
      const name = run.name ?? KANBOT_CHECK_NAME;
      const { data } = await gh.call(
        `create the ${name} check run on ${run.headSha} in ${formatRepo(repo)}`,
        () =>
          octokit.rest.checks.create({
            owner: repo.owner,
            repo: repo.repo,
            name,
            head_sha: run.headSha,
            ...checkRunFields(run),
          }),
      );
      return toCheckRun(data);
    },

    async listCheckRuns(repo: RepoRef, sha: string): Promise<CheckRunFacts[]> {
      const runs = await gh.call(`list the check runs of ${sha} in ${formatRepo(repo)}`, () =>
        octokit.paginate(octokit.rest.checks.listForRef, {
          owner: repo.owner,
          repo: repo.repo,
          ref: sha,
          filter: "all",
          per_page: PER_PAGE,
        }),
      );
      return runs.map(toCheckRun);
    },

    async listCommitStatuses(repo: RepoRef, sha: string): Promise<CommitStatusFacts[]> {
      const statuses = await gh.call(
        `list the commit statuses of ${sha} in ${formatRepo(repo)}`,
        () =>
          octokit.paginate(octokit.rest.repos.listCommitStatusesForRef, {
            owner: repo.owner,
            repo: repo.repo,
            ref: sha,
            per_page: PER_PAGE,
          }),
      );
      return statuses.map(toStatus);
    },

    async listAnnotations(
      repo: RepoRef,
      checkRunId: number,
      options: { limit?: number } = {},
    ): Promise<CheckAnnotation[]> {
      const limit = options.limit ?? DEFAULT_ANNOTATION_LIMIT;
      if (limit <= 0) return [];
      let seen = 0;
      const annotations = await gh.call(
        `list the annotations of check run ${checkRunId} in ${formatRepo(repo)}`,
        () =>
          octokit.paginate(
            octokit.rest.checks.listAnnotations,
            {
              owner: repo.owner,
              repo: repo.repo,
              check_run_id: checkRunId,
              per_page: Math.min(limit, PER_PAGE),
            },
            (response, done) => {
              // Stop asking once the limit is reached: a failing lint can annotate thousands.
              if (response.data.length > 0 && seen + response.data.length >= limit) done();
              seen += response.data.length;
              return response.data;
            },
          ),
      );
      return annotations.slice(0, limit).map(toAnnotation);
    },
  };
}
