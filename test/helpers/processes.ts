/**
 * What is running on this machine, read from /proc as the test process sees it (outside any
 * sandbox): the tests use it to show that nothing a job started is left alive.
 */
import { readdirSync, readFileSync } from "node:fs";

/** Live processes whose command line holds `text` (zombies excluded), by pid. */
export function processesWith(text: string): number[] {
  return readdirSync("/proc")
    .filter((name) => /^\d+$/.test(name))
    .filter((name) => {
      try {
        const cmdline = readFileSync(`/proc/${name}/cmdline`, "utf8").replaceAll("\0", " ");
        const stat = readFileSync(`/proc/${name}/stat`, "utf8");
        return cmdline.includes(text) && !stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z");
      } catch {
        return false;
      }
    })
    .map(Number);
}
