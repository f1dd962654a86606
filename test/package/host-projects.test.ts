/**
 * The package as an integrator gets it: built, packed with `npm pack`, and installed into fresh
 * host projects (test/package/fixtures/hosts/) — a vitest ESM host, a Jest CommonJS host, a
 * `node:test` ESM host and a plain `node` CommonJS script — and a TypeScript host that type-checks
 * against the installed declarations. Each loads the kit with no other test framework installed, runs
 * the LocalQueue contract on a sample queue of its own (and sees it fail on one that accepts a
 * key twice), and collects from the fake POP3 server into the SQLite store.
 *
 * "Installed": the tarball is unpacked into the host's node_modules/multipop, exactly the files
 * npm would put there; its dependencies are linked from this project's install (offline, and no
 * minute-long native build of better-sqlite3). Each host links only what it needs — the plain
 * node and Jest hosts have no vitest to fall back on.
 */
import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../..', import.meta.url));
const fixtures = join(root, 'test/package/fixtures/hosts');
const rootModules = join(root, 'node_modules');

let work: string;
let tarball: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'multipop-hosts-'));
  // Build into a copy of the package (not ./dist, which the dual-build test rebuilds meanwhile).
  const pkg = join(work, 'package');
  await mkdir(pkg);
  for (const file of ['package.json', 'README.md', 'LICENSE', 'docs'])
    await cp(join(root, file), join(pkg, file), { recursive: true });
  await run(join(rootModules, '.bin', 'tsup'), ['--out-dir', join(pkg, 'dist')], {
    cwd: root,
    maxBuffer: 16 * 1024 * 1024,
  });
  const { stdout } = await run('npm', ['pack', '--silent', '--pack-destination', work], { cwd: pkg });
  tarball = join(work, stdout.trim().split('\n').at(-1)!);
}, 300_000);

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

/** A host project: its fixture files, the unpacked tarball, and links to `linked` packages. */
let hosts = 0;
async function host(name: string, linked: string[]): Promise<string> {
  const dir = join(work, `${name}-${++hosts}`);
  await cp(join(fixtures, name), dir, { recursive: true });
  await cp(join(fixtures, 'shared'), dir, { recursive: true });
  const installed = join(dir, 'node_modules', 'multipop');
  await mkdir(installed, { recursive: true });
  await run('tar', ['-xzf', tarball, '-C', installed, '--strip-components=1']);
  const manifest = JSON.parse(await readFile(join(installed, 'package.json'), 'utf8')) as {
    dependencies: Record<string, string>;
  };
  for (const dep of [...Object.keys(manifest.dependencies), 'better-sqlite3', ...linked]) {
    await symlink(join(rootModules, dep), join(dir, 'node_modules', dep), 'dir');
  }
  return dir;
}

/** Test names that are about one key accepted twice. */
const aboutSameKey = (names: string[]) => names.filter((n) => /same (idempotency )?key/.test(n));

interface FrameworkReport {
  testResults: Array<{
    name: string;
    assertionResults: Array<{ title: string; status: string; failureMessages?: string[] }>;
  }>;
}

function byFile(
  report: FrameworkReport,
  file: string,
): FrameworkReport['testResults'][number]['assertionResults'] {
  const found = report.testResults.find((r) => r.name.endsWith(file));
  if (!found) throw new Error(`no results for ${file}`);
  return found.assertionResults;
}

function expectContractResults(report: FrameworkReport): void {
  const good = byFile(report, 'good.contract.test.js');
  expect(good.length).toBeGreaterThan(8);
  expect(good.filter((t) => t.status === 'failed')).toEqual([]);
  const bad = byFile(report, 'duplicating.contract.test.js');
  const failed = bad.filter((t) => t.status === 'failed').map((t) => t.title);
  expect(aboutSameKey(failed).length).toBeGreaterThanOrEqual(3);
  const collect = byFile(report, 'collect.test.js');
  expect(
    collect.map((t) => t.status),
    JSON.stringify(collect),
  ).toEqual(['passed']);
}

/** Runs a test framework that is expected to fail (the duplicating queue); returns its JSON report. */
async function runFramework(dir: string, args: string[], reportFile: string): Promise<FrameworkReport> {
  await run(process.execPath, args, { cwd: dir, maxBuffer: 16 * 1024 * 1024 }).then(
    () => {
      throw new Error('the run passed although the duplicating queue must fail');
    },
    (err: { code?: number }) => {
      if (err.code !== 1) throw err;
    },
  );
  return JSON.parse(await readFile(join(dir, reportFile), 'utf8')) as FrameworkReport;
}

