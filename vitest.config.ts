import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'examples/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Real servers (Dovecot, oidc-provider) start per file on free loopback ports.
    pool: 'forks',
    fileParallelism: true,
  },
});
