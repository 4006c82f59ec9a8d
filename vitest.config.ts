import { defineConfig } from "vitest/config";

// Three layers (DESIGN section 10): unit (pure, fast), integration (Probot + nock, real SQLite,
// real git, real child processes) and e2e (the GitHub simulator and real processes).
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "unit",
          include: ["test/unit/**/*.test.ts"],
        },
      },
      {
        test: {
          name: "integration",
          include: ["test/integration/**/*.test.ts"],
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
      {
        test: {
          // Real app and runner processes against the GitHub simulator (test/simulator/).
          name: "e2e",
          include: ["test/e2e/**/*.test.ts"],
          testTimeout: 240_000,
          hookTimeout: 120_000,
        },
      },
      {
        test: {
          // Crashes and outages of real app and runner processes on the simulator (issue 13);
          // `npm run chaos` runs the full size.
          name: "chaos",
          include: ["test/chaos/**/*.test.ts"],
          testTimeout: 300_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
