import { describe, expect, it } from "vitest";
import { InvalidRepositoryNameError } from "../../../src/domain/repo-name.js";
import { guardRepoNames } from "../../../src/github/repo-name-guard.js";

class FakePort {
  readonly calls: string[] = [];
  readonly #secret = "private fields still work";

  async getIssue(ref: { owner: string; repo: string; number: number }): Promise<string> {
    this.calls.push(`${ref.owner}/${ref.repo}#${ref.number}`);
    return this.#secret;
  }
}

describe("guardRepoNames", () => {
  it("passes calls that name allowed repositories through", async () => {
    const port = new FakePort();
    const guarded = guardRepoNames(port, "FakePort");

    const answer = await guarded.getIssue({ owner: "acme", repo: "widgets", number: 1 });

    expect(answer).toBe("private fields still work");
    expect(port.calls).toEqual(["acme/widgets#1"]);
  });

  it.each([
    ["acme", ".."],
    ["acme", "."],
    ["..", "widgets"],
    ["acme", "a/b"],
  ])("refuses %s/%s before the call is made", (owner, repo) => {
    const port = new FakePort();
    const guarded = guardRepoNames(port, "FakePort");

    expect(() => guarded.getIssue({ owner, repo, number: 1 })).toThrow(InvalidRepositoryNameError);
    expect(() => guarded.getIssue({ owner, repo, number: 1 })).toThrow(/FakePort\.getIssue/);
    expect(port.calls).toEqual([]);
  });
});
