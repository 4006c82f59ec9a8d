/**
 * Where the gate's required checks come from, through the app with the strict GitHub mock:
 * classic branch protection read from "Get a branch" (`contents: read`, no `administration`),
 * rulesets (`metadata: read`), both (their union), neither (the config's `checks.required`), and
 * a base branch GitHub does not know (404: every check seen counts).
 *
 * The head carries `build` (passed) and `e2e` (failed): requiring only `build` passes the gate,
 * requiring every check fails it, and a required check that never ran keeps it pending.
 */
import { afterAll, describe, expect, it } from "vitest";
import { setupGitHubMock } from "../../helpers/github-mock.js";
import { portMocks } from "../../helpers/github-port-mocks.js";
import { pullRequestMocks, type RequiredCheckSpec } from "../../helpers/github-pr-mocks.js";
import {
  REPO,
  cleanupHarnessFolders,
  createHarness,
  type Harness,
} from "../../helpers/handler-harness.js";
import {
  HEAD_1,
  PR_NODE_ID,
  PR_REF,
  checkSuiteCompleted,
  gateWaitingComment,
  mirrorMocks,
  stateLabel,
  taskEventMocks,
  taskOf,
  toChecks,
} from "../../helpers/handler-pull-requests.js";

afterAll(cleanupHarnessFolders);

const CI_APP_ID = 4242;
const RUNS = [
  { name: "build", conclusion: "success" as const, app: "ci-app", appId: CI_APP_ID },
  {
    name: "e2e",
    conclusion: "failure" as const,
    app: "ci-app",
    appId: CI_APP_ID,
    output: { title: "e2e failed", summary: "checkout.spec.ts timed out" },
  },
];

describe("required checks for the gate", () => {
  const gh = setupGitHubMock();
  const ghp = portMocks(gh);
  const ghpr = pullRequestMocks(gh);

  /** The gate's reads on HEAD_1 with `main` protected as given. */
  function reads(
    protection: readonly RequiredCheckSpec[] | "unprotected" | 404,
    rulesets: readonly (readonly RequiredCheckSpec[])[],
    config: string | null = null,
  ) {
    ghp.file(REPO, ".github/kanbot.yml", config);
    ghpr.checkRuns(REPO, HEAD_1, RUNS);
    ghpr.commitStatuses(REPO, HEAD_1, []);
    ghpr.branchProtection(REPO, "main", protection);
    ghpr.branchRules(REPO, "main", rulesets);
  }

  /** The gate passes: ready for review, review requested from the starter. */
  function passes() {
    taskEventMocks(ghp, { labels: [stateLabel("checks")], configRead: false });
    ghpr.markReady(PR_NODE_ID);
    ghpr.requestReviewers(PR_REF, ["alice"]);
    mirrorMocks(ghp, "checks", "review", { comment: /ready for review/ });
  }

  async function gate(h: Harness) {
    await h.receive("check_suite", checkSuiteCompleted(HEAD_1));
    await h.drain();
    const task = await taskOf(h);
    return { state: task.state, facts: (await h.store.getTask(task.id))?.gate };
  }

  it("classic protection only (Get a branch, no administration permission): only build counts", async () => {
    const h = await createHarness(gh);
    await toChecks(h, gh, ghp, ghpr);
    reads([{ context: "build", appId: CI_APP_ID }], []);
    passes();

    const { state, facts } = await gate(h);

    expect(state).toBe("review");
    expect(facts?.reason).toBe("1 required check passed (required by branch protection)");
    expect(gh.requests.some((request) => request.url.includes("/protection"))).toBe(false);
    await h.close();
  });

  it("rulesets only: only build counts", async () => {
    const h = await createHarness(gh);
    await toChecks(h, gh, ghp, ghpr);
    reads("unprotected", [[{ context: "build" }]]);
    passes();

    const { state, facts } = await gate(h);

    expect(state).toBe("review");
    expect(facts?.reason).toBe("1 required check passed (required by branch protection)");
    await h.close();
  });

  it("both: the union is required, so a ruleset's deploy that never ran keeps the gate pending", async () => {
    const h = await createHarness(gh);
    await toChecks(h, gh, ghp, ghpr);
    reads([{ context: "build" }], [[{ context: "deploy" }]]);
    gateWaitingComment(
      ghp,
      HEAD_1,
      "waiting for deploy \\(not reported yet\\); 1 passed \\(build\\)\n",
    );

    const { state, facts } = await gate(h);

    expect(state).toBe("checks");
    expect(facts?.verdict).toBe("pending");
    expect(facts?.reason).toContain("deploy");
    await h.close();
  });

  it("neither: the config's checks.required decides", async () => {
    const config = "checks:\n  required: [build]\n";
    const h = await createHarness(gh);
    // No check on the head yet: the gate waits for the one the config names.
    await toChecks(h, gh, ghp, ghpr, config, "waiting for build \\(not reported yet\\)\n");
    reads("unprotected", [], config);
    passes();

    const { state, facts } = await gate(h);

    expect(state).toBe("review");
    expect(facts?.reason).toBe("1 required check passed (required by the config)");
    await h.close();
  });

  it("a base branch GitHub does not know (404): every check seen counts, so e2e fails", async () => {
    const h = await createHarness(gh);
    await toChecks(h, gh, ghp, ghpr);
    reads(404, []);
    taskEventMocks(ghp, { labels: [stateLabel("checks")], configRead: false });
    mirrorMocks(ghp, "checks", "queued", { labelKnown: true, comment: /Checks failed/ });

    const { state, facts } = await gate(h);

    expect(state).toBe("queued");
    expect(facts?.verdict).toBe("failed");
    expect(facts?.reason).toContain("e2e");
    const jobs = await h.store.listJobs((await taskOf(h)).id);
    expect(jobs.map((job) => job.kind)).toEqual(["implement", "fix-checks"]);
    await h.close();
  });
});
