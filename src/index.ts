import type { ApplicationFunction } from "probot";
import {
  createGitHubJobTokenBroker,
  createRunnerApi,
  gitHubWebUrl,
  runnerApiLimits,
  type RunnerApi,
} from "./api/index.js";
import type { Settings } from "./config/settings.js";
import { recordDelivery } from "./inbox/record-delivery.js";
import { createRuntime, type KanbotRuntime, type RuntimeOptions } from "./inbox/kanbot-runtime.js";
import type { JobStore } from "./store/index.js";
import { storeTokenKeeper } from "./tokens/token-keeper.js";
import { jobTokenKeyFromPrivateKey } from "./tokens/token-seal.js";

/** What the app function needs; built by `startApp` (src/main.ts) or by a test. */
export interface AppDependencies extends RuntimeOptions {
  store: JobStore;
  /** Receives the inbox worker and reconciliation; the caller starts and stops them. */
  onRuntime?: (runtime: KanbotRuntime) => void;
  /**
   * With settings, the runner API (/api/v1, DESIGN section 4) is mounted on Probot's server
   * through `addHandler` and handed to `onRunnerApi`; the caller starts and stops it. Tests that
   * run Probot without a server leave this out.
   */
  runnerApi?: {
    settings: Settings;
    /** The App's private key (PEM): job tokens are sealed at rest with a key derived from it. */
    privateKey: string;
    onRunnerApi: (api: RunnerApi) => void;
  };
}

/**
 * The Probot app function: wiring only (STYLE.md). Every verified delivery goes into the durable
 * inbox and the answer goes back to GitHub at once; the inbox worker (src/inbox/) replays the
 * recorded events through the handlers (src/handlers/).
 */
export default function kanbotApp(deps: AppDependencies): ApplicationFunction {
  return (app, options) => {
    const runtime = createRuntime(app, deps);
    app.onAny(async (context) => {
      await recordDelivery(
        deps.store,
        { id: context.id, name: context.name, payload: context.payload },
        app.log,
      );
      runtime.worker.wake();
    });
    deps.onRuntime?.(runtime);
    if (deps.runnerApi) {
      const { settings, privateKey, onRunnerApi } = deps.runnerApi;
      const api = createRunnerApi({
        store: deps.store,
        limits: runnerApiLimits(settings),
        log: app.log.child({ name: "runner-api" }),
        jobTokens: createGitHubJobTokenBroker({
          appOctokit: () => app.auth(),
          log: app.log,
          // Kept sealed in the store until the lease ends: any replica revokes them.
          keeper: storeTokenKeeper(deps.store, jobTokenKeyFromPrivateKey(privateKey)),
          ...(deps.writeBudgets === undefined ? {} : { writeBudgets: deps.writeBudgets }),
        }),
        githubWebUrl: gitHubWebUrl(settings),
        events: runtime.internal,
        resolveWorkspace: runtime.resolveWorkspace,
      });
      options.addHandler(api.handler);
      onRunnerApi(api);
    }
  };
}
