/**
 * Every ```ts block of README.md and docs/*.md type-checks against the source
 * (scripts/check-doc-snippets.ts, also `npm run check:docs`), and the extractor that feeds it
 * finds the blocks, their lines, their hidden context and their skip markers.
 */
import { afterAll, describe, expect, it } from 'vitest';
import {
  checkAndRunDocs,
  checkDocSnippets,
  ENTRY_POINTS,
  extractSnippets,
  formatReport,
  scanMarkdown,
  scanSourceExamples,
} from '../../scripts/check-doc-snippets.js';

describe('extractSnippets', () => {
  it('finds ts and typescript blocks with their first code line, and nothing else', () => {
    const markdown = [
      '# Title', // 1
      '```sh', // 2
      'npm test', // 3
      '```', // 4
      '```ts', // 5
      'const a = 1;', // 6
      '```', // 7
      '```typescript', // 8
      'const b = 2;', // 9
      'const c = 3;', // 10
      '```', // 11
    ].join('\n');
    const found = extractSnippets('x.md', markdown);
    expect(found.map((s) => [s.line, s.code])).toEqual([
      [6, 'const a = 1;'],
      [9, 'const b = 2;\nconst c = 3;'],
    ]);
  });

  it('takes a block indented in a list, and a longer fence holding a shorter one', () => {
    const markdown = [
      '1. Step',
      '   ```ts',
      '   const a = 1;',
      '     nested();',
      '   ```',
      '````ts',
      '```',
      '````',
    ].join('\n');
    const found = extractSnippets('x.md', markdown);
    expect(found.map((s) => s.code)).toEqual(['const a = 1;\n  nested();', '```']);
  });

  it('attaches a @doc-context comment and a @doc-skip marker to the next fence only', () => {
    const markdown = [
      '<!-- @doc-context',
      'declare const oauth: unknown;',
      '-->',
      '',
      '```ts',
      'oauth;',
      '```',
      '<!-- @doc-context declare const one: 1; -->',
      '```ts',
      'one;',
      '```',
      '<!-- @doc-skip -->',
      '```ts',
      'partial(',
      '```',
      '<!-- @doc-context declare const lost: 1; -->',
      'Some prose in between.',
      '```ts',
      'plain;',
      '```',
    ].join('\n');
    const found = extractSnippets('x.md', markdown);
    expect(found.map((s) => [s.context.trim(), s.skipped])).toEqual([
      ['declare const oauth: unknown;', false],
      ['declare const one: 1;', false],
      ['', true],
      ['', false],
    ]);
    // The marker before prose belongs to no block: reported, so it cannot be lost silently.
    expect(scanMarkdown('x.md', markdown).orphans).toEqual([{ file: 'x.md', line: 16 }]);
  });

  it('reports a marker placed after its block, or at the end of the file', () => {
    const markdown = [
      '```ts',
      'x;',
      '```',
      '<!-- @doc-context declare const x: 1; -->',
      '',
      'Prose.',
      '<!-- @doc-skip -->',
    ].join('\n');
    expect(scanMarkdown('y.md', markdown).orphans).toEqual([
      { file: 'y.md', line: 4 },
      { file: 'y.md', line: 7 },
    ]);
  });
});

describe('the entry points the check knows', () => {
  it('are the package.json exports', async () => {
    const { readFile } = await import('node:fs/promises');
    const manifest = JSON.parse(await readFile('package.json', 'utf8')) as {
      exports: Record<string, unknown>;
    };
    const subpaths = Object.keys(manifest.exports)
      .filter((path) => path !== './package.json')
      .map((path) => (path === '.' ? 'multipop' : `multipop/${path.slice(2)}`));
    expect(ENTRY_POINTS.map(([module]) => module).sort()).toEqual(subpaths.sort());
  });
});

describe('scanSourceExamples', () => {
  it('finds fenced and unfenced @example blocks with their source line and context', () => {
    const source = [
      '/**', // 1
      ' * Does a thing.', // 2
      ' *', // 3
      ' * @example', // 4
      ' * <!-- doc-context declare const x: number; -->', // 5
      ' * ```ts', // 6
      ' * thing(x);', // 7
      ' * ```', // 8
      ' * @throws never', // 9
      ' */', // 10
      'export function thing(_: number) {}', // 11
      '  /**', // 12
      '   * @example thing(2);', // 13
      '   * @example', // 14
      '   * thing(3);', // 15
      '   */', // 16
      '/** @example ```sh', // 17: not TypeScript
      ' * npm test', // 18
      ' * ``` */', // 19
    ].join('\n');
    expect(scanSourceExamples('src/x.ts', source).map((s) => [s.line, s.code, s.context.trim()])).toEqual([
      [7, 'thing(x);', 'declare const x: number;'],
      [13, 'thing(2);', ''],
      [15, 'thing(3);', ''],
    ]);
  });
});

