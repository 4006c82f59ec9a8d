/**
 * App-level facts the GitHub port does not offer (yet): kanbot's bot login and the repositories
 * of an installation. An adapter over the Octokit instances Probot's `app.auth()` returns, kept
 * here until the port grows these calls.
 *
 * The bot login is `<app slug>[bot]`, from `GET /app` with the app's JWT, asked once per process
 * (lazily, from the inbox worker, never while GitHub waits for a webhook answer). Comparing the
 * sender's login with it is exact for every event; `sender.type === "Bot"` would also ignore
 * other apps, and `performed_via_github_app` is missing from most payloads.
 */
import type { Probot } from "probot";
import type { RepoRef } from "../domain/dependencies.js";

/** kanbot's own login, asked from GitHub once and remembered (a failure is asked again). */
export function botLoginOnce(app: Pick<Probot, "auth">): () => Promise<string> {
  let login: Promise<string> | undefined;
  return () => {
    login ??= (async () => {
      const octokit = await app.auth();
      const { data } = await octokit.request("GET /app");
      const slug = data?.slug;
      if (typeof slug !== "string" || slug === "") {
        throw new Error(
          "GET /app returned no slug; kanbot cannot tell its own events apart. Check APP_ID and PRIVATE_KEY.",
        );
      }
      return `${slug}[bot]`;
    })();
    login.catch(() => (login = undefined));
    return login;
  };
}

/** The repositories an installation can reach (`GET /installation/repositories`). */
export async function installationRepositories(
  app: Pick<Probot, "auth">,
  installationId: number,
): Promise<RepoRef[]> {
  const octokit = await app.auth(installationId);
  const repos = await octokit.paginate("GET /installation/repositories", { per_page: 100 });
  return repos.map((repo) => ({ owner: repo.owner.login, repo: repo.name }));
}
