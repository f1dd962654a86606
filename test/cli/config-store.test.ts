/** The `store` section of the CLI's config file: SQLite by default, or PostgreSQL; secrets kept out of errors. */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadCliConfig } from '../../src/cli/config-file.js';
import { describeStore, scrubStoreSecrets } from '../../src/cli/store-config.js';
import { failure } from '../support/multipop-failure.js';

const PASSWORD = 'pW-9f3k-secret';
let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'multipop-cli-store-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function write(config: object | string): Promise<string> {
  const file = join(dir, 'multipop.json');
  await writeFile(file, typeof config === 'string' ? config : JSON.stringify(config));
  return file;
}
const base = { queue: { type: 'maildir', root: './mail' }, users: [] };
const load = async (store: unknown) =>
  loadCliConfig(await write(store === undefined ? base : { ...base, store }));

describe('CLI config file: store', () => {
  it('defaults to the embedded SQLite store next to the file; a store without type is SQLite', async () => {
    expect((await load(undefined)).store).toEqual({ type: 'sqlite', path: join(dir, 'multipop.sqlite') });
    expect((await load({ path: './state/x.sqlite', keyFile: './k' })).store).toEqual({
      type: 'sqlite',
      path: join(dir, 'state/x.sqlite'),
      keyFile: join(dir, 'k'),
    });
  });

  it('takes a PostgreSQL connection string, with defaults for schema, pool and connect timeout', async () => {
    const url = `postgres://multipop:${PASSWORD}@db.internal:5433/mail`;
    expect((await load({ type: 'postgres', url, keyFile: './store.key' })).store).toEqual({
      type: 'postgres',
      url,
      schema: 'multipop',
      keyFile: join(dir, 'store.key'),
      maxConnections: 10,
      connectTimeoutSeconds: 10,
    });
    const other = (await load({ type: 'postgres', url: 'postgresql://db/mail', schema: 'mail_fetch' })).store;
    expect(other).toMatchObject({ url: 'postgresql://db/mail', schema: 'mail_fetch' });
  });

  it('refuses bad settings with CONFIG_INVALID naming the field, never echoing the URL', async () => {
    const cases: [unknown, string][] = [
      [{ type: 'postgres', url: `mysql://u:${PASSWORD}@h/db` }, 'store.url'],
      [{ type: 'postgres', url: `not a url ${PASSWORD}` }, 'store.url'],
      [{ type: 'postgres' }, 'store.url'],
      [{ type: 'postgres', url: 'postgres://h/db', schema: 'Bad-Name' }, 'store.schema'],
      [{ type: 'postgres', url: 'postgres://h/db', connectTimeoutSeconds: 0 }, 'store.connectTimeoutSeconds'],
      [{ type: 'postgres', url: 'postgres://h/db', path: './x.sqlite' }, 'store.path'],
      [{ type: 'redis', url: 'postgres://h/db' }, 'store.type'],
      [{ url: 'postgres://h/db' }, 'store.url'],
    ];
    for (const [store, field] of cases) {
      const err = await failure(load(store));
      expect(err, JSON.stringify(store)).toMatchObject({ code: 'CONFIG_INVALID', context: { field } });
      expect(err.message).not.toContain(PASSWORD);
      expect(JSON.stringify(err.context)).not.toContain(PASSWORD);
    }
  });

  it('a file that is not JSON is refused without quoting any of it', async () => {
    const file = await write(`{ "store": { "type": "postgres", "url": postgres://u:${PASSWORD}@h/db } }`);
    const err = await failure(Promise.resolve().then(() => loadCliConfig(file)));
    expect(err).toMatchObject({ code: 'CONFIG_INVALID', context: { field: 'file' } });
    expect(err.message).toContain('not valid JSON');
    expect(err.message).not.toContain('postgres:/');
  });

  it('describes where the state lives without the password or parameters; scrubs driver text', async () => {
    const config = await load({
      type: 'postgres',
      url: `postgresql://ann:${encodeURIComponent(`${PASSWORD}@/`)}@db:5432/mail?sslpassword=${PASSWORD}z`,
      schema: 'mp',
    });
    expect(describeStore(config.store)).toBe('postgresql://ann@db:5432/mail, schema mp');
    expect(scrubStoreSecrets(`failed for ${PASSWORD}@/ and ${PASSWORD}z`, config.store)).toBe(
      'failed for [REDACTED] and [REDACTED]',
    );
    const sqlite = await load({ path: './s.sqlite' });
    expect(describeStore(sqlite.store)).toBe(join(dir, 's.sqlite'));
  });
});
