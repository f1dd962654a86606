import { defineConfig } from 'tsup';

// Entry points mirror the package's subpath exports.
const entry = {
  index: 'src/index.ts',
  'testing/index': 'src/testing/index.ts',
  'sqlite/index': 'src/sqlite/index.ts',
};

// p-queue and oauth4webapi ship ESM only. A CommonJS consumer cannot `require()` them on
// Node 20, so the CJS build bundles them; the ESM build keeps every dependency external
// (see ../shared/design/decisions.md, D2).
const esmOnlyDependencies = ['p-queue', 'oauth4webapi'];

export default defineConfig([
  {
    entry,
    format: ['esm'],
    dts: true,
    sourcemap: true,
    clean: true,
    target: 'node20',
    platform: 'node',
    splitting: true,
  },
  {
    entry,
    format: ['cjs'],
    dts: true,
    sourcemap: true,
    target: 'node20',
    platform: 'node',
    noExternal: esmOnlyDependencies,
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
