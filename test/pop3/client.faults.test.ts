import { createServer, type Server } from 'node:net';
import { describe, expect, it } from 'vitest';
import { isMultiPopError, type MultiPopError } from '../../src/errors/index.js';
import type { Pop3Client } from '../../src/pop3/client.js';
import { Pop3State } from '../../src/pop3/state.js';
import type { FakePop3Fault, FakePop3Server } from '../../src/testing/fake-pop3/index.js';
import { fakeServerPerTest } from '../support/fake-server-per-test.js';
import { connectTo, expectCode, readAll, TRICKY_MESSAGES } from './support/fake.js';

const start = fakeServerPerTest({ users: [{ name: 'ann', password: 'pw', messages: TRICKY_MESSAGES }] });

/** The protocol steps of a full session, in the order {@link fullSession} performs them. */
const STEPS = [
  'greeting',
  'CAPA',
  'USER',
  'PASS',
  'STAT',
  'LIST',
  'UIDL',
  'TOP',
  'RETR',
  'DELE',
  'RSET',
  'NOOP',
  'QUIT',
];

/**
 * Runs every command once, in STEPS order. Returns the step whose operation failed and its
 * error (or `done`), plus the client if it got connected.
 */
async function fullSession(
  srv: FakePop3Server,
  timeouts = { connect: 2000, greeting: 2000, idle: 2000 },
): Promise<{ step: string; error?: MultiPopError; client?: Pop3Client }> {
  let client: Pop3Client;
  try {
    client = await connectTo(srv, { timeouts });
  } catch (err) {
    return { step: 'connect', error: err as MultiPopError };
  }
  const ops: Array<[string, () => Promise<unknown>]> = [
    ['USER+PASS', () => client.login('ann', 'pw')],
    ['STAT', () => client.stat()],
    ['LIST', () => client.list()],
    ['UIDL', () => client.uidl()],
    ['TOP', () => client.top(1, 1)],
    ['RETR', async () => readAll(await client.retr(1))],
    ['DELE', () => client.dele(1)],
    ['RSET', () => client.rset()],
    ['NOOP', () => client.noop()],
    ['QUIT', () => client.quit()],
  ];
  for (const [step, op] of ops) {
    try {
      await op();
    } catch (err) {
      return { step, error: err as MultiPopError, client };
    }
  }
  return { step: 'done', client };
}

/** Where a failure injected at `step` must surface. */
function surfacesAt(step: string): string {
  if (step === 'greeting' || step === 'CAPA') return 'connect';
  if (step === 'USER' || step === 'PASS') return 'USER+PASS';
  return step;
}

