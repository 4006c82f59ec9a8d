/**
 * The port under test on a real Probot Octokit (retries and throttling off, see
 * test/helpers/probot.ts) with a fixed installation token, and a logger that keeps what it logs.
 */
import { Writable } from "node:stream";
import { pino, type Logger } from "pino";
import { createGitHubPort } from "../../../src/github/octokit-port.js";
import type { GitHubPort } from "../../../src/github/port.js";
import { TestOctokit } from "../../helpers/probot.js";

export const repo = { owner: "octo-org", repo: "widgets" };

export interface CapturedLog {
  level: number;
  msg: string;
  [field: string]: unknown;
}

/** A pino logger at debug level whose lines land in `lines`. */
export function capturingLogger(): { log: Logger; lines: CapturedLog[] } {
  const lines: CapturedLog[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()) as CapturedLog);
      done();
    },
  });
  return { log: pino({ level: "debug" }, stream), lines };
}

/** The port on an Octokit for `baseUrl` (the mock's), authenticated with a fixed token. */
export function portFor(baseUrl: string, log: Logger = pino({ level: "silent" })): GitHubPort {
  const octokit = new TestOctokit({ auth: { token: "ghs_test_token" }, baseUrl });
  return createGitHubPort(octokit, { log });
}
