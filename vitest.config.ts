import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['packages/*/test/**/*.test.ts', 'bench/test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Two cores: keep the pool small so suites with real processes do not starve each other.
    maxWorkers: 2,
    // The relay's PostgreSQL suites: one reachability check per run (skip line, or fail in CI).
    globalSetup: ['packages/relay/test/pg-global-setup.ts'],
    reporters: ['default', './vitest.summary-reporter.ts'],
  },
});
