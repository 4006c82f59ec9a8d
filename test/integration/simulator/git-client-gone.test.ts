/**
 * The simulator serves git pushes one at a time per repository. A git client killed mid-push
 * (a runner SIGKILLed by test/chaos/runners-killed.test.ts) must not hold that up: its request
 * ends, and the next push goes through, as on GitHub. (Before the fix, the backend waited for
 * the rest of the dead client's body, or the answer's end for its callback, for good.)
 */
import { connect } from "node:net";

import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";

import { authedGitUrl, FULL, startFixture, type Fixture } from "./fixture.js";

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("simulator: a git client gone mid-request", () => {
  let fx: Fixture;
  let token: string;

  beforeAll(async () => {
    fx = await startFixture();
    token = await fx.mintToken({ permissions: { contents: "write" } });
  });
  afterAll(async () => {
    await fx.stop();
  });
  afterEach(() => {
    expect(fx.sim.violations).toEqual([]);
  });

  /**
   * Sends a receive-pack request by hand (the head, then `body`, which may be short of the length
   * announced) and returns the connection, open.
   */
  function rawPush(body: string, length = body.length): ReturnType<typeof connect> {
    const url = new URL(`${fx.sim.gitUrl(FULL)}/git-receive-pack`);
    const socket = connect(Number(url.port), url.hostname);
    socket.on("error", () => undefined);
    socket.write(
      [
        `POST ${url.pathname} HTTP/1.1`,
        `Host: ${url.host}`,
        `Authorization: Basic ${Buffer.from(`x-access-token:${token}`).toString("base64")}`,
        "Content-Type: application/x-git-receive-pack-request",
        `Content-Length: ${length}`,
        "",
        body,
      ].join("\r\n"),
    );
    return socket;
  }

  /** A ref update command as receive-pack reads it (pkt-line), then the flush. */
  function command(old: string, next: string, branch: string): string {
    const line = `${old} ${next} refs/heads/${branch}\0 report-status delete-refs\n`;
    return `${(line.length + 4).toString(16).padStart(4, "0")}${line}0000`;
  }

  async function pushWithGit(branch: string): Promise<void> {
    const work = fx.tempDir();
    await fx.git(work, "clone", "--quiet", authedGitUrl(fx.sim, FULL, token), "clone");
    await fx.git(`${work}/clone`, "commit", "--quiet", "--allow-empty", "-m", branch);
    await fx.git(`${work}/clone`, "push", "--quiet", "origin", `HEAD:refs/heads/${branch}`);
  }

  const inFlight = () => fx.sim.gitRequests.filter((request) => request.status === 0);

  it("a client killed halfway through its push, and one killed while its push waited", async () => {
    const zero = "0".repeat(40);
    // Announces 1000 bytes and sends a few: the backend waits for the rest, holding the lock.
    const holder = rawPush(command(zero, "1".repeat(40), "half"), 1000);
    await pause(200);
    const queued = rawPush(command(zero, "2".repeat(40), "queued"), 1000);
    await pause(200);
    queued.destroy();
    holder.destroy();

    await pushWithGit("after-the-dead");

    expect(inFlight()).toEqual([]);
    expect(fx.sim.gitRequests.filter((request) => request.service === "receive-pack")).toEqual(
      expect.arrayContaining([expect.objectContaining({ status: 200 })]),
    );
  });

  it("a client gone right after sending its whole push, before the answer", async () => {
    await pushWithGit("doomed");
    const old = (await fx.git(fx.tempDir(), "ls-remote", authedGitUrl(fx.sim, FULL, token)))
      .split("\n")
      .find((line) => line.endsWith("refs/heads/doomed"))
      ?.split("\t")[0];
    if (old === undefined) throw new Error("no branch doomed");
    const socket = rawPush(command(old, "0".repeat(40), "doomed"));
    // The whole request sent, then gone without reading the answer.
    await new Promise<void>((resolve) => socket.end(() => resolve()));
    socket.destroy();

    await pushWithGit("after-the-answerless");

    // Whether the dead client's push landed is not promised (it may not have been read whole).
    expect(inFlight()).toEqual([]);
    const refs = await fx.git(fx.tempDir(), "ls-remote", authedGitUrl(fx.sim, FULL, token));
    expect(refs).toContain("refs/heads/after-the-answerless");
  });
});