describe('host projects installing the packed package', () => {
  it('the tarball ships the LICENSE, the docs, the builds and source maps that carry their sources; its demo runs', async () => {
    const { stdout } = await run('tar', ['-tzf', tarball]);
    const files = stdout.split('\n').filter(Boolean);
    expect(files).toEqual(
      expect.arrayContaining([
        'package/LICENSE',
        'package/README.md',
        'package/docs/getting-started.md',
        'package/dist/index.cjs',
      ]),
    );
    const dir = await host('node-cjs', []);
    const dist = join(dir, 'node_modules', 'multipop', 'dist');
    const maps = (await readdir(dist, { recursive: true })).filter(
      (f) => f.endsWith('.js.map') || f.endsWith('.cjs.map'),
    );
    expect(maps.length).toBeGreaterThan(4);
    let ownSources = 0;
    for (const map of maps) {
      const parsed = JSON.parse(await readFile(join(dist, map), 'utf8')) as {
        sources: string[];
        sourcesContent?: Array<string | null>;
      };
      // multipop's own sources travel inside the map (the package ships no src/); a bundled
      // dependency's map may name sources that dependency did not publish.
      const own = parsed.sources.flatMap((source, i) => (source.includes('node_modules/') ? [] : [i]));
      ownSources += own.length;
      for (const i of own)
        expect(typeof parsed.sourcesContent?.[i], `${map}: ${parsed.sources[i]}`).toBe('string');
    }
    expect(ownSources).toBeGreaterThan(50);
    const version = await run(process.execPath, [
      join(dir, 'node_modules/multipop/dist/cli/main.js'),
      '--version',
    ]);
    expect(version.stdout.trim()).toBe(
      JSON.parse(await readFile(join(root, 'package.json'), 'utf8')).version,
    );
    // The quick start from the installed package (`npx multipop demo`, README).
    const demo = await run(
      process.execPath,
      [join(dir, 'node_modules/multipop/dist/cli/main.js'), 'demo', '--messages', '3', '--large-mb', '1'],
      { cwd: dir },
    );
    expect(demo.stdout).toMatch(/Collected 4 messages/);
    expect(demo.stdout).toMatch(/Byte for byte identical to the source: 4\/4/);
    expect((await readdir(join(dir, 'demo-maildir', 'new'))).length).toBe(4);
  });

  it('a plain node CommonJS script: contract passes the sample queue, fails the duplicating one; collects', async () => {
    const dir = await host('node-cjs', []);
    const { stdout } = await run(process.execPath, ['check.cjs'], { cwd: dir });
    const report = JSON.parse(stdout) as {
      good: { ok: boolean; passed: number; failed: string[] };
      bad: { ok: boolean; failed: string[] };
      collect: { collected: number };
    };
    expect(report.good.failed).toEqual([]);
    expect(report.good.ok).toBe(true);
    expect(report.good.passed).toBeGreaterThan(8);
    expect(report.bad.ok).toBe(false);
    expect(aboutSameKey(report.bad.failed).length).toBeGreaterThanOrEqual(3);
    expect(report.collect).toEqual({ collected: 2 });
  });

  it('a Jest CommonJS host (the documented recipe), without vitest', async () => {
    const dir = await host('jest-cjs', ['jest']);
    const jest = join(dir, 'node_modules', 'jest', 'bin', 'jest.js');
    const report = await runFramework(
      dir,
      [jest, '--ci', '--json', '--outputFile=report.json'],
      'report.json',
    );
    expectContractResults(report);
  });

  it('a node:test ESM host (registerContract with node:test)', async () => {
    const dir = await host('node-test-esm', []);
    /** `ok`/`not ok` lines of node's TAP output for one file: [passed?, name, skipped?]. */
    const results = async (file: string, expectFailure: boolean) => {
      const args = ['--test', '--test-reporter=tap', file];
      const { stdout } = await run(process.execPath, args, { cwd: dir }).then(
        (done) => {
          if (expectFailure) throw new Error(`${file} passed although the duplicating queue must fail`);
          return done;
        },
        (err: { code?: number; stdout?: string }) => {
          if (!expectFailure || err.code !== 1) throw err;
          return { stdout: err.stdout ?? '' };
        },
      );
      return [...stdout.matchAll(/^\s*(not ok|ok) \d+ - (.*?)(?: # SKIP.*)?$/gm)].map((m) => ({
        ok: m[1] === 'ok',
        name: m[2]!,
      }));
    };
    const good = await results('good.contract.test.mjs', false);
    expect(good.filter((r) => !r.ok)).toEqual([]);
    expect(good.length).toBeGreaterThan(8);
    const bad = await results('duplicating.contract.test.mjs', true);
    expect(aboutSameKey(bad.filter((r) => !r.ok).map((r) => r.name)).length).toBeGreaterThanOrEqual(3);
    const collect = await results('collect.test.mjs', false);
    expect(collect).toEqual([{ ok: true, name: 'collects from the fake server into the SQLite store' }]);
  });

  it('a TypeScript host: strict .mts and .cts under node16, and bundler; node10 sees no subpath', {
    timeout: 240_000,
  }, async () => {
    const dir = await host('typescript', ['typescript']);
    await mkdir(join(dir, 'node_modules', '@types'));
    await symlink(join(rootModules, '@types', 'node'), join(dir, 'node_modules', '@types', 'node'), 'dir');
    const tsc = (project: string) =>
      run(process.execPath, [join(dir, 'node_modules/typescript/bin/tsc'), '-p', project], { cwd: dir }).then(
        () => '',
        (err: { stdout?: string }) => err.stdout ?? String(err),
      );
    expect(await tsc('tsconfig.json')).toBe('');
    expect(await tsc('tsconfig.bundler.json')).toBe('');
    // Documented as unsupported (docs/getting-started.md): node10 ignores `exports`.
    const node10 = await tsc('tsconfig.node10.json');
    expect(node10).toMatch(/node10\.ts\(3,\d+\): error TS2307: Cannot find module 'multipop\/sqlite'/);
    // …and nothing else: the main entry point resolves (its CommonJS declarations, via `types`).
    expect(node10.match(/error TS/g), node10).toHaveLength(1);
  });

  it('a vitest ESM host through multipop/testing/vitest', async () => {
    const dir = await host('vitest-esm', ['vitest']);
    const vitest = join(dir, 'node_modules', 'vitest', 'vitest.mjs');
    const report = await runFramework(
      dir,
      [vitest, 'run', '--reporter=json', '--outputFile=report.json'],
      'report.json',
    );
    expectContractResults(report);
  });
});
