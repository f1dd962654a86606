/**
 * docs/operations.md lists every error code with its meaning and what an operator should do.
 * The code list and the meanings come from src/errors/codes.ts; this test fails when the doc
 * and the code disagree. `UPDATE_DOCS=1 npx vitest run test/docs/error-codes.test.ts` rewrites
 * the table from the code, keeping the "what to do" column (new codes get a TODO that fails).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { ErrorCodes, errorCodeDescriptions } from 'multipop';
import { describe, expect, it } from 'vitest';

const DOC = new URL('../../docs/operations.md', import.meta.url);
const START = '<!-- error-codes:start -->';
const END = '<!-- error-codes:end -->';
const HEADER = ['| code | meaning | what to do |', '|---|---|---|'];
const TODO = '**TODO**: say what an operator should do.';

interface Row {
  code: string;
  meaning: string;
  action: string;
}

/** Splits a table row on unescaped pipes; `\|` stays inside the cell. */
function cells(line: string): string[] {
  return line
    .trim()
    .replace(/^\||\|$/g, '')
    .split(/(?<!\\)\|/)
    .map((cell) => cell.trim().replace(/\\\|/g, '|'));
}

function readTable(markdown: string): Row[] {
  const start = markdown.indexOf(START);
  const end = markdown.indexOf(END);
  expect(start, `${START} marker in docs/operations.md`).toBeGreaterThan(-1);
  expect(end, `${END} marker in docs/operations.md`).toBeGreaterThan(start);
  const lines = markdown
    .slice(start + START.length, end)
    .split('\n')
    .filter((l) => l.trim() !== '');
  expect(lines.slice(0, 2)).toEqual(HEADER);
  return lines.slice(2).map((line) => {
    const [code = '', meaning = '', action = '', ...rest] = cells(line);
    expect(rest, `a row has three cells: ${line}`).toEqual([]);
    return { code: code.replace(/^`|`$/g, ''), meaning, action };
  });
}

const escapeCell = (text: string) => text.replace(/\|/g, '\\|');

function renderTable(actions: Map<string, string>): string {
  const rows = Object.keys(ErrorCodes).map((code) => {
    const meaning = errorCodeDescriptions[code as keyof typeof errorCodeDescriptions];
    return `| \`${code}\` | ${escapeCell(meaning)} | ${escapeCell(actions.get(code) ?? TODO)} |`;
  });
  return [...HEADER, ...rows].join('\n');
}

describe('docs/operations.md error-code table', () => {
  const markdown = readFileSync(DOC, 'utf8');

  if (process.env['UPDATE_DOCS'] === '1') {
    const actions = new Map(readTable(markdown).map((r) => [r.code, r.action]));
    const start = markdown.indexOf(START) + START.length;
    const updated = `${markdown.slice(0, start)}\n${renderTable(actions)}\n${markdown.slice(markdown.indexOf(END))}`;
    if (updated !== markdown) writeFileSync(DOC, updated);
  }

  it('lists every code of ErrorCodes once, in the same order', () => {
    const documented = readTable(readFileSync(DOC, 'utf8')).map((r) => r.code);
    expect(documented).toEqual(Object.keys(ErrorCodes));
  });

  it('gives each code the meaning errorCodeDescriptions states, word for word', () => {
    for (const row of readTable(readFileSync(DOC, 'utf8'))) {
      const expected = errorCodeDescriptions[row.code as keyof typeof errorCodeDescriptions];
      expect(row.meaning, `meaning of ${row.code}`).toBe(expected);
    }
  });

  it('says what an operator should do for every code', () => {
    for (const row of readTable(readFileSync(DOC, 'utf8'))) {
      expect(row.action.length, `action for ${row.code}`).toBeGreaterThan(20);
      expect(row.action, `action for ${row.code}`).not.toContain('TODO');
    }
  });
});
