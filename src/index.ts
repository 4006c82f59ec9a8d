import type { ApplicationFunction } from "probot";
import { recordDelivery } from "./handlers/record-delivery.js";
import type { JobStore } from "./store/index.js";

/** What the app function needs; built by `startApp` (src/main.ts) or by a test. */
export interface AppDependencies {
  store: JobStore;
}

/**
 * The Probot app function: wiring only (STYLE.md). Every verified delivery goes into the durable
 * inbox; the inbox worker and the event handlers are wired here as they are built.
 */
export default function kanbotApp(deps: AppDependencies): ApplicationFunction {
  return (app) => {
    app.onAny(async (context) => {
      await recordDelivery(
        deps.store,
        { id: context.id, name: context.name, payload: context.payload },
        app.log,
      );
    });
  };
}
