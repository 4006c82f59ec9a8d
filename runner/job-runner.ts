/**
 * Works one claimed job, start to finish, and says how it ended. The pipeline (issue #4, item 6):
 *
 * 1. workspace: fetch the mirror (job token fetched for that alone), add the worktree on the
 *    task branch, copy ignored files, run the repository's setup commands;
 * 2. agent: run the job's agent with the prompt, under the job's time and cost budget;
 * 3. validation: run the repository's validation commands; on failure give the agent another
 *    round with the failure output, up to the configured rounds;
 * 4. finish: commit what is left with trailers, refuse forbidden paths, push (a fresh job token,
 *    and only while the lease still holds);
 * 5. outcome: head SHA, summary, cost, duration, validation results — for `complete`.
 *
 * Stops: a cancel or a shutdown stops the agent and pushes the work in progress (outcome
 * `canceled`); a timeout or a spent budget does the same (outcome `failed`); a lost lease stops
 * the agent and pushes nothing (no outcome: the job is someone else's now).
 *
 * Budgets are hard (issue 14, part 3): the agent's time limit is cut to the minutes the task has
 * left, and its cost is watched while it runs (runAgent's `budget`: token usage priced with the
 * runner's price table); either one running out stops the agent's whole tree, pushes the work in
 * progress and fails the job as `task` with "budget spent" and the figures, so the app blocks
 * the task with the spent limit (usd-spent, minutes-spent).
 *
 * The agent and every command get an allowlisted environment (runner/process/env.ts): no job
 * token, no runner token. The job token only ever reaches git, through the environment of the
 * fetch and push (runner/workspace/git.ts).
 *
 * The agent, the setup and the validation commands run in the job's sandbox (runner/sandbox/):
 * the worktree writable, a private HOME and /tmp, the runner's config, work directory and other
 * jobs invisible, and nothing they start outlives them. When the configured sandbox cannot start,
 * the job fails before anything runs.
 *
 * Why one long file: it is the one pipeline of a job, step after step in order (workspace, agent,
 * validation, push); each step calls into workspace/, agents/, sandbox/ or process/.
 */
