import { defineConfig } from "vitest/config";

// Tiers (HOUSE-STYLE rule 10): unit tests have no I/O, integration tests run on a real PostgreSQL (and
// PGlite) with real migrations, e2e tests drive the whole system over HTTP, browser tests drive the web
// app in Debian's chromium through playwright-core. Scale tests start the services as separate processes
// (test/scale): many calls, killed workers, a restarted PostgreSQL, failing providers and storage.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "unit",
          include: ["services/**/*.test.ts", "shared/**/*.test.ts", "scripts/**/*.test.ts"],
          exclude: ["**/*.int.test.ts", "**/node_modules/**"],
        },
      },
      {
        test: {
          name: "integration",
          include: [
            "services/**/*.int.test.ts",
            "shared/**/*.int.test.ts",
            "test/integration/**/*.int.test.ts",
          ],
          globalSetup: ["test/harness/global-setup.ts"],
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      },
      {
        test: {
          name: "e2e",
          include: ["test/e2e/**/*.e2e.test.ts"],
          globalSetup: ["test/harness/global-setup.ts"],
          testTimeout: 180_000,
          hookTimeout: 180_000,
          fileParallelism: false,
        },
      },
      {
        test: {
          name: "browser",
          include: ["test/browser/**/*.browser.test.ts"],
          globalSetup: ["test/harness/global-setup.ts"],
          testTimeout: 180_000,
          hookTimeout: 180_000,
          fileParallelism: false,
        },
      },
      {
        test: {
          name: "scale",
          include: ["test/scale/**/*.scale.test.ts"],
          testTimeout: 300_000,
          hookTimeout: 180_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
