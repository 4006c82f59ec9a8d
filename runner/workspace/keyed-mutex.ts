/**
 * An in-process async mutex keyed by a string (a worktree or mirror path), as vibe-kanban's
 * worktree manager serialises operations per path. Callers queue in order; a failing operation
 * releases the key like a successful one. Not re-entrant: never take the same key twice in one
 * chain. Git's own lock files serialise with other processes (see `retryOnLock`).
 */
export class KeyedMutex {
  private readonly tails = new Map<string, Promise<void>>();

  /** Runs `operation` once every earlier operation on `key` has settled. */
  async run<T>(key: string, operation: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    let release: () => void = () => undefined;
    const current = new Promise<void>((resolve) => {
      release = resolve;
    });
    const tail = previous.then(() => current);
    this.tails.set(key, tail);
    try {
      await previous;
      return await operation();
    } finally {
      release();
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }

  /** Whether an operation on `key` is running or queued. */
  isLocked(key: string): boolean {
    return this.tails.has(key);
  }
}
