import { createServer, type Server } from "node:http";

import { pino } from "pino";
import { Probot, ProbotOctokit } from "probot";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";

import { freePort } from "../../helpers/kanbot-process.js";
import { startSimulator, type Simulator } from "../../simulator/index.js";
import { APP_ID, appKey, FULL, MAINTAINER, ORG, REPO, SECRET } from "./fixture.js";

type OctokitOptions = NonNullable<ConstructorParameters<typeof ProbotOctokit>[0]>;
const TestOctokit = ProbotOctokit.defaults((options: OctokitOptions) => ({
  ...options,
  retry: { ...options.retry, enabled: false },
  throttle: { ...options.throttle, enabled: false },
}));

interface Item {
  id: number;
  guid: string;
  delivered_at: string;
  redelivery: boolean;
  duration: number;
  status: string;
  status_code: number;
  event: string;
  action: string | null;
  installation_id: number | null;
  repository_id: number | null;
}

describe("simulator: the app's webhook deliveries (list and redeliver)", () => {
  let sim: Simulator;
  let probot: Probot;
  let port: number;
  let receiver: Server | undefined;
  /** What the app's endpoint answers once it listens. */
  let answer = 200;
  const received: { guid: string; event: string }[] = [];

  beforeAll(async () => {
    port = await freePort();
    sim = await startSimulator({
      appId: APP_ID,
      privateKey: appKey(),
      webhook: { url: `http://127.0.0.1:${port}/`, secret: SECRET },
      log: () => undefined,
    });
    sim.addOrg(ORG);
    await sim.addRepo({ owner: ORG, name: REPO });
    sim.addCollaborator(FULL, MAINTAINER, "maintain");
    sim.install(ORG);
    probot = new Probot({
      appId: APP_ID,
      privateKey: appKey(),
      baseUrl: sim.apiUrl,
      Octokit: TestOctokit,
      log: pino({ level: "silent" }),
    });
  });
  afterAll(async () => {
    await sim.stop();
    if (receiver !== undefined) await new Promise((done) => receiver?.close(done));
  });
  afterEach(() => {
    expect(sim.violations).toEqual([]);
  });

  async function listAll(query: Record<string, string | number> = {}): Promise<Item[]> {
    const app = await probot.auth();
    return (await app.paginate("GET /app/hook/deliveries", { per_page: 100, ...query })) as Item[];
  }

  function listen(): Promise<void> {
    receiver = createServer((req, res) => {
      req.resume();
      req.on("end", () => {
        received.push({
          guid: String(req.headers["x-github-delivery"]),
          event: String(req.headers["x-github-event"]),
        });
        res.writeHead(answer).end();
      });
    });
    return new Promise((done) => receiver?.listen(port, "127.0.0.1", done));
  }

  it("records a delivery the app did not answer as failed, and lists it in GitHub's shape", async () => {
    const repo = sim.state.mustRepo(FULL);

    await sim.actAs(MAINTAINER).createIssue(FULL, { title: "While the app is down" });
    await sim.idle();
    const listed = await listAll();

    expect(listed).toHaveLength(1);
    const [item] = listed;
    expect(item).toEqual({
      id: expect.any(Number) as number,
      guid: sim.deliveries[0]?.id,
      delivered_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/) as string,
      redelivery: false,
      duration: expect.any(Number) as number,
      status: "failed to connect to host",
      status_code: 0,
      event: "issues",
      action: "opened",
      installation_id: [...sim.state.installations.keys()][0],
      repository_id: repo.id,
      throttled_at: null,
    });
  });

  it("redelivers on request (202): the same guid again, listed as a redelivery, newest first", async () => {
    await listen();
    const [failed] = await listAll();
    const app = await probot.auth();

    const response = await app.request("POST /app/hook/deliveries/{delivery_id}/attempts", {
      delivery_id: failed?.id ?? 0,
    });
    await sim.idle();
    const listed = await listAll();

    expect(response.status).toBe(202);
    expect(received).toEqual([{ guid: failed?.guid, event: "issues" }]);
    expect(
      listed.map((item) => [item.guid, item.redelivery, item.status, item.status_code]),
    ).toEqual([
      [failed?.guid, true, "OK", 200],
      [failed?.guid, false, "failed to connect to host", 0],
    ]);
    expect(listed[0]?.id).toBeGreaterThan(failed?.id ?? Infinity);
  });

  it("records a 5xx answer as failed, and filters by outcome", async () => {
    answer = 503;

    await sim.actAs(MAINTAINER).createIssue(FULL, { title: "While the app is failing" });
    await sim.idle();
    const failures = await listAll({ status: "failure" });
    const successes = await listAll({ status: "success" });

    expect(failures.map((item) => [item.action, item.status, item.status_code])).toEqual([
      ["opened", "Invalid HTTP Response: 503", 503],
      ["opened", "failed to connect to host", 0],
    ]);
    expect(successes.map((item) => item.status_code)).toEqual([200]);
    answer = 200;
  });

  it("pages with per_page and a cursor in the Link header, as GitHub does", async () => {
    for (const title of ["one", "two", "three"]) {
      await sim.actAs(MAINTAINER).createIssue(FULL, { title });
    }
    await sim.idle();
    const app = await probot.auth();

    const first = await app.request("GET /app/hook/deliveries", { per_page: 2 });
    const next = /<([^>]+)>; rel="next"/.exec(first.headers.link ?? "")?.[1];
    const cursor = next === undefined ? null : new URL(next).searchParams.get("cursor");
    const second = await app.request("GET /app/hook/deliveries", {
      per_page: 2,
      cursor: cursor ?? "",
    });
    const everything = await listAll({ per_page: 2 });

    expect(first.data).toHaveLength(2);
    expect(cursor).toMatch(/^v1_\d+$/);
    expect(second.data).toHaveLength(2);
    expect(second.data[0]?.id).toBeLessThan(first.data[1]?.id ?? 0);
    expect(everything.map((item) => item.id)).toEqual(
      [...sim.deliveries].map((delivery) => delivery.deliveryId).sort((a, b) => b - a),
    );
    expect(everything).toHaveLength(6);
  });

  it("answers 404 for an unknown delivery and 401 without the app's JWT", async () => {
    const app = await probot.auth();
    const { data: minted } = await app.request(
      "POST /app/installations/{installation_id}/access_tokens",
      { installation_id: sim.state.installations.keys().next().value ?? 0 },
    );

    const unknown = await app
      .request("POST /app/hook/deliveries/{delivery_id}/attempts", { delivery_id: 1 })
      .then(
        () => 0,
        (error: { status: number }) => error.status,
      );
    const asInstallation = await fetch(`${sim.apiUrl}/app/hook/deliveries`, {
      headers: { authorization: `token ${minted.token}` },
    });

    expect(unknown).toBe(404);
    expect(asInstallation.status).toBe(401);
  });
});