import { randomBytes } from "node:crypto";
import { lstat, mkdir, open as openFile, rm, rmdir, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";

import type { Logger } from "pino";

import { adapterFor, runAgent, type AgentFailure, type AgentRunResult } from "./agents/index.js";
import { prepareResume, sessionNotFound, type ResumePlan } from "./agents/resume.js";
import { DEFAULT_PRICES, formatUsd, type PriceTable } from "./agents/usage.js";
import { LeaseLostError } from "./client.js";
import type { LoadedRunnerConfig, RunnerAgentConfig } from "./config.js";
import { buildPrompt, promptInput, validationRoundPrompt } from "./prompt.js";
import {
  PromptTemplateError,
  readPromptTemplate,
  renderPromptTemplate,
} from "./prompt-template.js";
import type { JobControl, JobResult, StopCause } from "./job-control.js";
import { buildChildEnv } from "./process/env.js";
import { ensureJobQuiet } from "./process/job-quiet.js";
import { runCommand } from "./process/run-command.js";
import { sandboxFromConfig, type JobSandbox, type Sandbox } from "./sandbox/index.js";
import {
  ForbiddenPathsError,
  type FinishResult,
  type Workspace,
  type Workspaces,
} from "./workspace/index.js";
import { QUESTION_FILE } from "../src/domain/question.js";
import {
  QUESTION_MAX_CHARS,
  type JobDescription,
  type ValidationResult,
} from "../src/protocol/index.js";

export interface JobRunnerOptions {
  loaded: LoadedRunnerConfig;
  workspaces: Workspaces;
  /** The runner's environment, to build children's allowlisted environments from. */
  sourceEnv?: Readonly<Record<string, string | undefined>>;
  /** Time between SIGTERM and SIGKILL when a command is stopped. Default 5 s. */
  killGraceMs?: number;
  /** Wall clock (ms), for durations. Default `Date.now`. */
  now?: () => number;
  /** Where the job's commands run. Default: the config's `sandbox`, probed once per process. */
  sandbox?: Sandbox;
  log: Logger;
}

const SETUP_TAIL_CHARS = 8_000;
const MINUTE = 60_000;

/** Runs `job` to its end; never throws for a job failure (that is an outcome). */
export async function runJob(
  job: JobDescription,
  control: JobControl,
  options: JobRunnerOptions,
): Promise<JobResult> {
  const now = options.now ?? Date.now;
  const started = now();
  const log = options.log.child({ jobId: job.id });
  const { config } = options.loaded;
  const agentConfig = config.agents[job.agent];
  const marker = `${job.id}.${randomBytes(4).toString("hex")}`;
  const promptDir = join(options.loaded.workDir, "prompts", String(job.id));
  const sourceEnv = options.sourceEnv ?? process.env;
  const childEnv = buildChildEnv({ source: sourceEnv, jobId: marker });
  // Git with the job token (fetch, ls-remote, push) runs only when no process of this job is
  // alive, so nothing the job started can read the token from git's environment.
  const beforeTokenGit = () => ensureJobQuiet(marker);
  const killGraceMs = options.killGraceMs ?? 5_000;

  // The job's budget: the task's minutes and dollars left, capped by this runner's own limits.
  const budgetMs =
    Math.min(job.limits.maxMinutes, config.budget.maxMinutesPerJob ?? Infinity) * MINUTE;
  const budgetUsd = Math.min(job.limits.maxUsd, config.budget.maxUsdPerJob ?? Infinity);
  const deadline = started + budgetMs;
  // Whose limit it is, for the "budget spent" message.
  const usdLimitOf =
    job.limits.maxUsd <= (config.budget.maxUsdPerJob ?? Infinity)
      ? "the task had left"
      : "this runner allows a job (budget.maxUsdPerJob)";
  const minutesLimitOf =
    job.limits.maxMinutes <= (config.budget.maxMinutesPerJob ?? Infinity)
      ? "the task had left"
      : "this runner allows a job (budget.maxMinutesPerJob)";
  const prices: PriceTable = { ...DEFAULT_PRICES, ...lowerCaseKeys(config.prices) };
  const rounds = Math.min(job.workspace.validationRounds, config.validation.maxRounds);

  let workspace: Workspace | undefined;
  let jobSandbox: JobSandbox | undefined;
  let costUsd = 0;
  let sessionId: string | undefined;
  /** Round 0 continues the asking job's session (`job.resume`, prepared by `planResume`). */
  let resumeFirst = false;
  let summary = "";
  let validation: ValidationResult[] = [];
  let succeeded = false;

  function spend() {
    return {
      durationSeconds: Math.max(0, (now() - started) / 1000),
      // Rounded up: a job stopped at its limit must report at least the limit.
      ...(costUsd > 0 ? { costUsd: roundUp(costUsd) } : {}),
      ...(sessionId !== undefined ? { sessionId } : {}),
    };
  }

  /** Commits and pushes what is there (a stop); its SHA, or undefined when nothing was pushed. */
  async function pushWorkInProgress(why: string): Promise<string | "lease-lost" | undefined> {
    if (workspace === undefined) return undefined;
    control.setPhase("push");
    control.note(`pushing the work in progress (${why})`);
    try {
      const result = await options.workspaces.pushWorkInProgress(workspace, {
        token: await control.jobToken(),
        message: `WIP: ${job.issue.title} (#${job.issue.number})\n\nStopped: ${why}.`,
        forbiddenPaths: job.workspace.forbiddenPaths,
        canPush: control.canPush,
        beforeTokenGit,
      });
      return pushedSha(result);
    } catch (error) {
      if (error instanceof LeaseLostError) return "lease-lost";
      control.note(`the work in progress could not be pushed: ${message(error)}`);
      log.warn({ err: message(error) }, "work in progress not pushed");
      return undefined;
    }
  }

  /** The result of a stop: cancel/shutdown -> canceled; lease lost -> nothing. */
  async function stopped(cause: StopCause): Promise<JobResult> {
    if (cause === "lease-lost") {
      control.note("the lease on this job is gone: stopping without pushing");
      return { kind: "lease-lost" };
    }
    if (cause === "revoked") return { kind: "revoked" };
    const why = cause === "canceled" ? "the job was canceled" : "the runner is shutting down";
    const headSha = await pushWorkInProgress(why);
    if (headSha === "lease-lost") return { kind: "lease-lost" };
    return {
      kind: "outcome",
      outcome: {
        status: "canceled",
        reason: why,
        ...(headSha !== undefined ? { headSha } : {}),
        ...spend(),
      },
    };
  }

  /**
   * A failure after which the work so far is pushed (timeout, budget, validation); `failure` is
   * the agent's failure class when the agent itself failed (runner/agents/failure-class.ts).
   */
  async function failWithWip(
    error: string,
    failure?: AgentFailure,
    agentCli?: string,
  ): Promise<JobResult> {
    const cause = control.cause();
    if (cause !== undefined) return stopped(cause);
    const headSha = await pushWorkInProgress(error);
    if (headSha === "lease-lost") return { kind: "lease-lost" };
    const pushed =
      headSha === undefined
        ? ""
        : ` The work in progress was pushed to ${job.workspace.branch} (${headSha.slice(0, 12)}).`;
    return {
      kind: "outcome",
      outcome: {
        status: "failed",
        error: `${error}.${pushed}`,
        ...(failure !== undefined ? failureFields(failure, agentCli) : {}),
        ...(headSha !== undefined ? { headSha } : {}),
        ...(summary !== "" ? { summary } : {}),
        validation,
        ...spend(),
      },
    };
  }

  /**
   * "budget spent" with the figures: a `task` failure, the work in progress pushed. `detail`
   * follows the figures; `after` says what happened to the agent.
   */
  function budgetSpent(
    kind: "usd" | "minutes",
    detail = "",
    after = "the agent was stopped",
  ): Promise<JobResult> {
    const figures =
      kind === "usd"
        ? `the agent's cost reached ${formatUsd(costUsd)} of the ${formatUsd(budgetUsd)} ${usdLimitOf}`
        : `the job ran ${minutesText((now() - started) / MINUTE)} of the ${minutesText(budgetMs / MINUTE)} minutes ${minutesLimitOf}`;
    const text = `budget spent: ${figures}${detail}; ${after}`;
    control.note(text);
    return failWithWip(
      text,
      { failureClass: "task", message: `budget spent: ${figures}` },
      adapterFor(job.agent, (agentConfig as RunnerAgentConfig).adapter).name,
    );
  }

  function failed(
    error: string,
    classified?: { failureClass: "config"; failureMessage: string },
  ): JobResult {
    return {
      kind: "outcome",
      outcome: {
        status: "failed",
        error,
        ...(classified === undefined
          ? {}
          : {
              failureClass: classified.failureClass,
              failureMessage: classified.failureMessage.slice(0, 2_000),
            }),
        ...(summary !== "" ? { summary } : {}),
        validation,
        ...spend(),
      },
    };
  }

  try {
    if (agentConfig === undefined) {
      return failed(
        `this runner has no agent "${job.agent}" in its kanbot-runner.yml (it offers ${Object.keys(config.agents).join(", ")}); register it again after changing its agents`,
      );
    }

    // 1. workspace, in the job's sandbox
    control.setPhase("setup");
    control.note(
      `job ${job.id} (${job.kind}, attempt ${job.attempt}) for ${job.repository.fullName}#${job.issue.number} on ${job.workspace.branch}`,
    );
    const sandbox = options.sandbox ?? (await sandboxFromConfig(options.loaded, sourceEnv, log));
    await mkdir(promptDir, { recursive: true });
    jobSandbox = await sandbox.forJob({
      jobId: String(job.id),
      taskId: String(job.taskId),
      agentKind: adapterFor(job.agent, agentConfig.adapter).name,
      worktree: options.workspaces.worktreePath(String(job.id)),
      mirror: options.workspaces.mirrorPath(job.repository.owner, job.repository.name),
      promptDir,
    });
    const commandSandbox = jobSandbox.commands;
    const copyFrom = options.loaded.copyFrom[job.repository.fullName];
    workspace = await options.workspaces.prepare({
      beforeTokenGit,
      jobId: String(job.id),
      taskId: String(job.taskId),
      repo: {
        owner: job.repository.owner,
        name: job.repository.name,
        cloneUrl: job.repository.cloneUrl,
      },
      token: await control.jobToken(),
      branch: job.workspace.branch,
      // null: the repository's default branch, which the workspace reads from the remote's HEAD.
      baseBranch: job.workspace.baseBranch ?? null,
      // Decided by the app (describe-job.ts), not here: the task branch, or a new one from the base.
      startFrom: job.workspace.continueBranch ? "branch" : "base",
      setup: {
        commands: job.workspace.setupCommands.map(shellCommand),
        copyFiles: job.workspace.copyFiles,
        ...(copyFrom !== undefined ? { copyFrom } : {}),
        env: childEnv,
        timeoutMs: config.setupTimeoutMinutes * MINUTE,
        onLog: control.onLog,
        secrets: control.secrets(),
        ...(commandSandbox !== undefined ? { sandbox: commandSandbox } : {}),
      },
      signal: control.signal,
    });
    if (control.cause() !== undefined) return await stopped(control.cause() as StopCause);

    // 2 + 3. agent rounds and validation
    let basePrompt: string;
    try {
      basePrompt = await repositoryPrompt(job, workspace);
    } catch (error) {
      // The repository's template, not the agent: the app blocks the task at once (`config`).
      if (error instanceof PromptTemplateError) {
        return failed(error.message, { failureClass: "config", failureMessage: error.message });
      }
      throw error;
    }
    await planResume(workspace.path);
    let prompt = basePrompt;
    for (let round = 0; ; round++) {
      const remainingMs = deadline - now();
      if (remainingMs <= 0) return await budgetSpent("minutes", "", "no agent round started");
      if (costUsd >= budgetUsd) return await budgetSpent("usd", "", "no agent round started");

      control.setPhase("agent");
      control.note(round === 0 ? `starting agent ${job.agent}` : `agent round ${round + 1}`);
      let result = await runOneAgent(round, prompt, remainingMs);
      if (round === 0 && resumeFirst && !result.success && sessionNotFound(result)) {
        // The CLI did not find the session after all: the same round in a fresh session.
        costUsd += result.costUsd ?? 0;
        resumeFirst = false;
        sessionId = undefined;
        control.note(
          "the agent's CLI did not find the earlier session; starting a fresh session instead",
        );
        result = await runOneAgent(round, prompt, Math.max(1, deadline - now()));
      }
      costUsd += result.costUsd ?? 0;
      if (result.sessionId !== undefined) sessionId = result.sessionId;
      if (result.summary.trim() !== "") summary = result.summary;
      const cause = control.cause();
      if (cause !== undefined) return await stopped(cause);
      if (result.unpriced !== undefined && Number.isFinite(budgetUsd)) {
        control.note(
          `the USD budget is not enforced for this run: ${result.unpriced}; the minutes budget still holds`,
        );
      }
      if (result.budgetStop !== undefined) {
        const basis =
          result.budgetStop.basis === "priced"
            ? ` (its reported tokens priced as ${result.budgetStop.model ?? "its model"})`
            : " (as the agent reported it)";
        return await budgetSpent("usd", basis);
      }
      if (result.run.reason === "timeout" && remainingMs < agentTimeoutMs()) {
        return await budgetSpent("minutes");
      }
      if (result.run.reason === "timeout" || result.run.reason === "silence") {
        return await failWithWip(
          result.run.reason === "silence"
            ? `the agent printed nothing for ${agentConfig.silenceMinutes} minutes and was stopped`
            : `the agent was stopped after its time limit of ${agentConfig.timeoutMinutes} minutes`,
        );
      }
      if (!result.success) {
        return await failWithWip(
          `the agent failed: ${result.error ?? "no reason given"}`,
          result.failure,
          adapterFor(job.agent, agentConfig.adapter).name,
        );
      }
      // The agent asked a question and stopped: nothing is committed or pushed (docs/agents.md).
      const question = await takeQuestion((workspace as Workspace).path);
      if (question !== undefined) {
        control.note("the agent asked a question; the job ends waiting for a person's answer");
        return {
          kind: "outcome",
          outcome: {
            status: "needs-input",
            question,
            ...(summary !== "" ? { summary } : {}),
            ...spend(),
          },
        };
      }
      if (costUsd >= budgetUsd && job.workspace.validationCommands.length === 0) break;

      control.setPhase("validate");
      validation = await validate();
      const cause2 = control.cause();
      if (cause2 !== undefined) return await stopped(cause2);
      const failures = validation.filter((entry) => !entry.passed);
      if (failures.length === 0) break;
      if (round >= rounds) {
        return await failWithWip(
          `validation failed after ${round + 1} agent round${round === 0 ? "" : "s"}: ${failures.map((entry) => entry.command).join(", ")}`,
        );
      }
      if (costUsd >= budgetUsd) {
        return await budgetSpent("usd", ", and validation failed", "no further agent round");
      }
      control.note(`validation failed; giving the agent round ${round + 2} of ${rounds + 1}`);
      prompt = validationRoundPrompt(basePrompt, failures, round + 1, rounds);
    }

    // 4. finish: commit, forbidden paths, push
    control.setPhase("push");
    let finish: FinishResult;
    try {
      finish = await options.workspaces.finish(workspace, {
        token: await control.jobToken(),
        message: commitMessage(job, summary),
        forbiddenPaths: job.workspace.forbiddenPaths,
        canPush: control.canPush,
        beforeTokenGit,
      });
    } catch (error) {
      if (error instanceof ForbiddenPathsError) return failed(error.message);
      throw error;
    }
    if (finish.status === "not-pushed") return { kind: "lease-lost" };
    if (finish.status === "no-changes") {
      return failed("the agent finished without changing anything; nothing was pushed");
    }
    control.note(`pushed ${finish.headSha} to ${job.workspace.branch}`);

    // 5. outcome
    succeeded = true;
    return {
      kind: "outcome",
      outcome: {
        status: "succeeded",
        headSha: finish.headSha,
        summary: summary === "" ? "The agent gave no summary." : summary,
        validation,
        ...spend(),
      },
    };
  } catch (error) {
    if (error instanceof LeaseLostError) return { kind: "lease-lost" };
    const cause = control.cause();
    if (cause !== undefined) return await stopped(cause);
    log.warn({ err: message(error) }, "job failed");
    return failed(message(error));
  } finally {
    await rm(promptDir, { recursive: true, force: true }).catch(() => undefined);
    await jobSandbox
      ?.dispose()
      .catch((error: unknown) =>
        log.warn({ err: message(error) }, "the job's sandbox folders could not be removed"),
      );
    if (workspace !== undefined) {
      await options.workspaces
        .release(workspace, succeeded ? "succeeded" : "failed")
        .catch((error: unknown) =>
          log.warn({ err: message(error) }, "worktree could not be released"),
        );
    }
  }

  function agentTimeoutMs(): number {
    return (agentConfig as RunnerAgentConfig).timeoutMinutes * MINUTE;
  }

  /**
   * An `answer` job claimed by the runner that ran the asking job continues the agent's session
   * (issue 14, part 2) when its files can be put where the CLI looks (agents/resume.ts); anything
   * else starts a fresh session, with the agent's summary in the prompt.
   */
  async function planResume(workdir: string): Promise<void> {
    const agent = agentConfig as RunnerAgentConfig;
    if (job.resume === undefined) return;
    const adapter = adapterFor(job.agent, agent.adapter);
    const plan: ResumePlan = adapter.supportsResume
      ? await prepareResume({
          adapter: adapter.name,
          sessionId: job.resume.sessionId,
          workdir,
          stateHome: jobSandbox?.stateHome ?? childEnv.HOME ?? homedir(),
          env: agent.env ?? {},
        }).catch((error: unknown) => ({
          resume: false as const,
          reason: error instanceof Error ? error.message : String(error),
        }))
      : { resume: false, reason: `${adapter.name} cannot continue a session` };
    if (plan.resume) {
      sessionId = job.resume.sessionId;
      resumeFirst = true;
      control.note(`continuing the agent's session ${sessionId} from the job that asked`);
    } else {
      control.note(`starting a fresh agent session: the earlier one ${plan.reason}`);
      log.info({ reason: plan.reason }, "the asking job's session is not continued");
    }
  }

  async function runOneAgent(
    round: number,
    prompt: string,
    remainingMs: number,
  ): Promise<AgentRunResult> {
    const agent = agentConfig as RunnerAgentConfig;
    const promptFile = join(promptDir, `round-${round + 1}.md`);
    await writeFile(promptFile, prompt, { mode: 0o600 });
    const remainingUsd = budgetUsd - costUsd;
    return runAgent({
      jobId: marker,
      adapter: adapterFor(job.agent, agent.adapter),
      invocation: {
        prompt,
        promptFile,
        workdir: (workspace as Workspace).path,
        ...(sessionId !== undefined && (round > 0 || resumeFirst) ? { sessionId } : {}),
        ...(Number.isFinite(remainingUsd) ? { maxBudgetUsd: round2(remainingUsd) } : {}),
      },
      config: agent,
      limits: {
        timeoutMs: Math.max(1, Math.min(agentTimeoutMs(), remainingMs)),
        silenceMs: agent.silenceMinutes * MINUTE,
        graceMs: killGraceMs,
        maxLogBytes: job.limits.maxLogBytes,
      },
      sourceEnv,
      secrets: control.secrets(),
      signal: control.signal,
      onLog: control.onLog,
      budget: { maxUsd: remainingUsd, prices },
      log,
      ...(jobSandbox?.commands !== undefined ? { sandbox: jobSandbox.commands } : {}),
    });
  }

  /** Runs the validation commands in order; stops at the first failure. */
  async function validate(): Promise<ValidationResult[]> {
    const results: ValidationResult[] = [];
    for (const command of job.workspace.validationCommands) {
      if (control.signal.aborted) break;
      control.note(`validation: ${command}`);
      let tail = "";
      const [program, ...args] = shellCommand(command);
      const run = await runCommand({
        command: program as string,
        args,
        cwd: (workspace as Workspace).path,
        env: childEnv,
        limits: {
          timeoutMs: Math.max(
            1,
            Math.min(config.validation.timeoutMinutes * MINUTE, deadline - now()),
          ),
          graceMs: killGraceMs,
          maxLogBytes: job.limits.maxLogBytes,
        },
        secrets: control.secrets(),
        signal: control.signal,
        onLine: (line) => {
          tail = `${tail}${line}\n`.slice(-SETUP_TAIL_CHARS);
        },
        onLog: control.onLog,
        log,
        ...(jobSandbox?.commands !== undefined ? { sandbox: jobSandbox.commands } : {}),
      });
      const passed = run.reason === "exit" && run.exitCode === 0;
      results.push({
        command,
        exitCode: run.exitCode,
        passed,
        durationSeconds: run.durationMs / 1000,
        outputTail: tail,
      });
      if (!passed) break;
    }
    return results;
  }
}

/**
 * A repository command (one line in `.github/kanbot.yml`) as argv: `sh -c <line>`. The line is
 * the maintainer's, like a CI step; it is never built from the agent's or an issue's text.
 */
export function shellCommand(line: string): string[] {
  return ["sh", "-c", line];
}

/**
 * The agent's question (`.kanbot/question.md`), read and removed from the worktree; undefined
 * when there is none or it is empty. Read as a regular file only (a link the agent planted is
 * refused), at most a few times the protocol's limit, then cut to it.
 */
export async function takeQuestion(worktree: string): Promise<string | undefined> {
  const path = join(worktree, QUESTION_FILE);
  const info = await lstat(path).catch(() => undefined);
  if (info === undefined) return undefined;
  let text = "";
  if (info.isFile()) {
    const handle = await openFile(path, "r");
    try {
      const buffer = Buffer.alloc(QUESTION_MAX_CHARS * 4);
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
      text = buffer.subarray(0, bytesRead).toString("utf8");
    } finally {
      await handle.close();
    }
  }
  await rm(path, { force: true, recursive: true });
  await rmdir(join(worktree, ".kanbot")).catch(() => undefined);
  const question = text.replace(/\r\n?/g, "\n").trim();
  if (question === "") return undefined;
  return question.length <= QUESTION_MAX_CHARS
    ? question
    : `${question.slice(0, QUESTION_MAX_CHARS - 40).trimEnd()}\n[… the question was cut here …]`;
}

function commitMessage(job: JobDescription, summary: string): string {
  const subject = `${job.issue.title} (#${job.issue.number})`.slice(0, 200);
  const body = summary.trim().slice(0, 4_000);
  return body === "" ? subject : `${subject}\n\n${body}`;
}

function pushedSha(result: FinishResult): string | "lease-lost" | undefined {
  if (result.status === "pushed") return result.headSha;
  if (result.status === "not-pushed") return "lease-lost";
  return undefined;
}

/** The outcome's fields for an agent's failure class (the protocol's `FailedOutcome`). */
function failureFields(failure: AgentFailure, agentCli: string | undefined) {
  return {
    failureClass: failure.failureClass,
    ...(agentCli !== undefined ? { agentCli } : {}),
    ...(failure.message !== "" ? { failureMessage: failure.message.slice(0, 2_000) } : {}),
    ...(failure.resetAt !== undefined ? { resetAt: failure.resetAt.toISOString() } : {}),
  };
}

/**
 * The first round's prompt: the repository's `.github/kanbot/prompt.md` at the job's base commit
 * (runner/prompt-template.ts), or kanbot's built-in prompt. Throws PromptTemplateError for a
 * template that cannot be read, parsed or rendered: the job fails before any agent runs.
 */
async function repositoryPrompt(job: JobDescription, workspace: Workspace): Promise<string> {
  const template = await readPromptTemplate(workspace.mirrorPath, workspace.baseSha);
  // No template: the built-in prompt, which DEFAULT_TEMPLATE renders identically (tested).
  if (template === undefined) return buildPrompt(promptInput(job));
  return renderPromptTemplate(template, promptInput(job));
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function roundUp(value: number): number {
  return Math.ceil(value * 1e6) / 1e6;
}

/** "1.5" minutes; whole numbers without decimals. */
function minutesText(minutes: number): string {
  return Number.isInteger(minutes) ? String(minutes) : minutes.toFixed(2);
}

/** The config's prices keyed by lower-case model name, as `priceOf` looks them up. */
function lowerCaseKeys(table: RunnerConfigPrices): PriceTable {
  return Object.fromEntries(
    Object.entries(table).map(([model, price]) => [model.trim().toLowerCase(), price]),
  );
}

type RunnerConfigPrices = LoadedRunnerConfig["config"]["prices"];

function round2(value: number): number {
  return Math.max(0, Math.floor(value * 100) / 100);
}
