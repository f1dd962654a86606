import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OAuthTokenSet } from '../../src/ports/index.js';
import { openPostgresStore } from '../../src/postgres/index.js';
import { openSqliteStore } from '../../src/sqlite/index.js';
import { startOidcProvider, type TestOAuthServer } from '../helpers/oidc-provider.js';
import { describeWithPostgres, type PostgresServer, startPostgres } from '../helpers/postgres.js';
import { freshSchema } from '../postgres/postgres-helpers.js';
import { projectRoot } from '../support/collector-command.js';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

let as: TestOAuthServer;
let work: string;
let redirectUri: string;
const key = Buffer.alloc(32, 9);

beforeAll(async () => {
  redirectUri = `http://127.0.0.1:${await freePort()}/oauth/callback`;
  as = await startOidcProvider({
    accounts: ['ann'],
    client: { redirectUris: [redirectUri] },
    scopes: ['pop'],
  });
  work = await mkdtemp(join(tmpdir(), 'multipop-grant-'));
  await writeFile(join(work, 'store.key'), key.toString('base64'));
});
afterAll(async () => {
  await as?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

/** Where `grant` keeps the tokens: the config file's `store` section and a look at what it wrote. */
interface GrantStore {
  section(): object;
  /** The tokens of `mailboxId`, read with the key. */
  tokens(mailboxId: string): Promise<OAuthTokenSet | undefined>;
  /** Everything the store holds on disk or in its tables, as bytes (to look for plain secrets). */
  raw(): Promise<Buffer[]>;
}

describe('multipop grant with the SQLite store', () => {
  const path = () => join(work, 'state', 'multipop.sqlite');
  grantTest({
    section: () => ({ path: './state/multipop.sqlite', keyFile: './store.key' }),
    async tokens(mailboxId) {
      const store = await openSqliteStore({ path: path(), key });
      try {
        return await store.tokens.getTokens(mailboxId);
      } finally {
        await store.close();
      }
    },
    raw: async () => [await readFile(path()), await readFile(`${path()}-wal`).catch(() => Buffer.alloc(0))],
  });
});

describeWithPostgres('multipop grant with the PostgreSQL store', () => {
  let server: PostgresServer;
  const schema = freshSchema();
  beforeAll(async () => {
    server = await startPostgres();
  });
  afterAll(() => server?.stop());
  grantTest({
    section: () => ({ type: 'postgres', url: server.url, schema, keyFile: './store.key' }),
    async tokens(mailboxId) {
      const store = await openPostgresStore({ url: server.url, schema, key, maxConnections: 1 });
      try {
        return await store.tokens.getTokens(mailboxId);
      } finally {
        await store.close();
      }
    },
    async raw() {
      const client = new pg.Client({ connectionString: server.url });
      await client.connect();
      try {
        const tables = ['oauth_tokens', 'pending_grants', 'settings', 'entries'];
        const out: Buffer[] = [];
        for (const table of tables) {
          const result = await client.query(`SELECT * FROM "${schema}".${table}`);
          out.push(Buffer.from(JSON.stringify(result.rows)));
        }
        return out;
      } finally {
        await client.end();
      }
    },
  });
});

function grantTest(store: GrantStore): void {
  it('prints the authorization URL, receives the redirect on localhost, stores the tokens encrypted', {
    timeout: 60_000,
  }, async () => {
    const configFile = join(work, 'multipop.json');
    await writeFile(
      configFile,
      JSON.stringify({
        store: store.section(),
        queue: { type: 'maildir', root: './mail' },
        oauthAllowInsecureHttp: true,
        settings: {
          oauth: {
            generic: {
              clientId: as.client.clientId,
              clientSecret: as.client.clientSecret,
              issuer: as.issuer,
              scopes: ['pop', 'offline_access'],
              extraAuthorizationParams: { prompt: 'consent' },
              redirectUris: { localhost: redirectUri },
            },
          },
        },
        users: [
          {
            id: 'ann@example.com',
            entries: [
              {
                id: 'ann-corp',
                server: 'pop.corp.test:995',
                username: 'ann',
                auth: 'oauth',
                oauthProvider: 'generic',
              },
            ],
          },
        ],
      }),
    );
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        join(projectRoot, 'src/cli/main.ts'),
        'grant',
        'ann@example.com',
        'ann-corp',
        '--config',
        configFile,
      ],
      { cwd: projectRoot, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    const exited = new Promise<number | null>((resolve) => child.once('close', resolve));
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout.setEncoding('utf8').on('data', (d: string) => {
        stdout += d;
        const match = /^\s+(http\S+)$/m.exec(stdout);
        if (match) resolve(match[1]!);
      });
      child.once('close', () => reject(new Error(`grant exited early: ${stderr}`)));
    });
    expect(url.startsWith(`${as.issuer}/`)).toBe(true);
    expect(new URL(url).searchParams.get('code_challenge_method')).toBe('S256');

    // The user signs in and consents; the provider redirects the browser to the CLI's listener.
    const callback = await as.authorize(url, { account: 'ann' });
    expect(callback.toString().startsWith(redirectUri)).toBe(true);
    const page = await fetch(callback);
    expect(page.status).toBe(200);
    expect(await exited).toBe(0);
    expect(stdout).toContain('Permission granted for ann@example.com/ann-corp');

    const tokens = await store.tokens('ann-corp');
    expect(tokens?.accessToken.length).toBeGreaterThan(10);
    expect(tokens?.refreshToken).toBeDefined();
    const raw = await store.raw();
    expect(raw.some((bytes) => bytes.length > 0)).toBe(true);
    for (const secret of [tokens!.accessToken, tokens!.refreshToken!, as.client.clientSecret]) {
      for (const bytes of raw) expect(bytes.includes(secret)).toBe(false);
    }
    expect(stdout + stderr).not.toContain(tokens!.accessToken);
  });
}
