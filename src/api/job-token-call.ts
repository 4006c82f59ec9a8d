/**
 * `POST /api/v1/jobs/:id/token`: an installation token for the job's one repository, minted for
 * a runner that holds a live lease on the job, and refused (and revoked) when the lease ended
 * while GitHub minted it.
 */
import type { JobTokenRequest, JobTokenResponse } from "../protocol/index.js";
import type { Job, JobStore } from "../store/index.js";
import { JobTokenError, type JobTokenBroker } from "../tokens/job-token-broker.js";
import { ApiHttpError } from "./http.js";

export async function issueJobToken(
  deps: { store: JobStore; jobTokens: JobTokenBroker },
  job: Job,
  body: JobTokenRequest,
): Promise<JobTokenResponse> {
  const { store, jobTokens } = deps;
  await store.assertLease(job.id, body.leaseToken);
  const task = await store.getTask(job.taskId);
  if (task === undefined)
    throw new ApiHttpError(404, "not-found", `the task of job ${job.id} no longer exists`);
  let issued;
  try {
    issued = await jobTokens.issue(job.id, task.installationId, job.repo);
  } catch (error) {
    if (!(error instanceof JobTokenError)) throw error;
    throw new ApiHttpError(502, "github-error", error.message);
  }
  try {
    // The lease may have ended while GitHub minted the token: then the sweep's revoke ran
    // before this token was known, so revoke it here and refuse it.
    await store.assertLease(job.id, body.leaseToken);
  } catch (error) {
    await jobTokens.revoke(job.id);
    throw error;
  }
  await store.audit({
    taskId: job.taskId,
    jobId: job.id,
    actor: `runner:${job.runnerId ?? "unknown"}`,
    action: "job.token-issued",
    detail: { repo: job.repo, expiresAt: issued.expiresAt.toISOString() },
  });
  return {
    token: issued.token,
    expiresAt: issued.expiresAt.toISOString(),
    repository: job.repo,
    permissions: issued.permissions,
  };
}
