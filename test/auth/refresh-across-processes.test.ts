/**
 * Two real OS processes refresh the same entry at the same moment, over one shared token store
 * (a SQLite file; a PostgreSQL schema), against oidc-provider with refresh-token rotation on.
 * oidc-provider detects reuse: a rotated-away refresh token presented again revokes the whole
 * grant (the control case shows it). With the store's refresh lease, exactly one refresh
 * reaches the provider, both processes get the same working access token, the grant survives,
 * and the stored refresh token is the rotated one.
 *
 * "The same moment" is made certain, not hoped for: the provider holds the first token request
 * until the other process has found the lease taken, and only then answers.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OAuthTokenSet } from '../../src/ports/index.js';
import { openPostgresStore } from '../../src/postgres/index.js';
import { generateStoreKey, openSqliteStore } from '../../src/sqlite/index.js';
import { describeWithPostgres, type PostgresServer, startPostgres } from '../helpers/postgres.js';
import { dropSchema, freshSchema } from '../postgres/postgres-helpers.js';
import { failure } from '../support/multipop-failure.js';
import { GMAIL_ACCOUNT, GMAIL_ENTRY, type OAuthFixture, startOAuthFixture } from './support/oauth-fixture.js';
import type { RaceChildArgs } from './support/refresh-race.child.js';

const CHILD = join(import.meta.dirname, 'support', 'refresh-race.child.ts');
/** tsx compiles the child on start; generous on a busy machine. */
const TIMEOUT = 90_000;

type ChildMessage =
  | { event: 'ready' | 'lease-busy' }
  | { event: 'token'; token: string }
  | { event: 'error'; code: string; oauthError?: string }
  | { event: 'log'; text: string }
  | { event: 'oauth'; type: string };

/** A child process and the messages it printed, each awaitable by kind. */
class RaceChild {
  readonly messages: ChildMessage[] = [];
  readonly exited: Promise<number | null>;
  readonly #child: ChildProcess;
  readonly #waiters: Array<() => void> = [];

