/**
 * The store's named errors: expected outcomes a caller handles (a stale lease is a 409 for the
 * runner API), each carrying the facts needed to act on it.
 */
import type { JobStatus } from "../domain/types.js";

/** The lease token does not (or no longer) hold the job: it expired, or the job was re-claimed. */
export class StaleLeaseError extends Error {
  override readonly name = "StaleLeaseError";
  constructor(readonly jobId: number) {
    super(
      `job ${jobId}: the lease token is stale (the lease expired or the job ended); ` +
        "stop working on this job and claim a new one",
    );
  }
}

export class JobNotFoundError extends Error {
  override readonly name = "JobNotFoundError";
  constructor(readonly jobId: number) {
    super(`job ${jobId} does not exist; check the job id`);
  }
}

/** The same lease holder reported a second, different outcome for a job it already finished. */
export class JobAlreadyFinishedError extends Error {
  override readonly name = "JobAlreadyFinishedError";
  constructor(
    readonly jobId: number,
    readonly status: JobStatus,
  ) {
    super(
      `job ${jobId} already finished as ${status} with a different outcome; ` +
        "a completion can be retried only with the same outcome",
    );
  }
}

export class TaskNotFoundError extends Error {
  override readonly name = "TaskNotFoundError";
  constructor(readonly taskId: number) {
    super(`task ${taskId} does not exist; check the task id`);
  }
}

/** Optimistic concurrency: someone changed the task since the caller read it. */
export class TaskVersionConflictError extends Error {
  override readonly name = "TaskVersionConflictError";
  constructor(
    readonly taskId: number,
    readonly expectedVersion: number,
    readonly actualVersion: number,
  ) {
    super(
      `task ${taskId} changed (version ${actualVersion}, expected ${expectedVersion}); ` +
        "read it again and redo the change",
    );
  }
}

/** A job needs an agent, and neither the job nor its task names one. */
export class MissingAgentError extends Error {
  override readonly name = "MissingAgentError";
  constructor(readonly taskId: number) {
    super(`task ${taskId} has no agent; route the task to an agent before queueing a job`);
  }
}

export type RegistrationTokenProblem = "unknown" | "expired" | "used";

export class RegistrationTokenError extends Error {
  override readonly name = "RegistrationTokenError";
  constructor(readonly problem: RegistrationTokenProblem) {
    super(
      `the runner registration token is ${problem === "unknown" ? "not known" : problem}; ` +
        "ask an admin for a new one",
    );
  }
}

export class RunnerNotFoundError extends Error {
  override readonly name = "RunnerNotFoundError";
  constructor(readonly runnerId: string) {
    super(`runner ${runnerId} does not exist; check the runner id`);
  }
}

export class DeliveryNotFoundError extends Error {
  override readonly name = "DeliveryNotFoundError";
  constructor(readonly deliveryId: string) {
    super(`webhook delivery ${deliveryId} is not in the inbox; check the delivery id`);
  }
}

/** `DATABASE_URL` names something the store cannot open. */
export class StoreUrlError extends Error {
  override readonly name = "StoreUrlError";
  constructor(
    readonly url: string,
    problem: string,
  ) {
    super(
      `DATABASE_URL ${JSON.stringify(url)}: ${problem}; ` +
        "use a SQLite file path (./data/kanbot.sqlite, sqlite:./data/kanbot.sqlite) " +
        "or postgres://user@host:5432/database",
    );
  }
}
