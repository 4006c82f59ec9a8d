/**
 * State labels (DESIGN section 2): each state but `canceled` is mirrored to one label; the
 * trigger label `agent:ready` starts (or re-runs) a task and is replaced by the state label.
 */

import { TASK_STATES, type TaskState } from "./types.js";

/** The states that carry a label; a canceled task carries none. */
export type LabeledState = Exclude<TaskState, "canceled">;

export const LABELED_STATES = TASK_STATES.filter(
  (state): state is LabeledState => state !== "canceled",
);

export const DEFAULT_STATE_LABELS = {
  waiting: "agent:waiting",
  queued: "agent:queued",
  running: "agent:working",
  checks: "agent:checks",
  "needs-input": "agent:needs-input",
  review: "agent:review",
  done: "agent:done",
  blocked: "agent:blocked",
} as const satisfies Record<LabeledState, string>;

export const DEFAULT_TRIGGER_LABEL = "agent:ready";

/** The label names in use for one repository. */
export interface LabelNames {
  states: Record<LabeledState, string>;
  trigger: string;
}

/** The label part of a repository's config; every name is optional. */
export interface LabelOverrides {
  states?: Partial<Record<LabeledState, string>>;
  trigger?: string;
}

/**
 * The label names with the defaults filled in. Throws when two roles share one name (labels
 * compare case-insensitively on GitHub), since kanbot could then not tell the states apart; the
 * config schema should reject such a file earlier with {@link labelNameClashes}.
 */
export function resolveLabelNames(overrides: LabelOverrides = {}): LabelNames {
  const states: Record<LabeledState, string> = { ...DEFAULT_STATE_LABELS };
  for (const state of LABELED_STATES) {
    const name = overrides.states?.[state];
    if (name !== undefined) states[state] = name;
  }
  const names: LabelNames = { states, trigger: overrides.trigger ?? DEFAULT_TRIGGER_LABEL };
  const clashes = labelNameClashes(names);
  if (clashes.length > 0) {
    throw new Error(
      `kanbot label names must differ: ${clashes.join("; ")}. Give each state its own label in .github/kanbot.yml.`,
    );
  }
  return names;
}

/** Every pair of roles that share a label name, e.g. `"waiting" and "queued" both use "agent:x"`. */
export function labelNameClashes(names: LabelNames): string[] {
  const roles: [string, string][] = [
    ...LABELED_STATES.map((state): [string, string] => [state, names.states[state]]),
    ["trigger", names.trigger],
  ];
  const clashes: string[] = [];
  roles.forEach(([role, name], i) => {
    for (const [otherRole, otherName] of roles.slice(i + 1)) {
      if (sameLabel(name, otherName)) {
        clashes.push(`"${role}" and "${otherRole}" both use "${name}"`);
      }
    }
  });
  return clashes;
}

/** GitHub compares label names case-insensitively. */
export function sameLabel(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

/** The label for a state; `undefined` for `canceled`. */
export function stateLabel(state: TaskState, names: LabelNames): string | undefined {
  return state === "canceled" ? undefined : names.states[state];
}

/** The state a label stands for, or `undefined` when it is not a kanbot state label. */
export function stateForLabel(label: string, names: LabelNames): LabeledState | undefined {
  return LABELED_STATES.find((state) => sameLabel(names.states[state], label));
}

/** Whether `label` is one of kanbot's state labels (the trigger label is not). */
export function isStateLabel(label: string, names: LabelNames): boolean {
  return stateForLabel(label, names) !== undefined;
}

/** Whether `label` is the trigger label. */
export function isTriggerLabel(label: string, names: LabelNames): boolean {
  return sameLabel(label, names.trigger);
}

/** A label as GitHub's create-label call takes it. */
export interface LabelDefinition {
  name: string;
  /** Six hex digits, no `#`. */
  color: string;
  /** At most 100 characters (GitHub's limit). */
  description: string;
}

const STATE_LOOKS = {
  waiting: { color: "d4c5f9", description: "kanbot: accepted, waiting for open dependencies" },
  queued: { color: "c5def5", description: "kanbot: queued, waiting for a runner" },
  running: { color: "fbca04", description: "kanbot: a coding agent is working on this" },
  checks: { color: "0075ca", description: "kanbot: pull request open, checks running" },
  "needs-input": {
    color: "d93f0b",
    description: "kanbot: the agent asked a question; answer it on the issue",
  },
  review: { color: "0e8a16", description: "kanbot: checks passed, pull request awaits review" },
  done: { color: "6f42c1", description: "kanbot: pull request merged" },
  blocked: { color: "b60205", description: "kanbot: needs a human (see the progress comment)" },
} as const satisfies Record<LabeledState, { color: string; description: string }>;

const TRIGGER_LOOK = {
  color: "1d76db",
  description: "kanbot: add to hand this issue to a coding agent",
} as const;

/** The definition of a state's label, for creating it on first use; `undefined` for `canceled`. */
export function stateLabelDefinition(
  state: TaskState,
  names: LabelNames,
): LabelDefinition | undefined {
  if (state === "canceled") return undefined;
  return { name: names.states[state], ...STATE_LOOKS[state] };
}

/** Definitions of the trigger label and every state label. */
export function labelDefinitions(names: LabelNames): LabelDefinition[] {
  return [
    { name: names.trigger, ...TRIGGER_LOOK },
    ...LABELED_STATES.map((state) => ({ name: names.states[state], ...STATE_LOOKS[state] })),
  ];
}

/** The label edits that bring an issue to a state. Both lists use the names as GitHub has them. */
export interface LabelChange {
  add: string[];
  remove: string[];
}

/**
 * The label edits that mirror `to` on an issue that now carries `current`: every other state
 * label and the trigger label are removed, the target state's label is added unless present
 * (nothing is added for `canceled`). Planning from the labels the issue really carries, rather
 * than from the previous state, also cleans up labels left by a crash or a person.
 */
export function planLabelChange(
  current: readonly string[],
  to: TaskState,
  names: LabelNames,
): LabelChange {
  const target = stateLabel(to, names);
  const remove = current.filter(
    (label) =>
      isTriggerLabel(label, names) ||
      (isStateLabel(label, names) && (target === undefined || !sameLabel(label, target))),
  );
  const add =
    target === undefined || current.some((label) => sameLabel(label, target)) ? [] : [target];
  return { add, remove };
}

/** Whether a change does nothing. */
export function isEmptyLabelChange(change: LabelChange): boolean {
  return change.add.length === 0 && change.remove.length === 0;
}
