import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    setupFiles: ['test/helpers/isolate.ts'],
    // Real git, tmux and Claude Code processes: generous limits, and no more
    // files at once than the two cores of a CI machine can run without starving.
    testTimeout: 90_000,
    hookTimeout: 60_000,
    maxWorkers: 2,
    pool: 'forks',
  },
});
