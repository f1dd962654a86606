import { mkdir, mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import { build } from 'esbuild';
import { projectRoot } from './collector-command.js';

/**
 * Bundles an example (and the library source it imports through tsconfig `paths`) into one
 * plain ESM file, so suites that start it hundreds of times pay Node's start-up only — not a
 * TypeScript loader's. The native SQLite driver stays external.
 */
export async function bundleExample(
  relativePath: string,
  options: { packagesExternal?: boolean } = {},
): Promise<string> {
  // Inside the project (gitignored .tmp/), so the bundle resolves node_modules like the source does.
  await mkdir(join(projectRoot, '.tmp'), { recursive: true });
  const outdir = await mkdtemp(join(projectRoot, '.tmp', 'example-'));
  const outfile = join(outdir, 'main.mjs');
  await build({
    entryPoints: [join(projectRoot, relativePath)],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    tsconfig: join(projectRoot, 'tsconfig.json'),
    external: ['better-sqlite3'],
    // Leave every npm package to Node's resolution (the project's node_modules): only our source is bundled.
    ...(options.packagesExternal ? { packages: 'external' as const } : {}),
    // Bundled CommonJS dependencies may call require(); give the ESM bundle one.
    banner: {
      js: "import { createRequire as __multipopRequire } from 'node:module'; const require = __multipopRequire(import.meta.url);",
    },
    logLevel: 'error',
  });
  return outfile;
}
