/**
 * The real job token broker against the strict GitHub mock: a token limited to the job's one
 * repository with contents: write, minted with the app's JWT, and revoked with the token itself
 * when the lease ends.
 */
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { LeaseLostError } from "../../../runner/client.js";
import { createGitHubJobTokenBroker } from "../../../src/tokens/job-token-broker.js";
import { fakeInstallationToken } from "../../helpers/github-fixtures.js";
import { setupGitHubMock } from "../../helpers/github-mock.js";
import { createTestProbot } from "../../helpers/probot.js";
import { startHarness, type Harness } from "./harness.js";

const INSTALLATION_ID = 4242;
const JOB_TOKEN = "ghs_jobtoken000000000000000000000000001";

describe("runner API: job tokens from GitHub", () => {
  const gh = setupGitHubMock({ allowLoopback: true });
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
  });

  async function harness(): Promise<Harness> {
    const { probot } = await createTestProbot({ baseUrl: gh.baseUrl });
    const broker = createGitHubJobTokenBroker({
      appOctokit: () => probot.auth(),
      log: pino({ level: "silent" }),
    });
    h = await startHarness({ broker });
    return h;
  }

  function mintMock() {
    gh.rest(
      "POST",
      "/app/installations/{installation_id}/access_tokens",
      { installation_id: INSTALLATION_ID },
      { body: { repositories: ["widgets"], permissions: { contents: "write" } } },
    ).reply(
      201,
      fakeInstallationToken({
        token: JOB_TOKEN,
        permissions: { contents: "write", metadata: "read" },
      }),
    );
  }

  function revokeMock() {
    gh.rest(
      "DELETE",
      "/installation/token",
      {},
      { headers: { authorization: `token ${JOB_TOKEN}` } },
    ).reply(204);
  }

  it("mints a token for the one repository with contents: write and revokes it at completion", async () => {
    const app = await harness();
    const runner = await app.registerRunner();
    const jobId = await app.queueJob();
    const lease = (await runner.client.claim({ waitSeconds: 0 }))?.lease.token ?? "";
    mintMock();
    revokeMock();

    const token = await runner.client.jobToken(jobId, { leaseToken: lease });
    await runner.client.complete(jobId, {
      leaseToken: lease,
      outcome: { status: "failed", error: "tests failed" },
    });

    expect(token).toMatchObject({
      token: JOB_TOKEN,
      repository: "acme/widgets",
      permissions: { contents: "write" },
    });
    expect(
      gh.requests.map((request) => `${request.method} ${new URL(request.url).pathname}`),
    ).toEqual([
      `POST /app/installations/${INSTALLATION_ID}/access_tokens`,
      "DELETE /installation/token",
    ]);
  });

  it("waits for the installation's write budget before it revokes (GitHub counts the revocation)", async () => {
    const { probot } = await createTestProbot({ baseUrl: gh.baseUrl });
    const acquired: { installationId: number; priority: string; requestsBefore: number }[] = [];
    const broker = createGitHubJobTokenBroker({
      appOctokit: () => probot.auth(),
      log: pino({ level: "silent" }),
      writeBudgets: {
        of: (installationId) => ({
          acquire: (priority) => {
            acquired.push({ installationId, priority, requestsBefore: gh.requests.length });
            return Promise.resolve();
          },
        }),
      },
    });
    h = await startHarness({ broker });
    const runner = await h.registerRunner();
    const jobId = await h.queueJob();
    const lease = (await runner.client.claim({ waitSeconds: 0 }))?.lease.token ?? "";
    mintMock();
    revokeMock();

    await runner.client.jobToken(jobId, { leaseToken: lease });
    await runner.client.complete(jobId, { leaseToken: lease, outcome: { status: "canceled" } });

    // One budget slot, taken after the mint and before the DELETE.
    expect(acquired).toEqual([
      { installationId: INSTALLATION_ID, priority: "urgent", requestsBefore: 1 },
    ]);
    expect(gh.requests.map((request) => request.method)).toEqual(["POST", "DELETE"]);
  });

  it("revokes a lost job's token in the expiry sweep, and refuses the old runner a new one", async () => {
    const app = await harness();
    const runner = await app.registerRunner();
    const jobId = await app.queueJob();
    const lease = (await runner.client.claim({ waitSeconds: 0 }))?.lease.token ?? "";
    mintMock();
    revokeMock();
    await runner.client.jobToken(jobId, { leaseToken: lease });

    app.clock.advance(61_000);
    await app.api.sweep();
    const again = runner.client.jobToken(jobId, { leaseToken: lease });

    await expect(again).rejects.toBeInstanceOf(LeaseLostError);
    expect(gh.requests.map((request) => request.method)).toEqual(["POST", "DELETE"]);
  });

  it("answers 502 with a message when GitHub refuses the token", async () => {
    const app = await harness();
    const runner = await app.registerRunner();
    const jobId = await app.queueJob();
    const lease = (await runner.client.claim({ waitSeconds: 0 }))?.lease.token ?? "";
    gh.rest("POST", "/app/installations/{installation_id}/access_tokens", {
      installation_id: INSTALLATION_ID,
    }).replyError(
      422,
      "There is at least one repository that does not exist or is not accessible to the parent installation.",
    );

    const attempt = runner.client.jobToken(jobId, { leaseToken: lease });

    await expect(attempt).rejects.toMatchObject({
      status: 502,
      code: "github-error",
      message: /acme\/widgets.*HTTP 422/,
    });
  });
});
