/**
 * The config matrix, part 1 (issue 11): one repository whose `.github/kanbot.yml` sets nearly
 * every field that changes what a job does, worked end to end by the real app and a real runner
 * against the GitHub simulator. Each scenario shows a field's effect where people see it (the
 * branch, the PR, the labels, the card, the progress comment, the `kanbot` check run) or where
 * the agent sees it (a report the fake agent writes into its worktree, pushed with its change).
 *
 * docs/configuration.md ("Which end-to-end scenario proves each field") points here.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { afterAll, describe, expect, it } from "vitest";

import { branchSha, git, readFileAt } from "../simulator/git.js";
import type { SimPull } from "../simulator/state.js";
import { FAKE_AGENT, ORG, REPO, SAMPLE_FILES, type E2E } from "./harness.js";
import {
  checkRunText,
  mathWith,
  nodeTest,
  progressComment,
  progressHeading,
  useE2E,
} from "./steps.js";

const LABELS = {
  trigger: "bot:go",
  waiting: "bot:waiting",
  queued: "bot:queued",
  running: "bot:working",
  checks: "bot:checks",
  review: "bot:review",
  done: "bot:done",
  blocked: "bot:blocked",
};

/** Project 2 ("Flow"): its own status field, columns and priority field. */
const FLOW = 2;
const STAGES = ["Backlog", "Go", "Doing", "Reviewing", "Shipped", "Stuck"];

const KANBOT_YML = `baseBranch: develop
branchPrefix: bots/
labels:
${Object.entries(LABELS)
  .map(([key, name]) => `  ${key}: "${name}"`)
  .join("\n")}
agents:
  default: fake
  rules:
    - match: [docs]
      agent: scribe
setup:
  commands: [node setup.mjs]
  copyFiles: [.env.local]
validation:
  commands: [node --test]
  rounds: 1
forbiddenPaths: ["secrets/**"]
budget:
  attempts: 1
checks:
  required: [lint]
board:
  project: ${FLOW}
  statusField: Stage
  triggerColumn: Go
  priorityField: Urgency
  columns:
    waiting: Go
    queued: Go
    running: Doing
    checks: Doing
    review: Reviewing
    done: Shipped
    blocked: Stuck
minimumPermission: maintain
review:
  requestFromStarter: false
merge:
  auto: true
  method: merge
  deleteBranch: false
`;

const FILES = {
  ...SAMPLE_FILES,
  ".github/kanbot.yml": KANBOT_YML,
  ".gitignore": ".env.local\n.setup/\n",
  // The repository's setup command: writes a git-ignored file the agent then reads.
  "setup.mjs": [
    'import { mkdirSync, writeFileSync } from "node:fs";',
    'mkdirSync(".setup", { recursive: true });',
    'writeFileSync(".setup/marker.txt", "written by setup.commands\\n");',
    "",
  ].join("\n"),
};

/** The runner's local copy of the repository (`copyFrom`), holding a git-ignored `.env.local`. */
const COPY_FROM = mkdtempSync(join(tmpdir(), "kanbot-e2e-copy-from-"));
writeFileSync(join(COPY_FROM, ".env.local"), "WIDGETS_MODE=from-the-runner-copy\n");

function fakeAgentYaml(name: string): string {
  return [
    `  ${name}:`,
    "    adapter: command",
    `    command: ${JSON.stringify(process.execPath)}`,
    `    args: [${JSON.stringify(FAKE_AGENT)}, "--message-file", "{promptFile}"]`,
    "    env:",
    "      FAKE_AGENT_MODE: scripted",
    "      FAKE_AGENT_SCRIPT: {scriptFile}",
    `      FAKE_AGENT_ID: ${name}`,
    "    timeoutMinutes: 2",
  ].join("\n");
}

const LEAD = "lead";
const WRITER = "writer";

/** kanbot's newest PR whose head is `<prefix><issue>-…`. */
function pullOf(e2e: E2E, issue: number, prefix = "bots/"): SimPull | undefined {
  return [...e2e.sim.state.mustRepo(REPO).pulls.values()]
    .filter((pull) => pull.head.startsWith(`${prefix}${issue}-`))
    .at(-1);
}

