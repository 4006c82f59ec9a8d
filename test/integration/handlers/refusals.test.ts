import { afterAll, describe, expect, it } from "vitest";
import { setupGitHubMock } from "../../helpers/github-mock.js";
import { portMocks, type GitHubPortMocks } from "../../helpers/github-port-mocks.js";
import {
  cleanupHarnessFolders,
  commentPayload,
  createHarness,
  issueRef,
  labeledPayload,
  labelTriggerReads,
  REPO,
  triggerMocks,
  type Harness,
} from "../../helpers/handler-harness.js";
import { cardMovedPayload, unlabeledPayload } from "../../helpers/handler-payloads.js";

afterAll(cleanupHarnessFolders);

interface Refusal {
  action: string;
  /** What the refused person may not do, as the reply says it. */
  says: RegExp;
  /** Declares what the event reads before the permission check, then delivers it. */
  send(h: Harness, ghp: GitHubPortMocks): Promise<void>;
}

function byComment(body: string) {
  return async (h: Harness, ghp: GitHubPortMocks) => {
    ghp.file(REPO, ".github/kanbot.yml", null);
    await h.receive("issue_comment", commentPayload(body, { author: "mallory" }));
  };
}

const REFUSALS: Refusal[] = [
  { action: "/kanbot run", says: /may start a kanbot task/, send: byComment("/kanbot run codex") },
  { action: "/kanbot cancel", says: /may cancel a kanbot task/, send: byComment("/kanbot cancel") },
  { action: "/kanbot retry", says: /may retry a kanbot task/, send: byComment("/kanbot retry") },
  {
    action: "/kanbot status",
    says: /may ask kanbot for status/,
    send: byComment("/kanbot status"),
  },
  {
    action: "/kanbot ready",
    says: /may mark a kanbot pull request ready without checks/,
    send: byComment("/kanbot ready"),
  },
  {
    action: "the trigger label",
    says: /may start a kanbot task/,
    async send(h, ghp) {
      ghp.file(REPO, ".github/kanbot.yml", null);
      // Read together with the permission; a refusal uses none of them and writes nothing else.
      labelTriggerReads(ghp);
      await h.receive("issues", labeledPayload({ sender: "mallory" }));
    },
  },
  {
    action: "removing the state label",
    says: /may cancel a kanbot task/,
    async send(h, ghp) {
      ghp.file(REPO, ".github/kanbot.yml", null);
      await h.receive("issues", unlabeledPayload("agent:queued", { sender: "mallory" }));
    },
  },
  {
    action: "a card moved to Ready",
    says: /may start a kanbot task/,
    async send(h, ghp) {
      ghp.resolveItem("PVTI_card1", {
        project: { owner: REPO.owner, number: 7 },
        issue: issueRef(1),
        values: { Status: "Ready" },
      });
      ghp.file(REPO, ".github/kanbot.yml", "board:\n  project: 7\n");
      await h.receive(
        "projects_v2_item",
        cardMovedPayload("PVTI_card1", issueRef(1), { sender: "mallory" }),
      );
    },
  },
];

describe("a person below the minimum permission", () => {
  const gh = setupGitHubMock();
  const ghp = portMocks(gh);

  it.each(REFUSALS)(
    "is refused for $action with a short reply, and the task is left as it was",
    async ({ says, send }) => {
      // A queued task, started by alice.
      const h = await createHarness(gh);
      triggerMocks(gh, ghp);
      await h.receive("issues", labeledPayload());
      await h.drain();
      // mallory can read the repository, no more.
      ghp.permission(REPO, "mallory", "read");
      ghp.createComment(issueRef(1), {
        body: new RegExp(
          `^@mallory kanbot did nothing: only people with at least \`write\` permission on this repository ${says.source}, and you have \`read\` permission`,
        ),
      });

      await send(h, ghp);
      await h.drain();

      const task = await h.store.findTask("Codertocat/Hello-World", 1);
      expect(task).toMatchObject({ state: "queued", agent: "claude", startedBy: "alice" });
      expect(await h.store.listJobs(task?.id ?? 0)).toMatchObject([{ status: "queued" }]);
      expect((await h.store.listDeliveries()).map((delivery) => delivery.status)).toEqual([
        "done",
        "done",
      ]);
      await h.close();
    },
  );
});
