import { defineConfig, type Options } from 'tsup';

// Entry points mirror the package's subpath exports. `multipop/testing` (no test framework)
// is built for both module systems; `multipop/testing/vitest` is ESM only: it imports vitest,
// which refuses to load from CommonJS.
const dualEntry = {
  index: 'src/index.ts',
  'sqlite/index': 'src/sqlite/index.ts',
  'pop3/index': 'src/pop3/index.ts',
  'testing/index': 'src/testing/index.ts',
  'postgres/index': 'src/postgres/index.ts',
  'bullmq/index': 'src/bullmq/index.ts',
  'ports/index': 'src/ports/index.ts',
};
const esmEntry = { ...dualEntry, 'testing/vitest': 'src/testing/vitest.ts' };

/**
 * p-queue and oauth4webapi ship ESM only. A CommonJS consumer cannot `require()` them on
 * Node 20, so the CJS build bundles them; the ESM build keeps every dependency external
 * (shared/design/decisions.md, D2). test/package/dual-build.test.ts proves both at run time.
 */
export const esmOnlyDependencies = ['p-queue', 'oauth4webapi'];

/** The options that make a CommonJS build work at run time; shared with the package test. */
export const cjsRuntimeOptions = {
  format: ['cjs'],
  target: 'node20',
  platform: 'node',
  noExternal: esmOnlyDependencies,
  // import.meta.url for the few modules that need their own location (src/sqlite/driver.ts).
  shims: true,
} satisfies Options;

export default defineConfig([
  {
    entry: esmEntry,
    format: ['esm'],
    dts: true,
    sourcemap: true,
    clean: true,
    target: 'node20',
    platform: 'node',
    splitting: true,
  },
  {
    ...cjsRuntimeOptions,
    entry: dualEntry,
    dts: true,
    sourcemap: true,
  },
  {
    entry: { 'cli/main': 'src/cli/main.ts' },
    format: ['esm'],
    sourcemap: true,
    target: 'node20',
    platform: 'node',
    banner: { js: '#!/usr/bin/env node' },
  },
]);
