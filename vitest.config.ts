import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // One PostgreSQL and one Temporal server for the whole run (see test/support/globalSetup.ts).
    globalSetup: 'test/support/globalSetup.ts',
    // Each file starts with no workflow of an earlier file still running on the shared queues.
    setupFiles: ['test/support/noLeftoverWorkflows.ts'],
    // Files run one at a time: they share those servers, some restart them mid-test, and the
    // machine the suite must fit on has two cores that the workers under test need too.
    fileParallelism: false,
    // Worker threads cannot host Temporal's native workers reliably; processes can, and a test
    // can crash one without taking the run down.
    pool: 'forks',
    testTimeout: 120_000,
    hookTimeout: 180_000,
    teardownTimeout: 60_000,
  },
});
