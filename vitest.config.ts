import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Two cores: more parallel files only adds contention to the loopback servers.
    maxWorkers: 2,
    // Tests that start servers, browsers and processes share two cores; one retry absorbs a
    // scheduling stall without hiding a real failure (which fails twice).
    retry: 1,
  },
});