/** The issue's `bot:*` labels. */
function botLabels(e2e: E2E, issue: number): string[] {
  return e2e.issue(issue).labels.filter((label) => label.startsWith("bot:"));
}

function stage(e2e: E2E, issue: number): string | undefined {
  return e2e.sim.cardColumn(REPO, issue, { project: FLOW, field: "Stage" });
}

/**
 * Waits until `label` is the issue's only `bot:*` label, the progress comment's heading names it,
 * and (if given) the card's Stage is `column`.
 */
async function waitForLabel(
  e2e: E2E,
  issue: number,
  label: string,
  column?: string,
  timeoutMs = 60_000,
): Promise<void> {
  await e2e.waitFor(
    `#${issue} to show ${label}${column === undefined ? "" : ` in ${column}`}\n${progressComment(e2e, issue)}`,
    () => {
      const labels = botLabels(e2e, issue);
      return (
        labels.length === 1 &&
        labels[0] === label &&
        progressHeading(e2e, issue).includes(`\`${label}\``) &&
        (column === undefined || stage(e2e, issue) === column)
      );
    },
    { timeoutMs },
  );
}

async function fileAt(e2e: E2E, sha: string, path: string): Promise<string | undefined> {
  const buffer = await readFileAt(e2e.sim.state.mustRepo(REPO).gitDir, sha, path);
  return buffer?.toString("utf8");
}

/** The runner's readable log lines that name a worktree, in order. */
function worktreeLines(e2e: E2E): string[] {
  return e2e
    .logs(400)
    .split("\n")
    .filter((line) => line.includes("worktree added"));
}

const MULTIPLY_TEST = nodeTest("multiply", "math.js", "assert.equal(multiply(4, 5), 20);");

