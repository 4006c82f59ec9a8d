import { describe, expect, it } from "vitest";
import { continuesTaskBranch } from "../../../src/api/describe-job.js";
import { gitHubWebUrl, taskBranchName } from "../../../src/api/index.js";

describe("taskBranchName", () => {
  it.each([
    ["kanbot/", 12, "Add a Widget!", "kanbot/12-add-a-widget"],
    ["kanbot/", 3, "   ", "kanbot/3"],
    ["agents/", 4, "Crème brûlée: fix the oven", "agents/4-creme-brulee-fix-the-oven"],
    ["kanbot/", 5, "a".repeat(60), `kanbot/5-${"a".repeat(40)}`],
    [
      "kanbot/",
      6,
      "ends with a dash at the forty character -x",
      "kanbot/6-ends-with-a-dash-at-the-forty-character",
    ],
  ])("%s + #%i %j -> %s", (prefix, issue, title, expected) => {
    expect(taskBranchName(prefix, issue, title)).toBe(expected);
  });
});

describe("gitHubWebUrl", () => {
  it.each([
    [{ GHE_PROTOCOL: "https" }, "https://github.com"],
    [{ GHE_HOST: "ghe.example.com", GHE_PROTOCOL: "https" }, "https://ghe.example.com"],
    [{ GHE_HOST: "localhost:8080", GHE_PROTOCOL: "http" }, "http://localhost:8080"],
  ])("%j -> %s", (settings, expected) => {
    expect(gitHubWebUrl(settings)).toBe(expected);
  });
});

describe("continuesTaskBranch", () => {
  it.each([
    ["implement", false],
    ["fix-checks", true],
    ["revise", true],
    ["rebase", true],
  ] as const)("%s continues the task branch: %s", (kind, continues) => {
    expect(continuesTaskBranch(kind)).toBe(continues);
  });
});
