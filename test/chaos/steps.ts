/** What the chaos scenarios count on GitHub for one issue (test/chaos/). */
import { REPO, type E2E } from "../e2e/harness.js";

/** kanbot's PRs for `issue` (head `kanbot/<issue>-…`), open or not. */
export function pullsOf(e2e: E2E, issue: number): number {
  return [...e2e.sim.state.mustRepo(REPO).pulls.values()].filter((pull) =>
    pull.head.startsWith(`kanbot/${issue}-`),
  ).length;
}

/** kanbot's progress comments on `issue` (there must be exactly one). */
export function progressComments(e2e: E2E, issue: number): number {
  return e2e.botComments(issue).filter((body) => body.startsWith("<!-- kanbot:progress ")).length;
}
