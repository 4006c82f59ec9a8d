/**
 * `kanbot_gate.recheck`: the no-checks wait of a PR head ended without a check event deciding
 * the gate (recorded by the runtime's once-a-minute sweep, src/inbox/internal-events.ts). The
 * gate decides again; with still no checks on the head it passes, saying so.
 */
import type { KanbotGatePayload } from "../inbox/internal-events.js";
import { runGate } from "../tasks/apply.js";
import type { HandlerContext } from "./handler-context.js";

export async function onKanbotGate(ctx: HandlerContext, payload: KanbotGatePayload): Promise<void> {
  await runGate(ctx, payload.taskId, payload.headSha);
}
