/**
 * The documentation's links lead somewhere. Every relative link of README.md and docs/*.md names
 * a file of this repository (a link out of it, say to the project's internal briefs, is broken
 * for every reader), with the heading it points at; and every link of the README — the page the
 * registry shows — names a file the package ships, so it also works in node_modules/multipop.
 *
 * The registry's own page resolves relative links against `repository` in package.json, which
 * is unset until the project has a public URL (none is made up); README.md says so.
 */
import { execFile } from 'node:child_process';
import { readdir, readFile, stat } from 'node:fs/promises';
import { dirname, join, normalize, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const run = promisify(execFile);

interface Link {
  from: string;
  target: string;
  anchor?: string;
}

/** Relative Markdown links `[text](target#anchor)` outside code fences. */
async function linksOf(file: string): Promise<Link[]> {
  const text = (await readFile(join(root, file), 'utf8')).replace(/^(`{3,}|~{3,})[\s\S]*?^\1/gm, '');
  const links: Link[] = [];
  for (const [, href] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
    if (/^[a-z]+:/i.test(href!) || href!.startsWith('#')) continue;
    const [path, anchor] = href!.split('#');
    links.push({ from: file, target: normalize(join(dirname(file), path!)), ...(anchor ? { anchor } : {}) });
  }
  return links;
}

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens. */
async function anchorsOf(file: string): Promise<Set<string>> {
  const text = await readFile(join(root, file), 'utf8');
  const headings = text.replace(/^(`{3,}|~{3,})[\s\S]*?^\1/gm, '').match(/^#{1,6} .*$/gm) ?? [];
  return new Set(
    headings.map((h) =>
      h
        .replace(/^#+ /, '')
        .toLowerCase()
        .replace(/[^\p{L}\p{N} _-]/gu, '')
        .replace(/ /g, '-'),
    ),
  );
}

let docs: string[];
beforeAll(async () => {
  docs = [
    'README.md',
    ...(await readdir(join(root, 'docs'))).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`),
  ];
});

describe('documentation links', () => {
  it('name files of this repository, and headings those files have', async () => {
    const broken: string[] = [];
    for (const file of docs) {
      for (const link of await linksOf(file)) {
        const where = `${link.from} → ${link.target}${link.anchor ? `#${link.anchor}` : ''}`;
        if (relative(root, join(root, link.target)).startsWith('..')) {
          broken.push(`${where}: outside the repository`);
          continue;
        }
        const found = await stat(join(root, link.target)).catch(() => undefined);
        if (!found) broken.push(`${where}: no such file`);
        else if (
          link.anchor &&
          link.target.endsWith('.md') &&
          !(await anchorsOf(link.target)).has(link.anchor)
        )
          broken.push(`${where}: no such heading`);
      }
    }
    expect(broken).toEqual([]);
  });

  it("of the README name files the package ships (npm pack's list)", { timeout: 120_000 }, async () => {
    const { stdout } = await run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: root });
    const shipped = new Set(
      (JSON.parse(stdout) as Array<{ files: Array<{ path: string }> }>)[0]!.files.map((f) => f.path),
    );
    const links = await linksOf('README.md');
    expect(links.length).toBeGreaterThan(10);
    expect(links.filter((l) => !shipped.has(l.target)).map((l) => l.target)).toEqual([]);
  });
});
