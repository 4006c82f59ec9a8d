/**
 * The runner API mounted the way the app mounts it: `options.addHandler` in the app function,
 * on Probot's own Server, next to the webhook middleware.
 */
import { pino } from "pino";
import { Probot, Server } from "probot";
import { afterEach, describe, expect, it } from "vitest";
import { RunnerApiClient } from "../../../runner/client.js";
import {
  createRunnerApi,
  RUNNER_API_LOG_REDACT_PATHS,
  type RunnerApi,
} from "../../../src/api/index.js";
import { openStore, type JobStore } from "../../../src/store/index.js";
import { testPrivateKey, TEST_APP_ID, TEST_WEBHOOK_SECRET } from "../../helpers/probot.js";
import { fakeBroker, noRepoConfig, TEST_LIMITS } from "./harness.js";
import { freePort } from "../../helpers/kanbot-process.js";

/** A free loopback port (Probot's Server treats port 0 as "use 3000"). */

describe("runner API on Probot's server", () => {
  let server: Server | undefined;
  let store: JobStore | undefined;
  let api: RunnerApi | undefined;
  afterEach(async () => {
    await api?.stop();
    await server?.stop();
    await store?.close();
  });

  it("answers runner calls through addHandler, leaves other paths to Probot and logs no runner token", async () => {
    store = await openStore({ url: ":memory:" });
    const lines: string[] = [];
    const log = pino(
      { level: "info", redact: [...RUNNER_API_LOG_REDACT_PATHS] },
      { write: (line: string) => void lines.push(line) },
    );
    const runnerApi = createRunnerApi({
      store,
      limits: TEST_LIMITS,
      log,
      jobTokens: fakeBroker(),
      resolveWorkspace: noRepoConfig,
    });
    api = runnerApi;
    const port = await freePort();
    server = new Server({
      host: "127.0.0.1",
      port,
      log,
      Probot: Probot.defaults({
        appId: TEST_APP_ID,
        privateKey: testPrivateKey(),
        secret: TEST_WEBHOOK_SECRET,
        log,
      }),
    });
    await server.load((_app, options) => {
      options.addHandler(runnerApi.handler);
      runnerApi.start();
    });
    await server.start();
    const grant = await store.createRegistrationToken(60_000);
    const client = new RunnerApiClient({ baseUrl: `http://127.0.0.1:${port}` });

    const registered = await client.register({
      registrationToken: grant.token,
      name: "probot-mounted",
      agents: ["claude"],
    });
    const claim = await client.claim({ waitSeconds: 0 });
    const ping = await fetch(`http://127.0.0.1:${port}/ping`);

    expect(registered.name).toBe("probot-mounted");
    expect(claim).toBeUndefined();
    expect(await ping.text()).toBe("PONG");
    // Probot's HTTP logger logged the claim's headers, with the runner token redacted.
    const claimLine = lines.find((line) => line.includes("/api/v1/jobs/claim"));
    expect(claimLine).toContain('"authorization":"[Redacted]"');
    expect(lines.join("")).not.toContain(registered.runnerToken);
  });
});
