import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = (path: string) => fileURLToPath(new URL(`./src/${path}`, import.meta.url));

export default defineConfig({
  resolve: {
    // Examples and tests import the package by its public name, resolved to the source here
    // (tsx does the same through tsconfig `paths`); the built output is tested separately.
    alias: [
      { find: /^multipop\/testing$/, replacement: src('testing/index.ts') },
      { find: /^multipop\/sqlite$/, replacement: src('sqlite/index.ts') },
      { find: /^multipop$/, replacement: src('index.ts') },
    ],
  },
  test: {
    include: ['test/**/*.test.ts', 'examples/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Real servers (Dovecot, oidc-provider) start per file on free loopback ports.
    pool: 'forks',
    fileParallelism: true,
  },
});
