/**
 * Wakes waiting long-poll claims when a job may have become claimable, one at a time.
 *
 * The store's `onJobQueued` (an in-process event, plus LISTEN/NOTIFY across Postgres replicas)
 * calls `notify()` once per queued job (once per sweep that requeued jobs). Each notify is one
 * wake-up, handed to the claim that has waited longest (FIFO by the time it joined the line), not
 * to every waiting claim: with 50 runners waiting, one claim transaction per job instead of 50.
 *
 * The signal does not say which job it is for, so a woken claim that finds nothing it can take
 * (the job needs another agent, label or repository, or someone else took it) passes the wake-up
 * on to the next waiter in line. A wake-up skips the waiters whose capabilities are within those
 * of a claim that already found nothing for it (they would find nothing too), and is dropped once
 * no waiter is left that might take the job. A claim that is between tries when a notify comes
 * (not waiting, so not in the line's hands) sees the generation change and tries again at once.
 *
 * What a lost signal costs is bounded by the claim's wait: a claim whose wait times out tries the
 * queue once more before it answers 204, and the runner's next claim tries it first.
 */

/** What a claim can take (the store's `RunnerCapabilities` without the runner id). */
export interface ClaimCapabilities {
  readonly agents: readonly string[];
  readonly labels: readonly string[];
  /** Empty: every repository. */
  readonly repos: readonly string[];
}

export interface QueueSignal {
  /** Changes every time a job may have been queued. */
  readonly generation: number;
  /** Claims waiting right now. */
  readonly waiting: number;
  /** Takes a place at the end of the line for one claim; `leave()` it when the claim ends. */
  join(capabilities: ClaimCapabilities): QueuePlace;
  /** A job may be claimable: wakes the first waiter in line that might take it. */
  notify(): void;
}

/**
 * One claim's place in line. Per try: `trying()`, then the try, then `claimed()` or
 * `foundNothing()`, then `wait()` if the claim goes on waiting.
 */
export interface QueuePlace {
  /** Before each try at the queue: a notify after this makes the next `wait` return at once. */
  trying(): void;
  /** The try claimed a job: the wake-up this claim holds, if any, is used up. */
  claimed(): void;
  /** The try found nothing this claim can take: a wake-up it holds goes on to the next waiter. */
  foundNothing(): void;
  /**
   * Waits in line. Resolves `true` for a wake-up (at once if a notify came since `trying()`),
   * `false` after `timeoutMs` or when `signal` aborts.
   */
  wait(timeoutMs: number, signal: AbortSignal): Promise<boolean>;
  /** Leaves the line; a wake-up still held (woken, then gone before trying) is passed on. */
  leave(): void;
}

/** One notify travelling down the line. */
interface WakeUp {
  /** Places it was handed to. */
  readonly visited: Set<Place>;
  /** Capabilities of the claims that tried and found nothing for it. */
  readonly tried: ClaimCapabilities[];
}

interface Place {
  readonly capabilities: ClaimCapabilities;
  /** Set while waiting: hands the place a wake-up. */
  wake: ((wakeUp: WakeUp) => void) | undefined;
}

export function createQueueSignal(): QueueSignal {
  let generation = 0;
  let waiting = 0;
  /** Every claim in line, waiting or trying, in the order they joined (a Set keeps it). */
  const line = new Set<Place>();

  /** Hands `wakeUp` to the first waiter that might take its job; drops it when none is left. */
  function deliver(wakeUp: WakeUp): void {
    for (const place of line) {
      if (place.wake === undefined || wakeUp.visited.has(place)) continue;
      if (wakeUp.tried.some((found) => within(place.capabilities, found))) continue;
      wakeUp.visited.add(place);
      place.wake(wakeUp);
      return;
    }
  }

  function notify(): void {
    generation++;
    deliver({ visited: new Set(), tried: [] });
  }

  function join(capabilities: ClaimCapabilities): QueuePlace {
    const place: Place = { capabilities, wake: undefined };
    line.add(place);
    let seen = generation;
    let held: WakeUp | undefined;

    function passOn(tried: boolean): void {
      const wakeUp = held;
      held = undefined;
      if (wakeUp === undefined) return;
      if (tried) wakeUp.tried.push(capabilities);
      deliver(wakeUp);
    }

    return {
      trying() {
        seen = generation;
      },
      claimed() {
        held = undefined;
      },
      foundNothing() {
        passOn(true);
      },
      wait(timeoutMs, signal) {
        if (generation !== seen) return Promise.resolve(true);
        if (signal.aborted || timeoutMs <= 0 || !line.has(place)) return Promise.resolve(false);
        return new Promise<boolean>((resolve) => {
          const finish = (woken: boolean) => {
            clearTimeout(timer);
            signal.removeEventListener("abort", onAbort);
            place.wake = undefined;
            waiting--;
            resolve(woken);
          };
          const onAbort = () => finish(false);
          const timer = setTimeout(() => finish(false), timeoutMs);
          signal.addEventListener("abort", onAbort, { once: true });
          place.wake = (wakeUp) => {
            held = wakeUp;
            finish(true);
          };
          waiting++;
        });
      },
      leave() {
        line.delete(place);
        passOn(false);
      },
    };
  }

  return {
    get generation() {
      return generation;
    },
    get waiting() {
      return waiting;
    },
    join,
    notify,
  };
}

/** True when every job `inner` can take, `outer` can take too. */
function within(inner: ClaimCapabilities, outer: ClaimCapabilities): boolean {
  const subset = (a: readonly string[], b: readonly string[]) => a.every((v) => b.includes(v));
  const repos =
    outer.repos.length === 0 || (inner.repos.length > 0 && subset(inner.repos, outer.repos));
  return repos && subset(inner.agents, outer.agents) && subset(inner.labels, outer.labels);
}
