/**
 * Dependencies of an issue (GitHub's `blocked_by`, sub-issues, and `depends on` / `blocked by`
 * lines in the body), whether the task may run now, and the dependency graph of the waiting
 * tasks kanbot knows (for cycles and for releasing tasks when a blocker closes).
 */
import {
  collectDependencies,
  decideReadiness,
  issueKey,
  parseDependencies,
  sameIssue,
  unknownDependencies,
  type IssueRef,
  type IssueState,
  type Readiness,
  type TaskDependencies,
} from "../domain/dependencies.js";
import type { IssueFacts } from "../github/port.js";
import type { Task, TaskDependencyRecord } from "../store/index.js";
import { issueOfTask } from "./effects/progress-comment.js";
import type { TaskContext } from "./context.js";

export interface DependencyCheck {
  readiness: Readiness;
  facts: TaskDependencyRecord;
}

/** Looks up every dependency of `issue` on GitHub and decides whether the task may run now. */
export async function checkDependencies(
  ctx: TaskContext,
  issue: IssueFacts,
): Promise<DependencyCheck> {
  const [blockedBy, subIssues] = await Promise.all([
    ctx.github.listBlockedBy(issue.ref),
    ctx.github.listSubIssues(issue.ref),
  ]);
  const linked = [...blockedBy, ...subIssues].map((link) => link.ref);
  const bodyStates = new Map<string, IssueState>();
  const bodyRefs = parseDependencies(issue.body, { ...issue.ref, host: ctx.host }).filter(
    (ref) => !linked.some((known) => sameIssue(known, ref)),
  );
  for (const ref of bodyRefs) {
    const facts = sameIssue(ref, issue.ref) ? issue : await ctx.github.getIssue(ref);
    if (facts !== undefined) bodyStates.set(issueKey(ref), facts.state);
  }
  const dependencies = collectDependencies({
    issue: issue.ref,
    body: issue.body,
    blockedBy,
    subIssues,
    bodyStates,
    host: ctx.host,
  });
  const readiness = decideReadiness({
    issue: issue.ref,
    dependencies,
    graph: await dependencyGraph(ctx),
  });
  return {
    readiness,
    facts: {
      blockers:
        readiness.status === "ready" ? [] : readiness.blockers.map((blocker) => blocker.ref),
      cycle: readiness.status === "cycle" ? readiness.cycle : null,
      unknown: unknownDependencies(dependencies).map((dependency) => dependency.ref),
    },
  };
}

/** Waiting and cycle-blocked tasks with the blockers recorded when they were last checked. */
export async function dependencyGraph(ctx: TaskContext): Promise<TaskDependencies[]> {
  const tasks = await ctx.store.listTasks({ states: ["waiting", "blocked"] });
  const graph: TaskDependencies[] = [];
  for (const task of tasks) {
    const facts = task.dependencies;
    if (facts === undefined || facts.blockers.length === 0) continue;
    if (task.state === "blocked" && facts.cycle === null) continue;
    graph.push({ issue: issueOfTask(task), dependsOn: facts.blockers });
  }
  return graph;
}

/** Waiting tasks (of this installation) that recorded `closed` as one of their open blockers. */
export async function tasksWaitingOn(ctx: TaskContext, closed: IssueRef): Promise<Task[]> {
  const waiting = await ctx.store.listTasks({ states: ["waiting"] });
  const found: Task[] = [];
  for (const task of waiting) {
    if (task.installationId !== ctx.installationId) continue;
    const facts = task.dependencies;
    if (facts?.blockers.some((blocker) => sameIssue(blocker, closed))) found.push(task);
  }
  return found;
}
