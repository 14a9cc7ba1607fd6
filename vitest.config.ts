import { defineConfig } from 'vitest/config';
import SlowFirstSequencer from './test/slow-first-sequencer.js';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Builds dist/ when the sources changed: the CLI tests spawn the compiled CLI.
    globalSetup: ['test/global-setup.ts'],
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Two cores: more parallel files only adds contention to the loopback servers.
    maxWorkers: 2,
    // Long files first, so that both workers finish together (test/slow-first-sequencer.ts).
    sequence: { sequencer: SlowFirstSequencer },
    // trawl honours the proxy environment (docs/sessions.md): a machine's HTTP_PROXY must not
    // route the tests' loopback requests (or the CLIs they spawn) through a real proxy.
    env: { HTTP_PROXY: '', http_proxy: '', HTTPS_PROXY: '', https_proxy: '', NO_PROXY: '', no_proxy: '' },
  },
});
