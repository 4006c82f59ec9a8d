/**
 * GitHub's own example webhook payloads (`@octokit/webhooks-examples`), for delivering real
 * shapes to the app in tests instead of hand-written partial payloads.
 */
import { createRequire } from "node:module";
import { TEST_INSTALLATION_ID, type WebhookName, type WebhookPayload } from "./probot.js";

interface WebhookDefinition {
  name: string;
  examples: Record<string, unknown>[];
}

let definitions: WebhookDefinition[] | undefined;

function loadDefinitions(): WebhookDefinition[] {
  const require = createRequire(import.meta.url);
  definitions ??= require("@octokit/webhooks-examples") as WebhookDefinition[];
  return definitions;
}

/**
 * A deep copy of GitHub's first example of the `name` event (with `action`, when given), with an
 * `installation` (id {@link TEST_INSTALLATION_ID} unless the example has one) so the app can
 * authenticate as the installation. Change fields on the copy as the test needs.
 */
export function webhookExample<Name extends WebhookName>(
  name: Name,
  action?: string,
): WebhookPayload<Name> {
  const definition = loadDefinitions().find((candidate) => candidate.name === name);
  const example = definition?.examples.find(
    (candidate) => action === undefined || candidate.action === action,
  );
  if (example === undefined) {
    throw new Error(
      `@octokit/webhooks-examples has no example of ${name}${action === undefined ? "" : `.${action}`}; build the payload by hand`,
    );
  }
  const payload = structuredClone(example);
  payload.installation ??= {
    id: TEST_INSTALLATION_ID,
    node_id: "MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9uMQ==",
  };
  // The examples are GitHub's own payloads for this event; Probot's types describe the same JSON.
  return payload as unknown as WebhookPayload<Name>;
}
