/**
 * Compiles the TypeScript contenders into plain JavaScript once per benchmark run, so every
 * contender starts as `node file.mjs` and no TypeScript loader's start-up is measured.
 * The bundles go to `bench/compare/.build/` (git-ignored); npm packages stay external and
 * resolve from the project's node_modules.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The benchmark's own directory (bench/compare). */
export const benchDir = fileURLToPath(new URL('.', import.meta.url));
/** The project root. */
export const rootDir = join(benchDir, '..', '..');
/** Where bundles are written. */
export const buildDir = join(benchDir, '.build');

/**
 * Bundles `entry` (a path relative to the project root) to `.build/<name>.mjs` and returns
 * the output path. The package's own name resolves to its source, as under tsx and vitest.
 *
 * @example
 * ```ts
 * const rawClient = await bundle('bench/compare/raw-client.ts', 'raw-client');
 * ```
 */
export async function bundle(entry: string, name: string): Promise<string> {
  // esbuild comes with tsup (a devDependency); imported lazily so the rest of the benchmark
  // does not need it.
  const { build, stop } = await import('esbuild');
  await mkdir(buildDir, { recursive: true });
  const outfile = join(buildDir, `${name}.mjs`);
  await build({
    entryPoints: [join(rootDir, entry)],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    alias: {
      'multipop/sqlite': join(rootDir, 'src/sqlite/index.ts'),
      'multipop/testing': join(rootDir, 'src/testing/index.ts'),
      multipop: join(rootDir, 'src/index.ts'),
    },
    // A bundle of ESM that calls require() (CommonJS dependencies inlined) needs one.
    banner: {
      js: "import { createRequire as __benchCreateRequire } from 'node:module'; const require = __benchCreateRequire(import.meta.url);",
    },
    logLevel: 'error',
  }).finally(() => stop());
  return outfile;
}
