/**
 * The published package works for both module systems: the real `tsup` build is made once,
 * then separate Node processes `require()` and `import()` it — by file and by the package
 * name through the `exports` map, as a host application would.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { build } from 'tsup';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cjsRuntimeOptions, esmOnlyDependencies } from '../../tsup.config.js';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../..', import.meta.url));
const dist = join(root, 'dist');
/** Entry points built for both module systems; `multipop/testing/vitest` is ESM only. */
const DUAL_SUBPATHS = [
  'multipop',
  'multipop/pop3',
  'multipop/sqlite',
  'multipop/testing',
  'multipop/postgres',
  'multipop/bullmq',
  'multipop/ports',
] as const;

/** What a child process reports about one module. */
interface Probe {
  keys: string[];
  server?: unknown;
}

// The probe runs in a fresh Node: what it prints is what a consumer would get.
const probeBody = `
  const keys = Object.keys(m).filter((k) => k !== 'default' && k !== '__esModule').sort();
  const out = { keys };
  if (typeof m.parseServerSettings === 'function') out.server = m.parseServerSettings({ schedule: { mode: 'interval', minutes: 5 } }).schedule;
  process.stdout.write(JSON.stringify(out));
`;

async function requireIn(cwd: string, specifier: string): Promise<Probe> {
  const { stdout } = await run(
    process.execPath,
    ['-e', `const m = require(${JSON.stringify(specifier)});${probeBody}`],
    { cwd },
  );
  return JSON.parse(stdout) as Probe;
}

async function importIn(cwd: string, specifier: string): Promise<Probe> {
  const script = `const m = await import(${JSON.stringify(specifier)});${probeBody}`;
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { cwd });
  return JSON.parse(stdout) as Probe;
}

let consumer: string;

beforeAll(async () => {
  await run(join(root, 'node_modules', '.bin', 'tsup'), [], { cwd: root, maxBuffer: 16 * 1024 * 1024 });
  // A host project whose node_modules/multipop is this package (like `npm install multipop`).
  consumer = await mkdtemp(join(tmpdir(), 'multipop-consumer-'));
  await mkdir(join(consumer, 'node_modules'));
  await symlink(root, join(consumer, 'node_modules', 'multipop'), 'dir');
}, 300_000);

afterAll(async () => {
  if (consumer) await rm(consumer, { recursive: true, force: true });
});

describe('dual ESM + CJS build', () => {
  const schedule = { mode: 'interval', minutes: 5 };

  it('dist/index.cjs can be required and dist/index.js imported, and both work', async () => {
    const cjs = await requireIn(root, join(dist, 'index.cjs'));
    const esm = await importIn(root, join(dist, 'index.js'));
    expect(cjs.server).toEqual(schedule);
    expect(esm.server).toEqual(schedule);
    expect(cjs.keys).toEqual(esm.keys);
    expect(cjs.keys).toEqual(
      expect.arrayContaining([
        'MultiPopError',
        'ErrorCodes',
        'parseServerSettings',
        'parseConfig',
        'MultiPopFetcher',
      ]),
    );
  });

  it.each(DUAL_SUBPATHS)(
    '%s resolves by name through the exports map, in CJS and ESM alike',
    async (specifier) => {
      const cjs = await requireIn(consumer, specifier);
      const esm = await importIn(consumer, specifier);
      expect(cjs.keys).toEqual(esm.keys);
      expect(esm.keys.length).toBeGreaterThan(0);
      if (specifier === 'multipop') {
        expect(cjs.server).toEqual(schedule);
        expect(esm.server).toEqual(schedule);
      }
    },
  );

  it('multipop/testing/vitest is ESM only (vitest is): import() works, require() says it is not exported', async () => {
    const esm = await importIn(consumer, 'multipop/testing/vitest');
    expect(esm.keys).toEqual([
      'runDirectoryContract',
      'runLedgerContract',
      'runLocalQueueContract',
      'runTokenStoreContract',
    ]);
    await expect(requireIn(consumer, 'multipop/testing/vitest')).rejects.toThrow(
      /ERR_PACKAGE_PATH_NOT_EXPORTED/,
    );
  });

  it('package.json is exported, and deep imports are not', async () => {
    const { stdout } = await run(
      process.execPath,
      ['-e', "process.stdout.write(require('multipop/package.json').name)"],
      {
        cwd: consumer,
      },
    );
    expect(stdout).toBe('multipop');
    await expect(
      run(process.execPath, ['-e', "require('multipop/dist/index.cjs')"], { cwd: consumer }),
    ).rejects.toThrow(/ERR_PACKAGE_PATH_NOT_EXPORTED/);
  });

  it('no CJS file requires an ESM-only dependency (they are bundled there)', async () => {
    const files = (await readdir(dist, { recursive: true })).filter((name) => name.endsWith('.cjs'));
    expect(files).toEqual(
      expect.arrayContaining([
        'index.cjs',
        join('pop3', 'index.cjs'),
        join('sqlite', 'index.cjs'),
        join('testing', 'index.cjs'),
      ]),
    );
    for (const file of files) {
      const text = await readFile(join(dist, file), 'utf8');
      for (const dependency of esmOnlyDependencies)
        expect(text, file).not.toMatch(new RegExp(`require\\(["']${dependency}["']\\)`));
    }
  });
});

describe('the CJS options make ESM-only dependencies usable from require()', () => {
  let outDir: string;
  afterAll(async () => {
    if (outDir) await rm(outDir, { recursive: true, force: true });
  });

  it('a CJS build of code importing p-queue and oauth4webapi runs', async () => {
    outDir = await mkdtemp(join(tmpdir(), 'multipop-cjs-fixture-'));
    await build({
      ...cjsRuntimeOptions,
      entry: { fixture: join(root, 'test/package/fixtures/esm-only-dependencies.ts') },
      outDir,
      silent: true,
      config: false,
    });
    // Run from the project root so anything left external would resolve from node_modules.
    const script = `require(${JSON.stringify(join(outDir, 'fixture.cjs'))}).useEsmOnlyDependencies()
      .then((r) => process.stdout.write(JSON.stringify(r)), (e) => { console.error(e); process.exit(1); });`;
    const { stdout } = await run(process.execPath, ['-e', script], { cwd: root });
    const result = JSON.parse(stdout) as { queued: number; challenge: string };
    expect(result.queued).toBe(42);
    expect(result.challenge).toMatch(/^[A-Za-z0-9_-]{43}$/);
  }, 60_000);
});
