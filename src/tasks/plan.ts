/**
 * `kanbot plan --repo owner/name`: what would be dispatched next and why each other task is
 * not. It reads the store only (the task records, the queue and registered runners), so it works
 * without GitHub and without the app running.
 */
import { formatIssueRef } from "../domain/dependencies.js";
import type { Job, JobStore, Runner, Task } from "../store/index.js";

export interface PlanInput {
  repo: string;
  tasks: readonly Task[];
  /** Queued and leased jobs of the repository, in hand-out order (priority, then age). */
  queue: readonly Job[];
  runners: readonly Runner[];
  now: Date;
}

export interface PlanEntry {
  issueNumber: number;
  state: string;
  /** For the next job: the runners that could take it; otherwise why it is not dispatched. */
  reason: string;
}

export interface DispatchPlan {
  repo: string;
  next: PlanEntry | undefined;
  others: PlanEntry[];
}

/** Decides, from the store's data alone, what a claiming runner would get next. */
export function planDispatch(input: PlanInput): DispatchPlan {
  const live = input.runners.filter((runner) => runner.revokedAt === undefined);
  const tasksById = new Map(input.tasks.map((task) => [task.id, task]));
  const plan: DispatchPlan = { repo: input.repo, next: undefined, others: [] };
  const seen = new Set<number>();
  for (const job of input.queue) {
    const task = tasksById.get(job.taskId);
    if (task === undefined) continue;
    seen.add(task.id);
    const entry = (reason: string): PlanEntry => ({
      issueNumber: task.issueNumber,
      state: task.state,
      reason,
    });
    const fallback =
      task.routing?.fallbackReason !== undefined && task.agent === job.agent
        ? ` [${task.routing.fallbackReason}]`
        : "";
    const what = `${job.kind} job #${job.id} (attempt ${job.attempt}, agent ${job.agent}${fallback}, P${job.priority})`;
    if (job.status === "leased") {
      plan.others.push(entry(`${what} is running on runner ${job.runnerId ?? "?"}`));
      continue;
    }
    const eligible = live.filter((runner) => canTake(runner, job));
    if (eligible.length === 0) {
      plan.others.push(entry(`${what} cannot be dispatched: ${whyNoRunner(live, job)}`));
      continue;
    }
    if (job.notBefore.getTime() > input.now.getTime()) {
      plan.others.push(
        entry(`${what} waits for its retry backoff until ${job.notBefore.toISOString()}`),
      );
      continue;
    }
    if (plan.next === undefined) {
      plan.next = entry(`${what} -> ${eligible.map((runner) => runner.name).join(", ")}`);
    } else {
      plan.others.push(
        entry(`${what} is queued behind #${plan.next.issueNumber} (priority first, then age)`),
      );
    }
  }
  for (const task of input.tasks) {
    if (seen.has(task.id)) continue;
    plan.others.push({
      issueNumber: task.issueNumber,
      state: task.state,
      reason: taskReason(task, input),
    });
  }
  plan.others.sort((a, b) => a.issueNumber - b.issueNumber);
  return plan;
}

/**
 * A runner counts as online when it called the app within this time: an idle runner's claims
 * come at least every claim timeout (at most 10 minutes), a busy one's heartbeats at least every
 * third of a lease.
 */
export const RUNNER_ONLINE_MS = 10 * 60_000;

/**
 * The agents a runner could take a job of `task` with now (fallback agents, issue 14 part 4):
 * those offered by a runner that is not revoked, called the app within {@link RUNNER_ONLINE_MS},
 * serves the task's repository and has every label the task requires. A runner's own quota
 * pauses are its own and not seen here.
 */
export function availableAgents(
  runners: readonly Runner[],
  task: Pick<Task, "repo" | "requiredLabels">,
  now: Date,
): string[] {
  const agents = new Set<string>();
  for (const runner of runners) {
    if (runner.revokedAt !== undefined || runner.lastSeenAt === undefined) continue;
    if (now.getTime() - runner.lastSeenAt.getTime() > RUNNER_ONLINE_MS) continue;
    const probe = { agent: "", requiredLabels: task.requiredLabels, repo: task.repo };
    for (const agent of runner.agents) {
      if (canTake(runner, { ...probe, agent })) agents.add(agent);
    }
  }
  return [...agents].sort();
}

