import { afterEach, describe, expect, it, vi } from 'vitest';
import { MultiPopError } from '../../src/errors/index.js';
import {
  createLog,
  type Logger,
  REDACTED,
  redact,
  SecretRegistry,
  silentLogger,
} from '../../src/log/index.js';

const SECRETS = {
  password: 'hunter2-Pa55word',
  accessToken: 'ya29.a0AfH6SMBaccess-token-value',
  refreshToken: '1//0gRefresh-token-value-xyz',
  clientSecret: 'GOCSPX-client-secret-value',
  apopDigest: 'c4c9334bac560ecc979e58001b3e22fb',
};
const ALL_SECRETS = Object.values(SECRETS);

interface Entry {
  level: keyof Logger;
  obj: Record<string, unknown>;
  msg: string | undefined;
}

/** A host logger at debug level that keeps every entry, as pino would serialise it. */
function capturingLogger(): Logger & { entries: Entry[]; text(): string } {
  const entries: Entry[] = [];
  const at = (level: keyof Logger) => (obj: Record<string, unknown>, msg?: string) => {
    entries.push({ level, obj, msg });
  };
  return {
    entries,
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    text: () => JSON.stringify(entries),
  };
}

function expectNoSecret(text: string): void {
  for (const secret of ALL_SECRETS) expect(text).not.toContain(secret);
}

describe('secrets never reach the host logger', () => {
  it('values under secret-looking keys are replaced, at any depth, on every level', () => {
    const host = capturingLogger();
    const log = createLog(host, { component: 'test' });
    const entry = {
      user: 'ann',
      host: 'pop.example.com',
      password: SECRETS.password,
      accessToken: SECRETS.accessToken,
      refresh_token: SECRETS.refreshToken,
      clientSecret: SECRETS.clientSecret,
      apopDigest: SECRETS.apopDigest,
      authorization: `Bearer ${SECRETS.accessToken}`,
      tokens: { access: SECRETS.accessToken },
      nested: { deeper: [{ token: SECRETS.refreshToken, messages: 3 }] },
    };
    log.debug(entry, 'debug line');
    log.info(entry, 'info line');
    log.warn(entry, 'warn line');
    log.error(entry, 'error line');

    expect(host.entries.map((e) => e.level)).toEqual(['debug', 'info', 'warn', 'error']);
    expectNoSecret(host.text());
    const first = host.entries[0]!.obj;
    expect(first['password']).toBe(REDACTED);
    expect(first['accessToken']).toBe(REDACTED);
    expect(first['refresh_token']).toBe(REDACTED);
    expect(first['clientSecret']).toBe(REDACTED);
    expect(first['apopDigest']).toBe(REDACTED);
    expect(first['authorization']).toBe(REDACTED);
    expect(first['tokens']).toBe(REDACTED);
    // Non-secret fields and bindings arrive unchanged.
    expect(first).toMatchObject({ component: 'test', user: 'ann', host: 'pop.example.com' });
    expect((first['nested'] as { deeper: Array<Record<string, unknown>> }).deeper[0]).toEqual({
      token: REDACTED,
      messages: 3,
    });
    expect(host.entries[0]!.msg).toBe('debug line');
  });

  it('known secrets are scrubbed inside strings, messages, URLs, errors and their causes', () => {
    const host = capturingLogger();
    const secrets = new SecretRegistry();
    for (const secret of ALL_SECRETS) secrets.add(secret);
    const log = createLog(host, { mailboxId: 'm1' }, secrets);

    const cause = new Error(`token endpoint said: refresh_token=${SECRETS.refreshToken} is invalid`);
    const error = new MultiPopError(
      'AUTH_FAILED',
      `server rejected PASS ${SECRETS.password}`,
      { mailboxId: 'm1', response: `-ERR bad digest ${SECRETS.apopDigest}` },
      { cause },
    );
    log.error({ err: error, command: 'PASS' }, `login failed with ${SECRETS.password}`);
    log.info(
      { url: `https://mail.example.com/cb?access_token=${SECRETS.accessToken}&state=abc` },
      'redirect',
    );
    log.debug({ sent: `APOP ann ${SECRETS.apopDigest}`, lines: [`client_secret=${SECRETS.clientSecret}`] });
    log.warn({ deep: { a: { b: { c: `x${SECRETS.password}y` } } } }, 'deep');

    const text = host.text();
    expectNoSecret(text);
    expect(host.entries[0]!.msg).toBe(`login failed with ${REDACTED}`);
    const err = host.entries[0]!.obj['err'] as Record<string, unknown>;
    expect(err['name']).toBe('MultiPopError');
    expect(err['code']).toBe('AUTH_FAILED');
    expect(err['message']).toBe(`server rejected PASS ${REDACTED}`);
    expect((err['cause'] as Record<string, unknown>)['message']).toContain('token endpoint said');
    expect(host.entries[1]!.obj['url']).toBe(
      `https://mail.example.com/cb?access_token=${REDACTED}&state=abc`,
    );
    expect(host.entries[2]!.obj['sent']).toBe(`APOP ann ${REDACTED}`);
    expect(text).toContain('"mailboxId":"m1"');
    expect(text).toContain('"command":"PASS"');
  });

  it('a secret registered after the log was created is scrubbed too, also by children', () => {
    const host = capturingLogger();
    const secrets = new SecretRegistry();
    const log = createLog(host, { component: 'auth' }, secrets);
    const child = log.child({ connection: 7 });
    secrets.add(SECRETS.accessToken);
    child.info({ line: `AUTH XOAUTH2 user=ann auth=Bearer ${SECRETS.accessToken}` }, 'sent');
    expectNoSecret(host.text());
    expect(host.entries[0]!.obj).toMatchObject({ component: 'auth', connection: 7 });
  });

  it('wrapping a wrapper scrubs the secrets of both, keeps both bindings, and calls the host once', () => {
    const host = capturingLogger();
    const outer = new SecretRegistry();
    const inner = new SecretRegistry();
    const fetcherLog = createLog(host, { component: 'fetcher' }, outer);
    const connectionLog = createLog(fetcherLog, { cid: 'c1' }, inner);
    outer.add(SECRETS.password);
    inner.add(SECRETS.apopDigest);
    connectionLog.debug({ line: `${SECRETS.password} ${SECRETS.apopDigest}` }, SECRETS.password);
    expectNoSecret(host.text());
    expect(host.entries).toHaveLength(1);
    expect(host.entries[0]!.obj).toEqual({
      component: 'fetcher',
      cid: 'c1',
      line: `${REDACTED} ${REDACTED}`,
    });
  });

  it('child bindings are redacted like entries', () => {
    const host = capturingLogger();
    createLog(host).child({ mailboxId: 'm2', password: SECRETS.password }).info({}, 'x');
    expectNoSecret(host.text());
    expect(host.entries[0]!.obj).toEqual({ mailboxId: 'm2', password: REDACTED });
  });

  it('message bytes are never logged, only their size', () => {
    const host = capturingLogger();
    createLog(host).debug({ chunk: Buffer.from(`Subject: x\r\n\r\n${SECRETS.password}\r\n`) });
    expectNoSecret(host.text());
    expect(host.entries[0]!.obj['chunk']).toMatch(/^<\d+ bytes>$/);
  });

  it('cycles and very deep objects do not break logging', () => {
    const host = capturingLogger();
    const cyclic: Record<string, unknown> = { name: 'loop' };
    cyclic['self'] = cyclic;
    let deep: Record<string, unknown> = { password: SECRETS.password };
    for (let i = 0; i < 20; i++) deep = { next: deep };
    createLog(host).info({ cyclic, deep });
    expectNoSecret(host.text());
    expect(host.entries).toHaveLength(1);
  });

  it('short values are not registered as secrets (they would shred ordinary text)', () => {
    const secrets = new SecretRegistry();
    secrets.add('abc');
    secrets.add('');
    secrets.add(undefined);
    expect([...secrets.values()]).toEqual([]);
    expect(redact('abc abc', ['abc'])).toBe('abc abc');
  });

  it('redact() scrubs the longest secret first, so overlapping secrets leave no fragment', () => {
    expect(redact('token=abcdef123456', ['abcd', 'abcdef123456'])).toBe(`token=${REDACTED}`);
  });
});

