/**
 * One /proc scan per tick for every running command. Each command tracked here gets the same
 * process-table snapshot and derives its own descendants from it (proc.ts `descendantsOf`), so
 * ten running agents cost one scan per tick, not ten.
 *
 * - Scanning starts when the first command is tracked (with a scan at once) and stops when the
 *   last one is untracked; scans never overlap (the next tick is scheduled when a scan ends).
 * - The interval is `fastMs` (250 ms) and backs off to `slowMs` (1 s) once `stableScans`
 *   scans in a row found nothing new in any tracked tree; a newly tracked command or a new
 *   descendant brings it back to `fastMs`.
 * - {@link ProcessScanner.scanNow} is a fresh scan on demand (never a cached snapshot): the
 *   kill-time sweep uses it; it also feeds every tracked command.
 */
import { listProcesses, type ProcInfo } from "./proc.js";

/**
 * Called with each snapshot; returns whether the command saw a process it had not recorded
 * before (the tree changed), which keeps the scanner at its fast interval.
 */
export type SnapshotListener = (processes: readonly ProcInfo[]) => boolean;

export interface ProcessScannerOptions {
  /** Reads the process table (default: proc.ts `listProcesses`). */
  listProcesses?: () => Promise<ProcInfo[]>;
  /** Interval while trees change (default 250 ms). */
  fastMs?: number;
  /** Interval once trees have been stable for `stableScans` scans (default 1 s). */
  slowMs?: number;
  /** Scans in a row without a new process before backing off (default 8: 2 s at 250 ms). */
  stableScans?: number;
}

export class ProcessScanner {
  private readonly list: () => Promise<ProcInfo[]>;
  private readonly fastMs: number;
  private readonly slowMs: number;
  private readonly stableScans: number;
  private readonly listeners = new Set<SnapshotListener>();
  private timer: NodeJS.Timeout | undefined;
  private scanning = false;
  /** A command was tracked during a scan: scan again as soon as it ends. */
  private rescan = false;
  private stableFor = 0;
  private scanCount = 0;

  constructor(options: ProcessScannerOptions = {}) {
    this.list = options.listProcesses ?? listProcesses;
    this.fastMs = options.fastMs ?? 250;
    this.slowMs = options.slowMs ?? 1_000;
    this.stableScans = options.stableScans ?? 8;
  }

  /** How many scans of the process table this scanner made (ticks and `scanNow`). */
  get scans(): number {
    return this.scanCount;
  }

  /** Whether periodic scanning is on (some command is tracked). */
  get running(): boolean {
    return this.listeners.size > 0;
  }

  /** The interval to the next tick, as things stand. */
  get intervalMs(): number {
    return this.stableFor >= this.stableScans ? this.slowMs : this.fastMs;
  }

  /**
   * Feeds `listener` every snapshot until the returned function is called. A scan follows at
   * once (shared with anything else tracked in the same turn).
   */
  track(listener: SnapshotListener): () => void {
    this.listeners.add(listener);
    this.stableFor = 0;
    if (this.scanning) this.rescan = true;
    else this.schedule(0);
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0) this.stop();
    };
  }

  /** A fresh scan now (not a cached snapshot), fed to every tracked command and returned. */
  async scanNow(): Promise<ProcInfo[]> {
    const processes = await this.read();
    this.feed(processes);
    return processes;
  }

  private async read(): Promise<ProcInfo[]> {
    this.scanCount += 1;
    return this.list();
  }

  /** Gives the snapshot to every listener; true when one saw something new. */
  private feed(processes: readonly ProcInfo[]): boolean {
    let changed = false;
    for (const listener of [...this.listeners]) {
      if (listener(processes)) changed = true;
    }
    return changed;
  }

  private async tick(): Promise<void> {
    this.timer = undefined;
    if (this.listeners.size === 0) return;
    this.scanning = true;
    this.rescan = false;
    let changed = true;
    try {
      changed = this.feed(await this.read());
    } catch {
      // A failed read is like a scan that found nothing new; the next tick tries again.
      changed = false;
    } finally {
      this.scanning = false;
    }
    this.stableFor = changed ? 0 : this.stableFor + 1;
    if (this.listeners.size > 0) this.schedule(this.rescan ? 0 : this.intervalMs);
  }

  /** Sets the next tick `ms` from now, unless one is due sooner. */
  private schedule(ms: number): void {
    if (this.timer !== undefined) {
      if (ms > 0) return;
      clearTimeout(this.timer);
    }
    this.timer = setTimeout(() => void this.tick(), ms);
    this.timer.unref();
  }

  private stop(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.stableFor = 0;
  }
}

/** The runner's scanner, shared by every command it runs. */
export const sharedScanner = new ProcessScanner();