function canTake(runner: Runner, job: Pick<Job, "agent" | "requiredLabels" | "repo">): boolean {
  const agents = runner.agents.map((agent) => agent.toLowerCase());
  const labels = runner.labels.map((label) => label.toLowerCase());
  const repos = runner.repos.map((repo) => repo.toLowerCase());
  return (
    agents.includes(job.agent.toLowerCase()) &&
    job.requiredLabels.every((label) => labels.includes(label.toLowerCase())) &&
    (repos.length === 0 || repos.includes(job.repo.toLowerCase()))
  );
}

function whyNoRunner(runners: readonly Runner[], job: Job): string {
  if (runners.length === 0) return "no runner is registered (register one with kanbot-runner)";
  const withAgent = runners.filter((runner) =>
    runner.agents.some((agent) => agent.toLowerCase() === job.agent.toLowerCase()),
  );
  if (withAgent.length === 0) return `no runner offers agent ${job.agent}`;
  const withLabels = withAgent.filter((runner) =>
    job.requiredLabels.every((label) =>
      runner.labels.some((have) => have.toLowerCase() === label.toLowerCase()),
    ),
  );
  if (withLabels.length === 0) {
    return `no runner with agent ${job.agent} has the labels ${job.requiredLabels.join(", ")}`;
  }
  return `no runner with agent ${job.agent} serves ${job.repo}`;
}

function taskReason(task: Task, input: PlanInput): string {
  const dependencies = task.dependencies;
  switch (task.state) {
    case "waiting": {
      const blockers = dependencies?.blockers ?? [];
      return blockers.length === 0
        ? "waiting for its dependencies"
        : `waiting on ${blockers.map((ref) => shortRef(ref, input.repo)).join(", ")}`;
    }
    case "blocked": {
      if (dependencies?.cycle) {
        return `blocked: on a dependency cycle ${dependencies.cycle.map((ref) => shortRef(ref, input.repo)).join(" -> ")}`;
      }
      return `blocked: ${task.blocker?.message ?? "needs a person"}`;
    }
    case "queued":
      return "queued, but its job is missing from the queue; trigger it again";
    case "running":
      return "running";
    case "checks":
      return "its PR waits for checks";
    case "needs-input":
      return "the agent asked a question; waiting for an answer on the issue";
    case "review":
      return "its PR waits for review";
    case "done":
      return "done";
    case "canceled":
      return "canceled";
  }
}

function shortRef(ref: { owner: string; repo: string; number: number }, repo: string): string {
  return `${ref.owner}/${ref.repo}`.toLowerCase() === repo.toLowerCase()
    ? `#${ref.number}`
    : formatIssueRef(ref);
}

/** Gathers the plan's input from the store and plans. */
export async function loadDispatchPlan(
  store: JobStore,
  repo: string,
  now: Date,
): Promise<DispatchPlan> {
  const [tasks, queue, runners] = await Promise.all([
    store.listTasks({ repo }),
    store.listQueue({ repo }),
    store.listRunners(),
  ]);
  return planDispatch({ repo, tasks, queue, runners, now });
}

/** The plan as `kanbot plan` prints it. */
export function formatPlan(plan: DispatchPlan): string {
  const lines = [`kanbot plan for ${plan.repo}`, ""];
  lines.push(
    plan.next === undefined
      ? "Next: nothing can be dispatched now."
      : `Next: #${plan.next.issueNumber} ${plan.next.reason}`,
  );
  if (plan.others.length > 0) {
    lines.push("", "Not dispatched:");
    for (const entry of plan.others)
      lines.push(`  #${entry.issueNumber} (${entry.state}): ${entry.reason}`);
  }
  return `${lines.join("\n")}\n`;
}