describe('Pop3Client under faults', () => {
  it.each([1, 2, 3, 7])(
    'reads a whole pipelined session with every response split into %i-byte pieces',
    async (size) => {
      const srv = await start({ chunkSize: size, capabilities: { pipelining: true } });
      const client = await connectTo(srv);
      await client.login('ann', 'pw');
      const listing = client.uidl();
      const bodies = TRICKY_MESSAGES.map((_, i) => client.retr(i + 1));
      expect((await listing).length).toBe(TRICKY_MESSAGES.length);
      for (const [i, body] of bodies.entries()) {
        expect((await readAll(await body)).equals(TRICKY_MESSAGES[i]!)).toBe(true);
      }
      await client.quit();
    },
  );

  describe.each(STEPS)('a connection dropped at %s', (step) => {
    it('rejects the operation in flight with CONNECTION_CLOSED and closes the client', async () => {
      const srv = await start({ faults: [{ action: 'drop', when: { step } }] });
      const outcome = await fullSession(srv);
      expect(outcome.step).toBe(surfacesAt(step));
      expect(outcome.error?.code).toBe('CONNECTION_CLOSED');
      expect(outcome.client?.state ?? Pop3State.CLOSED).toBe(Pop3State.CLOSED);
      // Nothing was committed: DELE counts only after +OK to QUIT.
      expect(srv.mailbox('ann').messages).toHaveLength(TRICKY_MESSAGES.length);
      if (outcome.client) await expectCode(outcome.client.noop(), 'INVALID_STATE');
    });
  });

  describe.each(STEPS)('a server stalling at %s', (step) => {
    it('times out with a typed error instead of hanging', async () => {
      const srv = await start({ faults: [{ action: 'stall', when: { step } }] });
      const outcome = await fullSession(srv, { connect: 300, greeting: 300, idle: 300 });
      expect(outcome.step).toBe(surfacesAt(step));
      expect(outcome.error?.code).toBe(step === 'greeting' ? 'GREETING_TIMEOUT' : 'COMMAND_TIMEOUT');
      expect(outcome.client?.state ?? Pop3State.CLOSED).toBe(Pop3State.CLOSED);
    });
  });

  it('errors the body stream when the connection drops in the middle of a body', async () => {
    const big = Buffer.alloc(512 * 1024, 'mid body drop\r\n');
    const srv = await start({
      users: [{ name: 'ann', password: 'pw', messages: [big] }],
      faults: [{ action: 'drop', when: { step: 'RETR', afterBodyBytes: 100_000 } }],
    });
    const client = await connectTo(srv);
    await client.login('ann', 'pw');
    const stream = await client.retr(1);
    await expectCode(readAll(stream), 'CONNECTION_CLOSED');
    expect(client.state).toBe(Pop3State.CLOSED);
  });

  it('errors the body stream when the server stalls in the middle of a body (idle timeout)', async () => {
    const srv = await start({ faults: [{ action: 'stall', when: { step: 'RETR', afterBodyBytes: 20 } }] });
    const client = await connectTo(srv, { timeouts: { idle: 300 } });
    await client.login('ann', 'pw');
    const stream = await client.retr(1);
    const error = await expectCode(readAll(stream), 'COMMAND_TIMEOUT');
    expect(error.context).toMatchObject({ command: 'RETR', timeoutMs: 300 });
  });

  it('ends a never-ending body at the size limit', async () => {
    const srv = await start({ faults: [{ action: 'endlessBody', when: { step: 'RETR' } }] });
    const client = await connectTo(srv, { limits: { maxMessageSize: 1024 * 1024 } });
    await client.login('ann', 'pw');
    const stream = await client.retr(1);
    const error = await expectCode(readAll(stream), 'LIMIT_EXCEEDED');
    expect(error.context).toMatchObject({ limit: 'maxMessageSize', command: 'RETR' });
    expect(client.state).toBe(Pop3State.CLOSED);
  });

  it('bounds a 10 MB status line without CRLF (greeting and command response)', async () => {
    for (const step of ['greeting', 'STAT']) {
      const srv = await start({ faults: [{ action: 'hugeLine', when: { step }, bytes: 10 * 1024 * 1024 }] });
      if (step === 'greeting') {
        const error = await expectCode(connectTo(srv), 'LIMIT_EXCEEDED');
        expect(error.context.limit).toBe('maxLineLength');
      } else {
        const client = await connectTo(srv);
        await client.login('ann', 'pw');
        await expectCode(client.stat(), 'LIMIT_EXCEEDED');
        // The client stopped reading right after the limit: far less than the 10 MB arrived.
        expect(client.bytesReceived).toBeLessThan(1024 * 1024);
      }
      await srv.close();
    }
  });

  it('trusts the bytes, not the sizes LIST and STAT claim', async () => {
    const srv = await start({ reportSize: (size) => size * 10 + 1 });
    const client = await connectTo(srv);
    await client.login('ann', 'pw');
    const listing = await client.list();
    expect(listing[0]!.size).toBe(TRICKY_MESSAGES[0]!.length * 10 + 1);
    for (const [i, original] of TRICKY_MESSAGES.entries()) {
      expect((await readAll(await client.retr(i + 1))).equals(original)).toBe(true);
    }
    await client.quit();
  });

  it('maps -ERR response codes and keeps the session usable', async () => {
    const srv = await start({
      faults: [{ action: 'respond', when: { step: 'RETR', nth: 1 }, line: '-ERR [SYS/TEMP] disk busy' }],
    });
    const client = await connectTo(srv);
    await client.login('ann', 'pw');
    const error = await expectCode(client.retr(1), 'SYS_TEMP');
    expect(error.context).toMatchObject({ command: 'RETR', responseCode: 'SYS/TEMP', response: 'disk busy' });
    expect((await readAll(await client.retr(1))).equals(TRICKY_MESSAGES[0]!)).toBe(true);
    await expectCode(client.retr(99), 'SERVER_ERROR');
    await client.quit();
  });

  it('rejects a -ERR greeting with its response code', async () => {
    const srv = await start({
      faults: [{ action: 'respond', when: { step: 'greeting' }, line: '-ERR [SYS/TEMP] too busy' }],
    });
    const error = await expectCode(connectTo(srv), 'SYS_TEMP');
    expect(error.context.command).toBe('GREETING');
  });

  it.each<[string, FakePop3Fault]>([
    ['a line that is not a status line', { action: 'respond', when: { step: 'STAT' }, line: 'HELLO THERE' }],
    ['a SASL continuation to a plain command', { action: 'respond', when: { step: 'STAT' }, line: '+ abc' }],
  ])('ends the session with PROTOCOL_ERROR on %s', async (_name, fault) => {
    const srv = await start({ faults: [fault] });
    const client = await connectTo(srv);
    await client.login('ann', 'pw');
    await expectCode(client.stat(), 'PROTOCOL_ERROR');
    expect(client.state).toBe(Pop3State.CLOSED);
  });

  it('reports an unsolicited -ERR as an event, never as an error event, then the close', async () => {
    const srv = await start({
      faults: [
        {
          action: 'unsolicited',
          when: { step: 'NOOP' },
          afterMs: 30,
          line: '-ERR [SYS/TEMP] autologout',
          thenClose: true,
        },
      ],
    });
    const client = await connectTo(srv);
    await client.login('ann', 'pw');
    const unsolicited: unknown[] = [];
    client.on('unsolicited', (info) => unsolicited.push(info));
    const closed = new Promise<{ error?: MultiPopError }>((resolve) => client.once('close', resolve));
    await client.noop();
    const info = await closed;
    expect(unsolicited).toEqual([
      { line: '-ERR [SYS/TEMP] autologout', status: { ok: false, code: 'SYS/TEMP', text: 'autologout' } },
    ]);
    expect(info.error?.code).toBe('CONNECTION_CLOSED');
    expect(client.listenerCount('error')).toBe(0);
    await expectCode(client.stat(), 'INVALID_STATE');
  });

  it('rejects every pipelined operation when the connection fails, none stays pending', async () => {
    const srv = await start({
      capabilities: { pipelining: true },
      faults: [{ action: 'drop', when: { step: 'RETR', nth: 2 } }],
    });
    const client = await connectTo(srv);
    await client.login('ann', 'pw');
    const ops = [client.retr(1), client.retr(2), client.retr(3), client.dele(1), client.stat()];
    const results = await Promise.allSettled(
      ops.map(async (op) => {
        const value = await op;
        if (value && typeof value === 'object' && 'pipe' in value) return readAll(value);
        return value;
      }),
    );
    expect(results[0]!.status).toBe('fulfilled');
    for (const result of results.slice(1)) {
      expect(result.status).toBe('rejected');
      const reason = (result as PromiseRejectedResult).reason;
      expect(isMultiPopError(reason, 'CONNECTION_CLOSED')).toBe(true);
    }
  });

  it('aborts through an AbortSignal, before connecting and in the middle of a session', async () => {
    const srv = await start({ faults: [{ action: 'stall', when: { step: 'STAT' } }] });
    await expectCode(connectTo(srv, { signal: AbortSignal.abort() }), 'ABORTED');
    const controller = new AbortController();
    const client = await connectTo(srv, { signal: controller.signal, timeouts: { idle: 10_000 } });
    await client.login('ann', 'pw');
    const stat = client.stat();
    setTimeout(() => controller.abort(), 50);
    await expectCode(stat, 'ABORTED');
    expect(client.state).toBe(Pop3State.CLOSED);
  });

  it('reports a refused connection and a silent peer during TLS set-up', async () => {
    const srv = await start();
    const port = srv.port;
    await srv.close();
    await expectCode(connectTo({ ...srv, port } as FakePop3Server), 'CONNECT_FAILED');

    const silent: Server = createServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const address = silent.address();
    const silentPort = typeof address === 'object' && address ? address.port : 0;
    try {
      const error = await expectCode(
        connectTo({ host: '127.0.0.1', port: silentPort } as FakePop3Server, {
          tls: 'implicit',
          timeouts: { connect: 300 },
        }),
        'CONNECT_TIMEOUT',
      );
      expect(error.context.timeoutMs).toBe(300);
      await expectCode(
        connectTo({ host: '127.0.0.1', port: silentPort } as FakePop3Server, { timeouts: { greeting: 300 } }),
        'GREETING_TIMEOUT',
      );
    } finally {
      silent.close();
    }
  });

  it('enforces the listing entry limit', async () => {
    const srv = await start({ capabilities: { capa: false } });
    const client = await connectTo(srv, { limits: { maxListingEntries: 2 } });
    await client.login('ann', 'pw');
    const error = await expectCode(client.uidl(), 'LIMIT_EXCEEDED');
    expect(error.context.limit).toBe('maxListingEntries');
  });
});