describe('documentation snippets', () => {
  it("type-check (README.md, docs/*.md, the public API's @examples) and run as written", {
    timeout: 600_000,
  }, async () => {
    const report = await checkAndRunDocs();
    expect(report.problems, formatReport(report)).toEqual([]);
    expect(report.checked).toBeGreaterThan(150);
    // Most Markdown blocks run; each one that does not says why (a real provider, the host's
    // own infrastructure, a benchmark, …).
    expect(report.ran).toBeGreaterThan(35);
    expect(report.notRun.every((n) => n.reason.length > 10)).toBe(true);
  });

  it('report a block that does not type-check at its Markdown line', { timeout: 300_000 }, async () => {
    const report = checkDocSnippets([
      await docFile([
        '# Broken',
        '',
        '```ts',
        'const fetcher = new MultiPopFetcher({ directory, ledger, queue });',
        'await fetcher.collectEverything();',
        '```',
      ]),
    ]);
    expect(report.problems).toHaveLength(1);
    expect(report.problems[0]).toMatchObject({
      line: 5,
      message: expect.stringMatching(/collectEverything/),
    });
  });

  it('report a JavaScript block that says nothing about why it is left alone', {
    timeout: 300_000,
  }, async () => {
    const report = checkDocSnippets([
      await docFile([
        '```js',
        'module.exports = 1;',
        '```',
        '<!-- @doc-no-run: a Jest file -->',
        '```js',
        'x;',
        '```',
      ]),
    ]);
    expect(report.problems.map((p) => [p.line, p.message.slice(0, 40)])).toEqual([
      [2, 'a JavaScript block is neither type-check'],
    ]);
    expect(report.blocks.map((b) => [b.line, b.noRun])).toEqual([[6, 'a Jest file']]);
  });

  it('report blocks that fail when run, reach beyond the machine, collect with unannounced failures, or skip running without a reason', {
    timeout: 300_000,
  }, async () => {
    const file = await docFile([
      '```ts', // 1
      "const summaries = await fetcher.collectNow({ mailboxId: 'ann-gmx' });", // 2
      "if (summaries[0]?.ok) throw new Error('the block ran, and failed on purpose');", // 3
      '```', // 4
      '```ts', // 5
      "await Pop3Client.connect({ host: 'pop.gmail.com', port: 995, tls: 'implicit' }).catch(() => {});", // 6
      '```', // 7
      '<!-- @doc-no-run -->', // 8
      '```ts', // 9
      'fetcher;', // 10
      '```', // 11
      '```sh', // 12
      'npx multipop check-config --config missing.json', // 13
      '```', // 14
      '```sh', // 15
      'npm install left-pad', // 16
      '```', // 17
      '<!-- @doc-no-run: a real provider -->', // 18
      '```sh', // 19
      'npx multipop grant ann@example.com ann-gmail --config multipop.json', // 20
      '```', // 21
      '```ts', // 22
      "await directory.putEntry('ann@example.com', parseMailboxEntry({ id: 'ann-gmx', server: 'pop.gmx.net:995', username: 'ann', password: 'wrong' }));", // 23
      'await fetcher.collectNow();', // 24
      '```', // 25
      '<!-- @doc-expect-errors: AUTH_FAILED -->', // 26
      '```ts', // 27
      'await fetcher.collectNow();', // 28
      '```', // 29
    ]);
    const report = await checkAndRunDocs([file], []);
    expect(report.problems.map((p) => [p.line, p.message.split('\n')[0]])).toEqual([
      [2, 'running the block failed (exit 1):'],
      [6, 'running the block failed (exit 1):'],
      [10, '@doc-no-run needs a reason: `<!-- @doc-no-run: why -->`'],
      [13, 'running the block failed (exit 2):'],
      [16, 'running the block failed (exit 127):'],
      [23, 'running the block failed (exit 1):'],
      [28, 'running the block failed (exit 1):'],
    ]);
    const byLine = new Map(report.problems.map((p) => [p.line, p.message]));
    expect(byLine.get(2)).toMatch(/failed on purpose/);
    expect(byLine.get(6)).toMatch(/tried to reach pop\.gmail\.com:995/);
    expect(byLine.get(16)).toMatch(/does not run npm/);
    // A collection that quietly fails is a failed block; an announced failure must happen.
    expect(byLine.get(23)).toMatch(/a collection failed: ann-gmx: AUTH_FAILED/);
    expect(byLine.get(28)).toMatch(/no collection failed with AUTH_FAILED/);
    expect(report.notRun).toEqual([{ file, line: 20, reason: 'a real provider' }]);
    expect(report.ran).toBe(0);
  });
});

/** A Markdown file under .tmp (removed after the run), by its path relative to the root. */
async function docFile(lines: string[]): Promise<string> {
  const { mkdtemp, writeFile } = await import('node:fs/promises');
  const { join, relative } = await import('node:path');
  const dir = await mkdtemp(join(process.cwd(), '.tmp', 'doc-check-'));
  temporary.push(dir);
  const file = join(dir, 'doc.md');
  await writeFile(file, `${lines.join('\n')}\n`);
  return relative(process.cwd(), file);
}

const temporary: string[] = [];
afterAll(async () => {
  const { rm } = await import('node:fs/promises');
  await Promise.all(temporary.map((dir) => rm(dir, { recursive: true, force: true })));
});
