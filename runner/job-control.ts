/**
 * The contract between the dispatcher (runner/dispatch/), which holds a job's lease and log, and
 * the job runner (runner/job-runner.ts), which works the job on disk. Neither imports the other:
 * the daemon (runner/daemon.ts) hands `runJob` to the dispatcher, and both speak these types.
 */
import type { OutputStream } from "./process/output.js";
import type { JobOutcomeInput } from "../src/protocol/index.js";

/** Why a running job is stopped before it ends by itself. */
export type StopCause = "canceled" | "lease-lost" | "revoked" | "shutdown";

/** What the job runner needs from the dispatcher for one job. */
export interface JobControl {
  /** Aborted when the job must stop (see `cause`). */
  signal: AbortSignal;
  /** Why `signal` was aborted. */
  cause(): StopCause | undefined;
  /** The phase reported with heartbeats. */
  setPhase(phase: string): void;
  /**
   * Asks the app right now whether this runner still holds the lease (waiting out an app blip
   * while the lease lasts).
   */
  canPush(): Promise<boolean>;
  /**
   * A fresh job token for git, waiting out an app blip while the lease lasts (LeaseLostError when
   * the lease is gone). Never give it to the agent.
   */
  jobToken(): Promise<string>;
  /** Redacted process output for the job log. */
  onLog(text: string, stream: OutputStream): void;
  /** A line of the runner's own for the job log (redacted by the log shipper). */
  note(line: string): void;
  /** Values to redact (the job tokens seen so far, configured secrets). */
  secrets(): readonly string[];
}

/** How the job ended: an outcome for `complete`, or `lease-lost` (nothing to report). */
export type JobResult =
  { kind: "outcome"; outcome: JobOutcomeInput } | { kind: "lease-lost" } | { kind: "revoked" };
