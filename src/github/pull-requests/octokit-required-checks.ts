/**
 * The branch's required checks on Octokit (`RequiredChecksPort`): classic branch protection from
 * "Get a branch" (`contents: read`; the protection endpoints would need `administration: read`)
 * and the rulesets' `required_status_checks` rules (`metadata: read`), and their union. A source
 * the app cannot read is `undefined`, so the caller can fall back.
 */
import type { RepoRef } from "../../domain/dependencies.js";
import { isGitHubStatus } from "../errors.js";
import type {
  RequiredCheck,
  RequiredChecks,
  RequiredChecksPort,
  RequiredChecksSource,
} from "../pull-request-port.js";
import { PER_PAGE, formatRepo, isRecord, type OctokitCall } from "./octokit-call.js";

interface RestRule {
  type: string;
  parameters?: unknown;
}

/** Required checks from a ruleset rule list: every `required_status_checks` rule's checks. */
function requiredFromRules(rules: readonly RestRule[]): RequiredCheck[] {
  return rules.flatMap((rule) => {
    if (rule.type !== "required_status_checks" || !isRecord(rule.parameters)) return [];
    const checks = rule.parameters.required_status_checks;
    if (!Array.isArray(checks)) return [];
    return checks.flatMap((check: unknown) =>
      isRecord(check) && typeof check.context === "string"
        ? [
            {
              context: check.context,
              appId: typeof check.integration_id === "number" ? check.integration_id : undefined,
            },
          ]
        : [],
    );
  });
}

function uniqueChecks(checks: readonly RequiredCheck[]): RequiredCheck[] {
  const seen = new Set<string>();
  return checks.filter((check) => {
    const key = `${check.context}\u0000${check.appId ?? ""}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

export function octokitRequiredChecks(gh: OctokitCall): RequiredChecksPort {
  const { octokit, log } = gh;

  async function branchProtectionRequiredChecks(
    repo: RepoRef,
    branch: string,
  ): Promise<RequiredCheck[] | undefined> {
    try {
      // "Get a branch" (`contents: read`) carries a summary of classic branch protection; its
      // `required_status_checks` has the same `contexts` and `checks` (with `app_id`) as the
      // protection endpoint, which would need `administration: read`.
      const { data } = await gh.call(`read branch ${branch} in ${formatRepo(repo)}`, () =>
        octokit.rest.repos.getBranch({ owner: repo.owner, repo: repo.repo, branch }),
      );
      // GitHub's own "List branches" example leaves `enabled` out of a protected branch's
      // summary, so only an explicit `false` (or `protected: false`) means "not protected".
      const { protection } = data;
      const required =
        data.protected && protection.enabled !== false
          ? protection.required_status_checks
          : undefined;
      if (required === undefined || required.enforcement_level === "off") {
        log.debug({ ...repo, branch }, "branch protection requires no checks");
        return [];
      }
      // `checks` names the app of each check; `contexts` is the older list of names only.
      const checks: RequiredCheck[] =
        required.checks.length > 0
          ? required.checks.map((check) => ({
              context: check.context,
              appId: check.app_id ?? undefined,
            }))
          : required.contexts.map((context) => ({ context, appId: undefined }));
      return uniqueChecks(checks);
    } catch (error) {
      // 404: no such branch (or a repository the token cannot see); 403: no `contents: read`.
      if (isGitHubStatus(error, 404) || isGitHubStatus(error, 403)) {
        log.info(
          { ...repo, branch, status: error.status },
          "branch not readable; classic branch protection unknown",
        );
        return undefined;
      }
      throw error;
    }
  }

  async function rulesetRequiredChecks(
    repo: RepoRef,
    branch: string,
  ): Promise<RequiredCheck[] | undefined> {
    try {
      const rules = await gh.call(`read the rules of branch ${branch} in ${formatRepo(repo)}`, () =>
        octokit.paginate(octokit.rest.repos.getBranchRules, {
          owner: repo.owner,
          repo: repo.repo,
          branch,
          per_page: PER_PAGE,
        }),
      );
      return uniqueChecks(requiredFromRules(rules));
    } catch (error) {
      // A GitHub Enterprise Server without rulesets has no such route.
      if (isGitHubStatus(error, 404)) {
        log.debug({ ...repo, branch }, "branch rules not available; none apply");
        return [];
      }
      if (isGitHubStatus(error, 403)) {
        log.info({ ...repo, branch }, "branch rules not readable; required checks unknown");
        return undefined;
      }
      throw error;
    }
  }

  async function requiredChecks(
    repo: RepoRef,
    branch: string,
  ): Promise<RequiredChecks | undefined> {
    const bySource: [RequiredChecksSource, RequiredCheck[] | undefined][] = [
      ["branch-protection", await branchProtectionRequiredChecks(repo, branch)],
      ["rulesets", await rulesetRequiredChecks(repo, branch)],
    ];
    const sources = bySource.flatMap(([source, checks]) => (checks === undefined ? [] : [source]));
    if (sources.length === 0) return undefined;
    return {
      checks: uniqueChecks(bySource.flatMap(([, checks]) => checks ?? [])),
      sources,
      unreadable: bySource.flatMap(([source, checks]) => (checks === undefined ? [source] : [])),
    };
  }

  return { branchProtectionRequiredChecks, rulesetRequiredChecks, requiredChecks };
}
