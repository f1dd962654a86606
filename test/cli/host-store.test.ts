/**
 * `multipop collect` against a store that a host fills through the API: the CLI never removes
 * users or entries, nor replaces settings, that it did not write — it refuses, naming them, and
 * changes nothing — and it reports what it did change. The same rules on both stores: the
 * SQLite file and a PostgreSQL schema (a real PostgreSQL private to this file).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parseMailboxEntry, parseUserSettings } from '../../src/config/index.js';
import type { MailboxDirectory } from '../../src/ports/index.js';
import { openPostgresStore } from '../../src/postgres/index.js';
import { openSqliteStore } from '../../src/sqlite/index.js';
import { describeWithPostgres, type PostgresServer, startPostgres } from '../helpers/postgres.js';
import { freshSchema } from '../postgres/postgres-helpers.js';
import { cli } from '../support/run-cli.js';

const key = Buffer.alloc(32, 9);
// Disabled: these tests are about the directory, so no collection runs.
const entry = (id: string) => ({
  id,
  server: '127.0.0.1:1',
  username: id,
  password: `${id}-secret`,
  enabled: false,
});

/** One kind of store: the config file's `store` section, and the host's own handle on it. */
interface StoreUnderTest {
  /** The `store` section for a fresh store in `work` (the key file is `./store.key`). */
  section(work: string): object;
  /** Opens the store of the last `section` as the host would, with the same key. */
  open(): Promise<{ directory: MailboxDirectory; close(): Promise<void> }>;
}

describe('multipop collect and a SQLite store the host fills', () => {
  let path = '';
  hostStoreSuite({
    section(work) {
      path = join(work, 'state.sqlite');
      return { path: './state.sqlite', keyFile: './store.key' };
    },
    open: () => openSqliteStore({ path, key }),
  });
});

describeWithPostgres('multipop collect and a PostgreSQL store the host fills', () => {
  let pg: PostgresServer;
  let schema = '';
  beforeAll(async () => {
    pg = await startPostgres();
  });
  afterAll(() => pg?.stop());
  hostStoreSuite({
    section() {
      schema = freshSchema();
      return { type: 'postgres', url: pg.url, schema, keyFile: './store.key' };
    },
    // The same key file a host and the CLI share: the one key format, as bytes here.
    open: () => openPostgresStore({ url: pg.url, schema, key, maxConnections: 2 }),
  });
});

function hostStoreSuite(store: StoreUnderTest): void {
  let work: string;
  let section: object;
  let configFile: string;

  beforeEach(async () => {
    work = await mkdtemp(join(tmpdir(), 'multipop-host-store-'));
    section = store.section(work);
    configFile = join(work, 'multipop.json');
    await writeFile(join(work, 'store.key'), key.toString('base64'));
  });
  afterEach(async () => {
    await rm(work, { recursive: true, force: true });
  });

  const writeConfig = (users: unknown[]) =>
    writeFile(
      configFile,
      JSON.stringify({ store: section, queue: { type: 'maildir', root: './mail' }, users }),
    );
  const hostStore = () => store.open();
  const usersInStore = async () => {
    const store = await hostStore();
    try {
      return (await store.directory.listUsers()).map((u) => [u.id, u.entries.map((e) => e.id)]);
    } finally {
      await store.close();
    }
  };

  it("keeps the host's users and settings: refuses, naming them, and changes nothing", async () => {
    const store = await hostStore();
    await store.directory.setSettings({
      ...(await store.directory.getSettings()),
      schedule: { mode: 'interval', minutes: 17 },
    });
    const { entries: _none, ...flags } = parseUserSettings({ id: 'host-ann' });
    await store.directory.putUser(flags);
    await store.directory.putEntry('host-ann', parseMailboxEntry(entry('host-ann-gmx')));
    await store.close();
    await writeConfig([]);

    const run = await cli(['collect', '--config', configFile]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('CONFIG_INVALID');
    expect(run.stderr).toContain('remove users host-ann');
    expect(run.stderr).toContain('replace the settings');
    expect(run.stderr).toContain('--force-sync');
    expect(run.stdout).not.toContain('mailboxes');
    expect(await usersInStore()).toEqual([['host-ann', ['host-ann-gmx']]]);
    const after = await hostStore();
    expect((await after.directory.getSettings()).schedule).toEqual({ mode: 'interval', minutes: 17 });
    await after.close();
  });

  it('removes what it wrote itself when the file drops it, and reports every change', async () => {
    await writeConfig([{ id: 'ann', entries: [entry('ann-a'), entry('ann-b')] }]);
    const first = await cli(['collect', '--config', configFile]);
    expect(first.stderr).toBe('');
    expect(first.stdout).toContain(
      'Store updated from the config file: added user ann; added entries ann-a, ann-b.',
    );

    await writeConfig([{ id: 'ann', entries: [entry('ann-a')] }]);
    const second = await cli(['collect', '--config', configFile]);
    expect(second.stderr).toBe('');
    expect(second.stdout).toContain('Store updated from the config file: removed entry ann-b.');
    expect(await usersInStore()).toEqual([['ann', ['ann-a']]]);

    const third = await cli(['collect', '--config', configFile]);
    expect(third.stdout).not.toContain('Store updated');
  });

  it('refuses to remove an entry the host added to a CLI user, until --force-sync', async () => {
    await writeConfig([{ id: 'ann', entries: [entry('ann-a')] }]);
    expect((await cli(['collect', '--config', configFile])).code).toBe(0);
    const store = await hostStore();
    await store.directory.putEntry('ann', parseMailboxEntry(entry('ann-host')));
    await store.close();

    const refused = await cli(['collect', '--config', configFile]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('remove entries ann-host');
    expect(await usersInStore()).toEqual([['ann', ['ann-a', 'ann-host']]]);

    const forced = await cli(['collect', '--config', configFile, '--force-sync']);
    expect(forced.code).toBe(0);
    expect(forced.stdout).toContain('removed entry ann-host');
    expect(await usersInStore()).toEqual([['ann', ['ann-a']]]);
  });
}