  constructor(args: RaceChildArgs) {
    this.#child = spawn(process.execPath, ['--import', 'tsx', CHILD, JSON.stringify(args)], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    this.exited = new Promise((resolve) => this.#child.once('close', resolve));
    createInterface({ input: this.#child.stdout! }).on('line', (line) => {
      this.messages.push(JSON.parse(line) as ChildMessage);
      for (const wake of this.#waiters.splice(0)) wake();
    });
  }

  /** The first message of this kind (waits for it; the test's timeout bounds the wait). */
  async next<E extends ChildMessage['event']>(event: E): Promise<Extract<ChildMessage, { event: E }>> {
    for (;;) {
      const found = this.messages.find((m) => m.event === event);
      if (found) return found as Extract<ChildMessage, { event: E }>;
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
  }

  /** The outcome of its one getAccessToken: a token or an error. */
  async outcome(): Promise<Extract<ChildMessage, { event: 'token' | 'error' }>> {
    await this.next('log');
    return this.messages.find((m) => m.event === 'token' || m.event === 'error') as Extract<
      ChildMessage,
      { event: 'token' | 'error' }
    >;
  }

  go(): void {
    this.#child.stdin!.write('go\n');
  }

  kill(): void {
    this.#child.kill('SIGKILL');
  }
}

interface SharedStore {
  /** How the children open the same store. */
  args: RaceChildArgs['store'];
  fx: OAuthFixture;
  close(): Promise<void>;
}

/** The race and its control, over a store the parent and both children open. */
function raceSuite(open: () => Promise<SharedStore>): void {
  let shared: SharedStore;
  let children: RaceChild[] = [];

  beforeAll(async () => {
    shared = await open();
  }, TIMEOUT);
  afterAll(async () => {
    for (const child of children) child.kill();
    await shared?.close();
  });

  /** A fresh grant whose access token has just expired, and processes ready to refresh it. */
  async function expiredGrantAndTwoProcesses(
    lease: boolean,
    count = 2,
    leaseMs?: number,
  ): Promise<{ granted: OAuthTokenSet }> {
    const { fx } = shared;
    await fx.grant(GMAIL_ENTRY, GMAIL_ACCOUNT);
    const granted = await fx.tokens.getTokens(GMAIL_ENTRY);
    if (!granted?.refreshToken) throw new Error('the grant gave no refresh token');
    await fx.tokens.setTokens(GMAIL_ENTRY, { ...granted, expiresAt: Date.now() - 1_000 });
    fx.events.length = 0;
    const gmail = {
      issuer: fx.as.issuer,
      authorizationEndpoint: fx.as.authorizationEndpoint,
      tokenEndpoint: fx.as.tokenEndpoint,
    };
    children = Array.from(
      { length: count },
      () =>
        new RaceChild({
          store: shared.args,
          mailboxId: GMAIL_ENTRY,
          gmail,
          lease,
          ...(leaseMs === undefined ? {} : { leaseMs }),
        }),
    );
    await Promise.all(children.map((child) => child.next('ready')));
    return { granted };
  }

  it('one refresh reaches the provider; both processes get the rotated grant’s token; the grant survives', {
    timeout: TIMEOUT,
  }, async () => {
    const { fx } = shared;
    const { granted } = await expiredGrantAndTwoProcesses(true);
    const before = fx.as.tokenRequests;
    const hold = fx.as.holdTokenRequests();
    try {
      for (const child of children) child.go();
      // One process is at the provider (held there) with the lease; the other finds it taken.
      await hold.arrived(1);
      await Promise.race(children.map((child) => child.next('lease-busy')));
      await hold.releaseNext();
    } finally {
      hold.end();
    }
    const outcomes = await Promise.all(children.map((child) => child.outcome()));
    expect(await Promise.all(children.map((child) => child.exited))).toEqual([0, 0]);

    expect(fx.as.tokenRequests).toBe(before + 1);
    expect(outcomes.map((o) => o.event)).toEqual(['token', 'token']);
    const [first, second] = outcomes as Array<{ token: string }>;
    expect(first!.token).toBe(second!.token);
    expect((await fx.as.introspect(first!.token)).active).toBe(true);
    // What is stored is the rotated grant: the new access token and a new refresh token.
    const stored = await fx.tokens.getTokens(GMAIL_ENTRY);
    expect(stored?.accessToken).toBe(first!.token);
    expect(stored?.refreshToken).toBeTruthy();
    expect(stored?.refreshToken).not.toBe(granted.refreshToken);
    // …and it works: the grant was not revoked by reuse detection.
    const next = await fx.service.getAccessToken(GMAIL_ENTRY, { forceRefresh: true });
    expect((await fx.as.introspect(next)).active).toBe(true);
    expect(fx.events.some((e) => e.type === 'needs-permission')).toBe(false);
    // No process logged a token.
    for (const child of children) {
      const log = (await child.next('log')).text;
      for (const secret of [
        granted.accessToken,
        granted.refreshToken!,
        first!.token,
        stored!.refreshToken!,
      ]) {
        expect(log).not.toContain(secret);
      }
    }
  });

  it('a process killed while holding the lease: the other takes over once the lease expires; the grant survives', {
    timeout: TIMEOUT,
  }, async () => {
    const { fx } = shared;
    const { granted } = await expiredGrantAndTwoProcesses(true, 2, 3_000);
    const [dying, survivor] = children as [RaceChild, RaceChild];
    const before = fx.as.tokenRequests;
    const hold = fx.as.holdTokenRequests();
    try {
      // The first process takes the lease and sends its refresh; it dies before any answer,
      // and its request never reaches the provider.
      dying.go();
      await hold.arrived(1);
      dying.kill();
      await dying.exited;
      hold.drop(0);
      // The other one finds the lease taken and waits until it expires (or, on a machine slow
      // enough that it already has, takes it over at once), then refreshes.
      survivor.go();
      await hold.arrived(2);
      await hold.releaseNext();
    } finally {
      hold.end();
    }
    const outcome = await survivor.outcome();

    expect(fx.as.tokenRequests).toBe(before + 2);
    expect(outcome.event).toBe('token');
    const token = (outcome as { token: string }).token;
    expect((await fx.as.introspect(token)).active).toBe(true);
    const stored = await fx.tokens.getTokens(GMAIL_ENTRY);
    expect(stored?.accessToken).toBe(token);
    expect(stored?.refreshToken).not.toBe(granted.refreshToken);
    const next = await fx.service.getAccessToken(GMAIL_ENTRY, { forceRefresh: true });
    expect((await fx.as.introspect(next)).active).toBe(true);
  });

  it('the provider refuses a revoked grant’s refresh while a new grant is stored: the new one is kept and used', {
    timeout: TIMEOUT,
  }, async () => {
    const { fx } = shared;
    await expiredGrantAndTwoProcesses(true, 1);
    const [collector] = children;
    await fx.as.revokeGrants(GMAIL_ACCOUNT);
    const hold = fx.as.holdTokenRequests();
    try {
      // The collector process presents the revoked grant's refresh token (held there)…
      collector!.go();
      await hold.arrived(1);
      // …while the user grants again in this process (its code exchange passes first).
      const granting = fx.grant(GMAIL_ENTRY, GMAIL_ACCOUNT);
      await hold.arrived(2);
      await hold.release(1);
      await granting;
      await hold.releaseNext();
    } finally {
      hold.end();
    }
    const regranted = (await fx.tokens.getTokens(GMAIL_ENTRY))!;
    const outcome = await collector!.outcome();

    // invalid_grant was about the old grant: the new one is neither deleted nor reported lost.
    expect(outcome).toEqual({ event: 'token', token: regranted.accessToken });
    expect(collector!.messages.filter((m) => m.event === 'oauth')).toEqual([]);
    expect(await fx.tokens.getTokens(GMAIL_ENTRY)).toEqual(regranted);
    expect((await fx.as.introspect(regranted.accessToken)).active).toBe(true);
  });

  it('control: without the lease both refresh, and reuse detection revokes the grant: no token works any more', {
    timeout: TIMEOUT,
  }, async () => {
    const { fx } = shared;
    await expiredGrantAndTwoProcesses(false);
    const before = fx.as.tokenRequests;
    const hold = fx.as.holdTokenRequests();
    try {
      for (const child of children) child.go();
      // Both present the same refresh token; the provider answers them one after the other.
      await hold.arrived(2);
      await hold.releaseNext();
      await hold.releaseNext();
    } finally {
      hold.end();
    }
    const outcomes = await Promise.all(children.map((child) => child.outcome()));

    expect(fx.as.tokenRequests).toBe(before + 2);
    // The first answer rotated the token; the second one presented the old token again, so
    // the provider revoked the grant: the token the first process got died with it. (The
    // second process either reports needs permission or — when the first had already stored
    // its token — hands out that dead token, which the next login turns into the same.)
    const tokens = outcomes.flatMap((o) => (o.event === 'token' ? [o.token] : []));
    expect(tokens.length).toBeGreaterThan(0);
    for (const token of tokens) expect((await fx.as.introspect(token)).active).toBe(false);
    for (const outcome of outcomes.filter((o) => o.event === 'error')) {
      expect(outcome).toMatchObject({ code: 'OAUTH_NEEDS_PERMISSION', oauthError: 'invalid_grant' });
    }
    const stored = await fx.tokens.getTokens(GMAIL_ENTRY);
    if (stored) {
      const error = await failure(fx.service.getAccessToken(GMAIL_ENTRY, { forceRefresh: true }));
      expect(error).toMatchObject({
        code: 'OAUTH_NEEDS_PERMISSION',
        context: { oauthError: 'invalid_grant' },
      });
    }
  });
}

describe('refresh across processes: one SQLite file', () => {
  raceSuite(async () => {
    const dir = await mkdtemp(join(tmpdir(), 'multipop-refresh-race-'));
    const path = join(dir, 'multipop.db');
    const key = generateStoreKey();
    const store = await openSqliteStore({ path, key, busyTimeoutMs: 10_000 });
    const fx = await startOAuthFixture({
      server: { rotateRefreshTokens: true },
      stores: { tokens: store.tokens, directory: store.directory },
    });
    return {
      args: { type: 'sqlite', path, key },
      fx,
      close: async () => {
        await fx.stop();
        await store.close();
        await rm(dir, { recursive: true, force: true });
      },
    };
  });
});

describeWithPostgres('refresh across processes: one PostgreSQL schema', () => {
  let pg: PostgresServer | undefined;
  raceSuite(async () => {
    pg = await startPostgres();
    const url = pg.url;
    const schema = freshSchema();
    const key = generateStoreKey();
    const store = await openPostgresStore({ url, schema, key, maxConnections: 4 });
    const fx = await startOAuthFixture({
      server: { rotateRefreshTokens: true },
      stores: { tokens: store.tokens, directory: store.directory },
    });
    return {
      args: { type: 'postgres', url, schema, key },
      fx,
      close: async () => {
        await fx.stop();
        await store.close();
        await dropSchema(url, schema);
        await pg?.stop();
      },
    };
  });
});
