/**
 * A Probot instance for tests: a throwaway RSA key generated at runtime, a fixed app id and
 * webhook secret, Octokit without retries or throttling (a failing request fails at once, and no
 * timer outlives the test) and a silent logger. Pair it with the strict GitHub mock:
 *
 *   const gh = setupGitHubMock();
 *   const { receive } = await createTestProbot({ app: kanbotApp, baseUrl: gh.baseUrl });
 */
import { createHmac, generateKeyPairSync } from "node:crypto";
import { pino, type Logger } from "pino";
import { Probot, ProbotOctokit, type ApplicationFunction } from "probot";
import { GITHUB_API_URL } from "./github-mock.js";

export const TEST_APP_ID = 123456;
export const TEST_WEBHOOK_SECRET = "kanbot-test-webhook-secret";
export const TEST_INSTALLATION_ID = 1;

/** Every webhook event Probot knows, as `probot.receive()` takes it. */
export type WebhookEvent = Parameters<Probot["receive"]>[0];
/** A webhook event name, e.g. `issues` or `issue_comment`. */
export type WebhookName = WebhookEvent["name"];
/** The payload of the `name` event, as Probot types it. */
export type WebhookPayload<Name extends WebhookName> = Extract<
  WebhookEvent,
  { name: Name }
>["payload"];

export interface TestProbotOptions {
  /** The app under test; loaded before `createTestProbot` resolves. */
  app?: ApplicationFunction;
  /** REST base URL: `gh.baseUrl` of the mock (github.com by default, or a GHES base). */
  baseUrl?: string;
  appId?: number;
  /** A logger to see the app's logs while debugging a test; silent by default. */
  log?: Logger;
}

export interface TestProbot {
  probot: Probot;
  appId: number;
  privateKey: string;
  webhookSecret: string;
  /** Delivers a webhook event to the app, as GitHub would (without a signature check). */
  receive<Name extends WebhookName>(
    name: Name,
    payload: WebhookPayload<Name>,
    id?: string,
  ): Promise<void>;
  /**
   * Delivers a webhook event through Probot's signature check: the payload is serialised and
   * signed with `signature` or, by default, a valid HMAC of the test secret.
   */
  receiveSigned(
    name: WebhookName,
    payload: unknown,
    options?: { id?: string; signature?: string },
  ): Promise<void>;
}

let privateKey: string | undefined;

/** A 2048-bit RSA private key (PKCS#1 PEM, as GitHub issues them), generated once per test file. */
export function testPrivateKey(): string {
  privateKey ??= generateKeyPairSync("rsa", {
    modulusLength: 2048,
    privateKeyEncoding: { type: "pkcs1", format: "pem" },
    publicKeyEncoding: { type: "spki", format: "pem" },
  }).privateKey;
  return privateKey;
}

/** The `X-Hub-Signature-256` header GitHub would send for `body`. */
export function signWebhook(body: string, secret = TEST_WEBHOOK_SECRET): string {
  return `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;
}

/** Octokit's constructor options, as Probot's types name them. */
type OctokitOptions = NonNullable<ConstructorParameters<typeof ProbotOctokit>[0]>;

/**
 * Octokit as tests want it: no retries, no throttling, no waiting. A function rather than
 * Probot's documented `defaults({ throttle: { enabled: false } })`: Probot 14 passes its own
 * `throttle` options to the class it is given, which would replace that object and turn
 * throttling back on (every write request would then wait a second or more).
 */
export const TestOctokit = ProbotOctokit.defaults((options: OctokitOptions) => ({
  ...options,
  retry: { ...options.retry, enabled: false },
  throttle: { ...options.throttle, enabled: false },
}));

let deliveries = 0;

/**
 * A Probot for one test, with `options.app` loaded. Create one per test: Probot caches
 * installation tokens, so a shared instance would skip the token request in later tests.
 */
export async function createTestProbot(options: TestProbotOptions = {}): Promise<TestProbot> {
  const appId = options.appId ?? TEST_APP_ID;
  const key = testPrivateKey();
  const probot = new Probot({
    appId,
    privateKey: key,
    secret: TEST_WEBHOOK_SECRET,
    baseUrl: options.baseUrl ?? GITHUB_API_URL,
    Octokit: TestOctokit,
    log: options.log ?? pino({ level: "silent" }),
  });
  if (options.app !== undefined) {
    await probot.load(options.app);
  }

  function nextId(): string {
    deliveries++;
    return `00000000-0000-4000-8000-${String(deliveries).padStart(12, "0")}`;
  }

  async function receive<Name extends WebhookName>(
    name: Name,
    payload: WebhookPayload<Name>,
    id = nextId(),
  ): Promise<void> {
    // Probot's event union cannot be narrowed by a generic name; the pair is checked by the signature.
    const event = { id, name, payload } as WebhookEvent;
    await probot.receive(event);
  }

  async function receiveSigned(
    name: WebhookName,
    payload: unknown,
    delivery: { id?: string; signature?: string } = {},
  ): Promise<void> {
    const body = JSON.stringify(payload);
    await probot.webhooks.verifyAndReceive({
      id: delivery.id ?? nextId(),
      name,
      payload: body,
      signature: delivery.signature ?? signWebhook(body),
    });
  }

  return {
    probot,
    appId,
    privateKey: key,
    webhookSecret: TEST_WEBHOOK_SECRET,
    receive,
    receiveSigned,
  };
}
