import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = (path: string) => fileURLToPath(new URL(`./src/${path}`, import.meta.url));

export default defineConfig({
  resolve: {
    // Examples and tests import the package by its public name, resolved to the source here
    // (tsx does the same through tsconfig `paths`); the built output is tested separately.
    alias: [
      { find: /^multipop\/testing\/vitest$/, replacement: src('testing/vitest.ts') },
      { find: /^multipop\/testing$/, replacement: src('testing/index.ts') },
      { find: /^multipop\/sqlite$/, replacement: src('sqlite/index.ts') },
      { find: /^multipop\/pop3$/, replacement: src('pop3/index.ts') },
      { find: /^multipop\/postgres$/, replacement: src('postgres/index.ts') },
      { find: /^multipop\/bullmq$/, replacement: src('bullmq/index.ts') },
      { find: /^multipop\/ports$/, replacement: src('ports/index.ts') },
      { find: /^multipop$/, replacement: src('index.ts') },
    ],
  },
  test: {
    include: ['test/**/*.test.ts', 'examples/**/*.test.ts'],
    // Generous for real servers on a busy machine; a unit test that needs this long is broken.
    testTimeout: 30_000,
    // beforeAll starts servers (Dovecot, oidc-provider); the package test builds with tsup
    // and sets its own, longer hook timeout.
    hookTimeout: 60_000,
    // Real servers start per file on free loopback ports, so files may run side by side.
    // Forks (not threads): native modules (better-sqlite3) and process-wide state such as
    // process.on('exit') clean-up stay per file.
    pool: 'forks',
    fileParallelism: true,
    // The machines (developer and CI) have 2 cores; more workers only make real-server tests
    // time out. Vitest's own default would be one worker on 2 cores.
    maxWorkers: 2,
    // oidc-provider 9 (the test authorization server) prints this once per process on any Node
    // older than 22 LTS: its support policy, read from process.release.lts, not a feature it
    // lacks — every OAuth test passes on Node 20, the runtime multipop targets. Only the
    // 8.x line would not print it. Nothing else is filtered.
    onConsoleLog: (log) => !log.includes('oidc-provider WARNING: Unsupported runtime.'),
  },
});