describe('the host logger cannot hurt collection', () => {
  it('a throwing host logger does not throw out of the library', () => {
    const throwing: Logger = {
      debug: () => {
        throw new Error('disk full');
      },
      info: () => {
        throw new Error('disk full');
      },
      warn: () => {
        throw new Error('disk full');
      },
      error: () => {
        throw new Error('disk full');
      },
    };
    const log = createLog(throwing, { component: 'x' });
    expect(() => {
      log.debug({ a: 1 }, 'a');
      log.info({ a: 1 }, 'a');
      log.warn({ a: 1 }, 'a');
      log.error({ a: 1 }, 'a');
      log.child({ b: 2 }).error({}, 'b');
    }).not.toThrow();
  });
});

describe('silent by default', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it.each([undefined, false] as const)('createLog(%s) writes nothing anywhere', (logger) => {
    const spies = (['log', 'info', 'warn', 'error', 'debug'] as const).map((method) =>
      vi.spyOn(console, method).mockImplementation(() => {}),
    );
    const stdout = vi.spyOn(process.stdout, 'write');
    const stderr = vi.spyOn(process.stderr, 'write');
    const log = createLog(logger, { component: 'quiet' });
    log.debug({ password: SECRETS.password }, 'a');
    log.info({}, 'b');
    log.warn({}, 'c');
    log.error({}, 'd');
    log.child({ x: 1 }).error({}, 'e');
    for (const spy of [...spies, stdout, stderr]) expect(spy).not.toHaveBeenCalled();
  });

  it('silentLogger is frozen and accepts every level', () => {
    expect(Object.isFrozen(silentLogger)).toBe(true);
    expect(() => silentLogger.error({}, 'x')).not.toThrow();
  });
});
