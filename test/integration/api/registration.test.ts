import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { RegistrationTokenRejectedError, RunnerTokenRevokedError } from "../../../runner/client.js";
import { startHarness, type Harness } from "./harness.js";

describe("runner API: registration and runner tokens", () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
  });
  afterEach(async () => {
    await h.close();
  });

  it("exchanges a one-time registration token for a runner id and a runner token", async () => {
    const grant = await h.store.createRegistrationToken(3_600_000);

    const answer = await h.client().register({
      registrationToken: grant.token,
      name: "studio-mac",
      agents: ["claude", "codex"],
      labels: ["os:mac"],
      repos: ["acme/widgets"],
    });

    expect(answer).toMatchObject({
      name: "studio-mac",
      agents: ["claude", "codex"],
      labels: ["os:mac"],
      repos: ["acme/widgets"],
    });
    expect(answer.runnerToken).toMatch(/^kbr_/);
    expect(await h.store.authenticateRunner(answer.runnerToken)).toMatchObject({
      id: answer.runnerId,
    });
  });

  it("refuses a registration token used a second time, and audits the rejection", async () => {
    const grant = await h.store.createRegistrationToken(3_600_000);
    const registration = { registrationToken: grant.token, name: "first", agents: ["claude"] };
    await h.client().register(registration);

    const second = h.client().register({ ...registration, name: "second" });

    await expect(second).rejects.toBeInstanceOf(RegistrationTokenRejectedError);
    await expect(second).rejects.toMatchObject({ status: 401, message: /is used/ });
    const audit = await h.store.listAudit({ action: "runner.registration-rejected" });
    expect(audit.map((entry) => entry.detail)).toEqual([{ name: "second", problem: "used" }]);
  });

  it("refuses an expired registration token", async () => {
    const grant = await h.store.createRegistrationToken(60_000);
    h.clock.advance(60_001);

    const attempt = h
      .client()
      .register({ registrationToken: grant.token, name: "late", agents: ["claude"] });

    await expect(attempt).rejects.toMatchObject({
      status: 401,
      code: "registration-token-invalid",
      message: /expired/,
    });
  });

  it("answers 401 with a distinct error once the runner is revoked", async () => {
    const { client, runnerId } = await h.registerRunner();
    expect(await client.claim({ waitSeconds: 0 })).toBeUndefined();

    await h.store.revokeRunner(runnerId, "admin");
    const attempt = client.claim({ waitSeconds: 0 });

    await expect(attempt).rejects.toBeInstanceOf(RunnerTokenRevokedError);
    await expect(attempt).rejects.toMatchObject({ status: 401, message: /revoked/ });
  });

  it("answers 401 without a bearer token, naming what to send", async () => {
    const answer = await h.post("/api/v1/jobs/claim", "{}");

    expect(answer.status).toBe(401);
    expect(answer.body).toMatchObject({
      error: { code: "unauthorized", message: /Authorization: Bearer/ },
    });
  });
});
