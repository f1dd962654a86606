import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CLI_CONCURRENCY, loadCliConfig } from '../../src/cli/config-file.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'multipop-cli-config-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const base = {
  store: { path: './state.sqlite' },
  queue: { type: 'maildir', root: './mail' },
  settings: {},
  users: [],
};

async function load(extra: object) {
  const file = join(dir, 'multipop.json');
  await writeFile(file, JSON.stringify({ ...base, ...extra }));
  return loadCliConfig(file);
}

describe('CLI config file: concurrency', () => {
  it('defaults to the values for a server with thousands of mailboxes', async () => {
    expect((await load({})).concurrency).toEqual(CLI_CONCURRENCY);
    expect((await load({ concurrency: { perHost: 3 } })).concurrency).toEqual({
      global: CLI_CONCURRENCY.global,
      perHost: 3,
    });
  });

  it('rejects a bad value with CONFIG_INVALID naming the field', async () => {
    await expect(load({ concurrency: { global: 0 } })).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      context: { field: 'concurrency.global' },
    });
    await expect(load({ concurrency: { perhost: 2 } })).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
  });
});