describe("end to end: .github/kanbot.yml fields reach the job (base, prefix, setup, validation, routing, board, gate, merge)", () => {
  const harness = useE2E({
    files: FILES,
    agentsYaml: [fakeAgentYaml("fake"), fakeAgentYaml("scribe"), ""].join("\n"),
    runnerYaml: `copyFrom:\n  ${REPO}: ${JSON.stringify(COPY_FROM)}`,
  });
  afterAll(() => rmSync(COPY_FROM, { recursive: true, force: true }));

  let hold = 0;
  let docs = 0;
  let multiply = 0;
  let developSha = "";

  it("board.*, labels.trigger, agents.rules: a P0 card moved to Go runs before an older labeled issue", async () => {
    const e2e = harness();
    e2e.sim.addProject(ORG, {
      number: FLOW,
      title: "Flow",
      fields: { Stage: STAGES, Urgency: ["P0", "P1", "P2", "P3"] },
    });
    e2e.sim.addCollaborator(REPO, LEAD, "admin");
    e2e.sim.addCollaborator(REPO, WRITER, "write");
    developSha = await e2e.maintainer.push(
      REPO,
      "develop",
      { "DEVELOP.md": "Only on develop.\n" },
      "Start develop",
    );
    e2e.script("Hold the runner", [{ say: "holding…", hang: true }]);
    e2e.script("Document the widgets", [
      {
        report: "docs-report.json",
        files: { "docs/add.md": "# add(a, b)\n\nAdds two numbers.\n" },
        say: "Documented add().",
      },
    ]);
    e2e.script("Add multiply", [
      {
        report: "multiply-report.json",
        look: [".setup/marker.txt", ".env.local", "DEVELOP.md"],
        files: { "src/math.js": mathWith("return a + b;"), "test/multiply.test.js": MULTIPLY_TEST },
        say: "Added multiply().",
      },
      { files: { "src/math.js": mathWith("return a * b;") }, say: "Fixed multiply()." },
    ]);

    // The runner is busy with a job that waits: the next two tasks queue behind it.
    hold = await e2e.fileIssue("Hold the runner", "Keep the runner busy.");
    await e2e.maintainer.labelIssue(REPO, hold, LABELS.trigger);
    await waitForLabel(e2e, hold, LABELS.running, "Doing");
    docs = await e2e.fileIssue("Document the widgets", "Write the docs for add().");
    await e2e.maintainer.labelIssue(REPO, docs, LABELS.trigger);
    await waitForLabel(e2e, docs, LABELS.queued, "Go");
    multiply = await e2e.fileIssue("Add multiply", "Add `multiply(a, b)` to src/math.js.");
    // Urgency P0 on the card first (Backlog-less: not the trigger column), then Stage -> Go.
    await e2e.maintainer.moveCard(REPO, multiply, "P0", { project: FLOW, field: "Urgency" });
    await e2e.maintainer.moveCard(REPO, multiply, "Go", { project: FLOW, field: "Stage" });
    await waitForLabel(e2e, multiply, LABELS.queued, "Go");
    expect(progressComment(e2e, multiply)).toMatch(/Agent:\*\* fake \(default\)/);
    expect(progressComment(e2e, docs)).toMatch(/Agent:\*\* scribe/);

    await e2e.maintainer.comment(REPO, hold, "/kanbot cancel");
    await e2e.waitFor("both queued tasks to have run", () =>
      worktreeLines(e2e).some((line) => line.includes(`bots/${docs}-`)),
    );

    const order = worktreeLines(e2e);
    const multiplyAt = order.findIndex((line) => line.includes(`bots/${multiply}-`));
    const docsAt = order.findIndex((line) => line.includes(`bots/${docs}-`));
    expect(multiplyAt).toBeGreaterThan(-1);
    expect(docsAt).toBeGreaterThan(multiplyAt);
    // No agent:* label was ever used: kanbot speaks the configured label names.
    for (const issue of [hold, docs, multiply])
      expect(e2e.issue(issue).labels.filter((label) => label.startsWith("agent:"))).toEqual([]);
    expect(e2e.sim.violations).toEqual([]);
  });

  it("baseBranch, branchPrefix, setup.*, validation.*, checks.required, review, merge.*: the P0 task end to end", async () => {
    const e2e = harness();
    await waitForLabel(e2e, multiply, LABELS.checks, "Doing");
    const pull = pullOf(e2e, multiply);
    if (pull === undefined) throw new Error("no PR");

    // baseBranch + branchPrefix: the PR goes from bots/<n>-… into develop.
    expect(pull.head).toMatch(new RegExp(`^bots/${multiply}-add-multiply$`));
    expect(pull.base).toBe("develop");
    expect(await e2e.branchExists(`kanbot/${multiply}-add-multiply`)).toBe(false);
    // The agent's commit sits right on develop's tip, and the agent saw develop's file.
    const gitDir = e2e.sim.state.mustRepo(REPO).gitDir;
    expect((await git(gitDir, "rev-parse", `${pull.headSha}^`)).trim()).toBe(developSha);
    const report = JSON.parse((await fileAt(e2e, pull.headSha, "multiply-report.json")) ?? "{}");
    expect(report).toMatchObject({ agent: "fake", run: 1 });
    expect(report.seen["DEVELOP.md"]).toBe("Only on develop.\n");
    // setup.commands ran before the agent; setup.copyFiles brought the runner's ignored file.
    expect(report.seen[".setup/marker.txt"]).toBe("written by setup.commands\n");
    expect(report.seen[".env.local"]).toBe("WIDGETS_MODE=from-the-runner-copy\n");
    // Neither git-ignored file was pushed.
    expect(await fileAt(e2e, pull.headSha, ".env.local")).toBeUndefined();
    expect(await fileAt(e2e, pull.headSha, ".setup/marker.txt")).toBeUndefined();

    // validation.commands failed after round 1; validation.rounds gave the agent a second round.
    expect(await fileAt(e2e, pull.headSha, "src/math.js")).toContain("return a * b;");
    const kanbotCheck = checkRunText(e2e, pull.headSha, "kanbot");
    expect(kanbotCheck).toContain("validation failed; giving the agent round 2 of 2");
    expect(kanbotCheck).toMatch(/Validation\*\* passed \(exit 0\): `node --test`/);
    expect(kanbotCheck).toContain(`fake agent: run 2 for "Add multiply"`);

    // checks.required [lint]: the simulated CI's `test` passed, and the task still waits for lint.
    await e2e.waitFor("CI's test check on the head", () =>
      e2e.sim.state
        .mustRepo(REPO)
        .checkRuns.some(
          (run) =>
            run.headSha === pull.headSha && run.name === "test" && run.conclusion === "success",
        ),
    );
    await e2e.waitFor("the progress comment to say the gate waits for lint", () =>
      /lint/.test(progressComment(e2e, multiply)),
    );
    expect(botLabels(e2e, multiply)).toEqual([LABELS.checks]);
    await e2e.maintainer.setStatus(REPO, pull.headSha, "success", "lint");
    await waitForLabel(e2e, multiply, LABELS.review, "Reviewing");

    // review.requestFromStarter: false — nobody was asked.
    expect(e2e.sim.pull(REPO, pull.number).requestedReviewers).toEqual([]);
    expect(e2e.sim.pull(REPO, pull.number).merged).toBe(false);

    // merge.auto: an approval by someone other than the starter merges it, with merge.method.
    await e2e.sim.actAs(LEAD).approve(REPO, pull.number, "Ship it.");
    await waitForLabel(e2e, multiply, LABELS.done, "Shipped");
    const merged = e2e.sim.pull(REPO, pull.number);
    expect(merged.merged).toBe(true);
    expect(merged.mergedBy).toBe("kanbot[bot]");
    const parents = (await git(gitDir, "rev-list", "--parents", "-n", "1", "develop"))
      .trim()
      .split(" ");
    expect(parents).toEqual([merged.mergeCommitSha, developSha, pull.headSha]);
    // merge.deleteBranch: false — the branch stays.
    await e2e.waitFor("the app to keep the branch", () =>
      /kanbot PR closed \(.*outcome=done branch=merge\.deleteBranch is off\)/.test(e2e.logs(400)),
    );
    expect(await branchSha(gitDir, pull.head)).toBe(pull.headSha);
    expect(e2e.sim.violations).toEqual([]);
  });

  it("agents.rules: the issue that mentions docs went to the scribe agent", async () => {
    const e2e = harness();
    await e2e.waitFor("the docs PR", () => pullOf(e2e, docs) !== undefined);
    const pull = pullOf(e2e, docs) as SimPull;
    const report = JSON.parse((await fileAt(e2e, pull.headSha, "docs-report.json")) ?? "{}");

    expect(report).toMatchObject({ agent: "scribe", run: 1 });
    expect(pull.base).toBe("develop");
    expect(await fileAt(e2e, pull.headSha, "docs/add.md")).toContain("Adds two numbers.");
  });

  it("forbiddenPaths, budget.attempts, agents.useLabels: a use:scribe task that writes secrets/ is refused and blocked at once", async () => {
    const e2e = harness();
    e2e.script("Store the token", [
      { files: { "secrets/token.txt": "hunter2\n", "src/token.js": "export const t = 1;\n" } },
    ]);
    const issue = await e2e.fileIssue("Store the token", "Keep the API token in the repository.");
    await e2e.maintainer.labelIssue(REPO, issue, "use:scribe");
    await e2e.maintainer.labelIssue(REPO, issue, LABELS.trigger);

    await waitForLabel(e2e, issue, LABELS.blocked, "Stuck");

    const comment = progressComment(e2e, issue);
    expect(comment).toMatch(/Agent:\*\* scribe/);
    expect(comment).toContain("secrets/token.txt");
    expect(comment).toMatch(/1\/1 attempts/);
    // One job, nothing pushed, no PR.
    expect(await e2e.branchExists(`bots/${issue}-store-the-token`)).toBe(false);
    expect(pullOf(e2e, issue)).toBeUndefined();
    expect(e2e.sim.violations).toEqual([]);
  });

  it("minimumPermission: maintain — a write user's trigger label is refused", async () => {
    const e2e = harness();
    const issue = await e2e.fileIssue("Add divide", "Add `divide(a, b)`.");

    await e2e.sim.actAs(WRITER).labelIssue(REPO, issue, LABELS.trigger);
    await e2e.waitFor("kanbot's refusal", () =>
      e2e.botComments(issue).some((body) => body.includes(`@${WRITER}`)),
    );

    const [refusal] = e2e.botComments(issue);
    expect(refusal).toMatch(/maintain/);
    expect(botLabels(e2e, issue).filter((label) => label !== LABELS.trigger)).toEqual([]);
    expect(progressComment(e2e, issue)).toBe("");
    expect(pullOf(e2e, issue)).toBeUndefined();
    expect(e2e.sim.violations).toEqual([]);
  });
});
