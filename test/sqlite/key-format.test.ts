/**
 * One store key format for the library, the CLI's `store.keyFile` and `MULTIPOP_KEY`: the text
 * `multipop keygen` prints (base64 of 32 bytes) or `passphrase:…`; anything else is refused,
 * naming the expected format and never echoing the key.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { generateStoreKey, openSqliteStore } from '../../src/sqlite/index.js';
import { cli } from '../support/run-cli.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'multipop-key-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const refusal = (key: Uint8Array | string) =>
  openSqliteStore({ path: join(dir, 'x.sqlite'), key }).then(
    () => undefined,
    (err: unknown) => err as { code: string; message: string },
  );

describe('the store key format', () => {
  it('a generated key, its text with a newline, and its bytes open the same store', async () => {
    const text = generateStoreKey();
    expect(text).toMatch(/^[A-Za-z0-9+/]{43}=$/);
    const path = join(dir, 's.sqlite');
    await (await openSqliteStore({ path, key: `${text}\n` })).close();
    await (await openSqliteStore({ path, key: Buffer.from(text, 'base64') })).close();
    await expect(openSqliteStore({ path, key: generateStoreKey() })).rejects.toMatchObject({
      code: 'STORE_KEY_INVALID',
    });
  });

  it('refuses key text read as bytes, saying to pass it as a string', async () => {
    const error = await refusal(Buffer.from(`${generateStoreKey()}\n`));
    expect(error?.code).toBe('CONFIG_INVALID');
    expect(error?.message).toMatch(/45 bytes.*exactly 32.*pass it as a string/);
  });

  it('refuses text that is neither a key nor marked as a passphrase, naming the format, not the key', async () => {
    const secret = 'hunter2-correct-horse';
    const error = await refusal(secret);
    expect(error?.code).toBe('CONFIG_INVALID');
    expect(error?.message).toContain('base64 of 32 random bytes');
    expect(error?.message).toContain('passphrase:');
    expect(error?.message).not.toContain(secret);
    // base64 of the wrong length (16 bytes) is not silently taken as a passphrase either.
    expect((await refusal(randomBytes(16).toString('base64')))?.code).toBe('CONFIG_INVALID');
  });
});

describe('multipop keygen and the CLI', () => {
  it('writes a key file (0600, never over an existing one) that the CLI and the library both read', async () => {
    const keyFile = join(dir, 'store.key');
    const made = await cli(['keygen', '--out', keyFile]);
    expect(made.code).toBe(0);
    expect((await stat(keyFile)).mode & 0o777).toBe(0o600);
    const again = await cli(['keygen', '--out', keyFile]);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('never replaces a key');

    const config = join(dir, 'multipop.json');
    const write = (store: Record<string, string>) =>
      writeFile(config, JSON.stringify({ store, queue: { type: 'maildir', root: './mail' }, users: [] }));
    await write({ path: './state.sqlite', keyFile: './store.key' });
    expect((await cli(['collect', '-c', config])).code).toBe(0);
    // The same text in MULTIPOP_KEY opens the same store; the library reads the file as written.
    await write({ path: './state.sqlite' });
    const text = await readFile(keyFile, 'utf8');
    expect((await cli(['collect', '-c', config], { MULTIPOP_KEY: text.trim() })).code).toBe(0);
    await (await openSqliteStore({ path: join(dir, 'state.sqlite'), key: text })).close();
  });

  it('refuses a key in the wrong format, naming where it came from and the format expected', async () => {
    const config = join(dir, 'multipop.json');
    await writeFile(
      config,
      JSON.stringify({ store: { path: './s.sqlite' }, queue: { type: 'maildir', root: './m' }, users: [] }),
    );
    const run = await cli(['collect', '-c', config], { MULTIPOP_KEY: 'my old passphrase' });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('The key in MULTIPOP_KEY is not in the expected format');
    expect(run.stderr).toContain('multipop keygen');
    expect(run.stderr).not.toContain('my old passphrase');
  });

  it('prints its version', async () => {
    const pkg = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as {
      version: string;
    };
    const run = await cli(['--version']);
    expect(run.code).toBe(0);
    expect(run.stdout.trim()).toBe(pkg.version);
  });
});
