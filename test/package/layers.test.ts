/**
 * The layer rules of docs/architecture.md, checked on the source: each folder of src/ may
 * import only the folders and packages listed for it. A new dependency between layers is a
 * design decision — make it here and in the doc together.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const srcDir = fileURLToPath(new URL('../../src', import.meta.url));

/** Folder (or top-level file) of src/ → what it may import besides itself and `node:*`. */
const ALLOWED: Record<string, readonly string[]> = {
  errors: [],
  log: [],
  config: ['errors', 'zod'],
  crypto: ['errors'],
  ports: ['config', 'errors'],
  pop3: ['config', 'errors', 'log'],
  auth: ['pop3', 'ports', 'config', 'errors', 'log', 'oauth4webapi', 'zod'],
  collect: ['auth', 'pop3', 'ports', 'config', 'errors', 'log'],
  stores: ['ports', 'config', 'errors', 'log', 'crypto'],
  handoff: ['ports', 'config', 'errors', 'log', 'nodemailer'],
  sqlite: ['stores', 'ports', 'crypto', 'config', 'errors', 'log', 'better-sqlite3'],
  postgres: ['stores', 'ports', 'crypto', 'config', 'errors', 'log', 'pg'],
  fetcher: ['collect', 'auth', 'pop3', 'stores', 'ports', 'config', 'errors', 'log', 'p-queue', 'zod'],
  bullmq: ['fetcher', 'collect', 'auth', 'pop3', 'ports', 'config', 'errors', 'log', 'bullmq', 'ioredis'],
  testing: ['pop3', 'stores', 'ports', 'config', 'errors', 'log', 'vitest'],
  cli: ['*'],
  index: ['*'],
};

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((name) => name.endsWith('.ts'))
    .map((name) => join(dir, name));
}

/** Module specifiers of real import/export statements (comments and strings in code are skipped). */
function importsOf(file: string): string[] {
  const code = readFileSync(file, 'utf8')
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/^\s*\/\/.*$/gm, '');
  const found: string[] = [];
  for (const match of code.matchAll(/^\s*(?:import|export)\b[^'";]*?\bfrom\s*'([^']+)'/gm))
    found.push(match[1]!);
  for (const match of code.matchAll(/^\s*import\s*'([^']+)'/gm)) found.push(match[1]!);
  for (const match of code.matchAll(/\bimport\(\s*'([^']+)'\s*\)/g)) found.push(match[1]!);
  return found;
}

function layerOf(file: string): string {
  const first = relative(srcDir, file).split(sep)[0]!;
  return first.replace(/\.ts$/, '');
}

/** `zod`, `@scope/name`, `nodemailer` (for `nodemailer/lib/…`), or a src/ layer. */
function targetOf(file: string, specifier: string): string | undefined {
  if (specifier.startsWith('node:')) return undefined;
  if (specifier.startsWith('.')) return layerOf(normalize(join(dirname(file), specifier)));
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

describe('layers import only what docs/architecture.md allows', () => {
  const files = sourceFiles(srcDir);

  it('every folder of src/ has a rule', () => {
    const layers = new Set(files.map(layerOf));
    for (const layer of layers) expect(ALLOWED, `no layer rule for src/${layer}`).toHaveProperty(layer);
  });

  it('no import crosses a layer boundary it should not', () => {
    const violations: string[] = [];
    for (const file of files) {
      const layer = layerOf(file);
      const allowed = ALLOWED[layer] ?? [];
      if (allowed.includes('*')) continue;
      for (const specifier of importsOf(file)) {
        const target = targetOf(file, specifier);
        if (target === undefined || target === layer || allowed.includes(target)) continue;
        violations.push(`src/${relative(srcDir, file)} imports '${specifier}' (${layer} → ${target})`);
      }
    }
    expect(violations).toEqual([]);
  });

  it('docs/architecture.md has a row per folder of src/, naming exactly what it may import', () => {
    const doc = readFileSync(fileURLToPath(new URL('../../docs/architecture.md', import.meta.url)), 'utf8');
    const documented: Record<string, string[]> = {};
    for (const match of doc.matchAll(/^\| `src\/([a-z0-9-]+)` \|[^\n]*?\| ([^|\n]+) \| [a-z]+ \|$/gm)) {
      const imports = match[2]!.trim();
      documented[match[1]!] =
        imports === '—'
          ? []
          : imports === 'anything'
            ? ['*']
            : imports.split(', ').map((name) => name.replace(/\s*\(.*\)$/, '').trim());
    }
    const rules = Object.fromEntries(
      Object.entries(ALLOWED)
        .filter(([layer]) => layer !== 'index')
        .map(([layer, allowed]) => [layer, [...allowed].sort()]),
    );
    const rows = Object.fromEntries(
      Object.entries(documented).map(([layer, allowed]) => [layer, allowed.sort()]),
    );
    expect(rows).toEqual(rules);
  });

  it('only src/testing/vitest.ts imports vitest: the rest of the kit runs without a framework', () => {
    const importing = files
      .filter((file) => importsOf(file).some((specifier) => targetOf(file, specifier) === 'vitest'))
      .map((file) => relative(srcDir, file));
    expect(importing).toEqual([join('testing', 'vitest.ts')]);
  });

  it('only the protocol layer (and the test kit) reaches into the byte framer', () => {
    const reaching = files
      .filter((file) => !['pop3', 'testing'].includes(layerOf(file)))
      .filter((file) => importsOf(file).some((specifier) => /\/pop3\/framer(\.js)?$/.test(specifier)))
      .map((file) => relative(srcDir, file));
    expect(reaching).toEqual([]);
  });
});
