/**
 * App-level facts the inbox worker and reconciliation need, through the app-level calls of
 * src/github/installations.ts: kanbot's bot login and the repositories of an installation.
 *
 * The bot login is `<app slug>[bot]`, from `GET /app` with the app's JWT, asked once per process
 * (lazily, from the inbox worker, never while GitHub waits for a webhook answer). Comparing the
 * sender's login with it is exact for every event; `sender.type === "Bot"` would also ignore
 * other apps, and `performed_via_github_app` is missing from most payloads.
 */
import type { Probot } from "probot";
import type { RepoRef } from "../domain/dependencies.js";
import { appBotLogin, listInstallationRepositories } from "../github/installations.js";

/** kanbot's own login, asked from GitHub once and remembered (a failure is asked again). */
export function botLoginOnce(app: Pick<Probot, "auth">): () => Promise<string> {
  let login: Promise<string> | undefined;
  return () => {
    login ??= (async () => appBotLogin(await app.auth()))();
    login.catch(() => (login = undefined));
    return login;
  };
}

/**
 * The repositories an installation can reach (`GET /installation/repositories`), archived and
 * disabled ones left out (kanbot can write to none of them).
 */
export async function installationRepositories(
  app: Pick<Probot, "auth">,
  installationId: number,
): Promise<RepoRef[]> {
  return listInstallationRepositories(await app.auth(installationId));
}
