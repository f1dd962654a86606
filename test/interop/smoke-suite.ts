/**
 * The smoke test every interop server harness must pass, spoken with a raw line reader (not our
 * client): greeting, CAPA, USER/PASS, STAT, RETR n == the seeded bytes, DELE + QUIT, and the TLS
 * and APOP variants the server offers. It proves the harness before the client relies on it.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWithInteropServer } from '../helpers/servers/available.js';
import { RawPop3 } from '../helpers/servers/raw-pop3.js';
import type { InteropServer, InteropServerName, InteropServerOptions } from '../helpers/servers/types.js';
import { settledMessages } from './settled.js';

/** The two users of every smoke test (names no system has as an account, for popa3d). */
export const smokeUsers = [
  { name: 'mpsmoke', password: 'Sm0ke-pass' },
  { name: 'mpother', password: 'Other-pass2' },
];

/**
 * Messages every server can store byte for byte: an 8-bit header and body, a line starting with
 * "." (dot-stuffed on the wire), an mbox-style `>From ` line and an empty last body line.
 */
export const smokeMessages: readonly Buffer[] = [
  Buffer.concat([
    Buffer.from('From: Ann <ann@example.org>\r\nSubject: Gr', 'latin1'),
    Buffer.from('üße', 'utf8'),
    Buffer.from(
      '\r\nMessage-ID: <smoke-1@example.org>\r\n\r\n.leading dot\r\n..two dots\r\n.\r\n>From here\r\n',
    ),
    Buffer.from([0x38, 0x2d, 0x62, 0x69, 0x74, 0x3a, 0x20, 0xe9, 0xff, 0x80, 0x0d, 0x0a]),
    Buffer.from('\r\n'),
  ]),
  Buffer.from(
    'From: Bob <bob@example.org>\r\nSubject: second\r\nMessage-ID: <smoke-2@example.org>\r\n\r\nbody two\r\n',
  ),
];

/**
 * Registers the smoke suite for one server.
 *
 * @example
 * ```ts
 * defineSmokeSuite('cyrus', startCyrus);
 * ```
 */
export function defineSmokeSuite(
  name: InteropServerName,
  start: (options: InteropServerOptions) => Promise<InteropServer>,
  extra?: (server: () => InteropServer) => void,
): void {
  describeWithInteropServer(name, `${name} POP3 server harness (raw protocol)`, () => {
    let server: InteropServer;
    const user = smokeUsers[0]!;

    beforeAll(async () => {
      server = await start({ users: smokeUsers });
      await server.seed(user.name, [...smokeMessages]);
    });
    afterAll(() => server?.stop());

    /** Connects on the plain port, reads the greeting and logs in with USER/PASS. */
    async function login(): Promise<RawPop3> {
      const pop = await RawPop3.connect({ port: server.port });
      expect((await pop.readLine()).toString('latin1')).toMatch(/^\+OK/);
      // Courier rewrites 8-bit headers for clients that did not announce UTF8 (RFC 6856).
      if (server.capabilities.utf8) expect(await pop.command('UTF8')).toMatch(/^\+OK/);
      expect(await pop.command(`USER ${server.loginName(user.name)}`)).toMatch(/^\+OK/);
      expect(await pop.command(`PASS ${user.password}`)).toMatch(/^\+OK/);
      return pop;
    }

    it('stores what was seeded', async () => {
      expect(await server.messages(user.name)).toEqual([...smokeMessages]);
      expect(await server.messages(smokeUsers[1]!.name)).toEqual([]);
    });

    it('greets and answers CAPA as documented', async () => {
      const pop = await RawPop3.connect({ port: server.port });
      try {
        const greeting = (await pop.readLine()).toString('latin1');
        expect(greeting).toMatch(/^\+OK/);
        expect(/<[^<>@\s]+@[^<>\s]+>/.test(greeting)).toBe(server.capabilities.apop);
        const capa = await pop.capa();
        if (!server.capabilities.capa) {
          expect(capa).toBeUndefined();
          return;
        }
        expect(capa).toBeDefined();
        const words = new Set((capa ?? []).map((line) => line.split(' ')[0]!.toUpperCase()));
        expect(words.has('UIDL')).toBe(server.capabilities.uidl);
        expect(words.has('TOP')).toBe(server.capabilities.top);
        expect(words.has('STLS')).toBe(server.capabilities.stls);
        expect(words.has('PIPELINING')).toBe(server.capabilities.pipelining);
        expect(words.has('RESP-CODES')).toBe(server.capabilities.respCodes);
        expect(words.has('UTF8')).toBe(server.capabilities.utf8);
        const sasl = (capa ?? []).find((line) => line.toUpperCase().startsWith('SASL'));
        expect(sasl?.split(' ').slice(1) ?? []).toEqual(
          expect.arrayContaining([...server.capabilities.sasl]),
        );
        if (server.capabilities.sasl.length === 0) expect(sasl).toBeUndefined();
        await pop.quit();
      } finally {
        pop.close();
      }
    });

    it('logs in with USER/PASS, counts with STAT and serves every seeded byte with RETR', async () => {
      const pop = await login();
      try {
        expect(await pop.command('STAT')).toMatch(/^\+OK 2 \d+/);
        expect(await pop.retr(1)).toEqual(smokeMessages[0]);
        expect(await pop.retr(2)).toEqual(smokeMessages[1]);
        expect(await pop.quit()).toMatch(/^\+OK/);
      } finally {
        pop.close();
      }
    });

    it('lists UIDs and tops headers when offered', async (ctx) => {
      if (!server.capabilities.uidl || !server.capabilities.top) ctx.skip('no UIDL or TOP');
      const pop = await login();
      try {
        expect(await pop.command('UIDL')).toMatch(/^\+OK/);
        const uidl = (await pop.readBody()).map((line) => line.toString('latin1'));
        expect(uidl).toHaveLength(2);
        expect(uidl[0]).toMatch(/^1 [!-~]{1,70}$/);
        expect(uidl[1]).toMatch(/^2 [!-~]{1,70}$/);
        expect(uidl[0]!.split(' ')[1]).not.toBe(uidl[1]!.split(' ')[1]);
        expect(await pop.command('TOP 2 0')).toMatch(/^\+OK/);
        const header = (await pop.readBody()).map((line) => line.toString('latin1'));
        expect(header).toContain('Subject: second');
        expect(header).not.toContain('body two');
        await pop.quit();
      } finally {
        pop.close();
      }
    });

    it('offers implicit TLS and STLS as declared', async () => {
      if (!server.capabilities.stls) {
        const pop = await RawPop3.connect({ port: server.port });
        try {
          await pop.readLine();
          expect(await pop.command('STLS')).toMatch(/^-ERR/);
          await pop.quit();
        } finally {
          pop.close();
        }
      }
      expect(server.tlsPort !== undefined).toBe(server.capabilities.implicitTls);
      if (server.capabilities.implicitTls) {
        const tls = await RawPop3.connect({ port: server.tlsPort!, tls: { ca: server.caPem! } });
        try {
          expect(tls.encrypted).toBe(true);
          expect((await tls.readLine()).toString('latin1')).toMatch(/^\+OK/);
          expect(await tls.command(`USER ${server.loginName(smokeUsers[1]!.name)}`)).toMatch(/^\+OK/);
          expect(await tls.command(`PASS ${smokeUsers[1]!.password}`)).toMatch(/^\+OK/);
          expect(await tls.command('STAT')).toBe('+OK 0 0');
          await tls.quit();
        } finally {
          tls.close();
        }
      }
      if (server.capabilities.stls) {
        const pop = await RawPop3.connect({ port: server.port });
        try {
          await pop.readLine();
          expect(await pop.startTls(server.caPem!)).toMatch(/^\+OK/);
          expect(pop.encrypted).toBe(true);
          expect(await pop.command(`USER ${server.loginName(smokeUsers[1]!.name)}`)).toMatch(/^\+OK/);
          expect(await pop.command(`PASS ${smokeUsers[1]!.password}`)).toMatch(/^\+OK/);
          await pop.quit();
        } finally {
          pop.close();
        }
      }
    });

    it('accepts APOP when declared', async (ctx) => {
      if (!server.capabilities.apop) ctx.skip('no APOP');
      const pop = await RawPop3.connect({ port: server.port });
      try {
        const greeting = (await pop.readLine()).toString('latin1');
        const stamp = /<[^<>]+>/.exec(greeting)?.[0];
        expect(stamp).toBeDefined();
        const digest = createHash('md5').update(`${stamp}${smokeUsers[1]!.password}`, 'latin1').digest('hex');
        expect(await pop.command(`APOP ${server.loginName(smokeUsers[1]!.name)} ${digest}`)).toMatch(/^\+OK/);
        await pop.quit();
      } finally {
        pop.close();
      }
    });

    extra?.(() => server);

    // Last: it changes the mailbox.
    it('deletes with DELE and QUIT', async () => {
      const pop = await login();
      try {
        expect(await pop.command('DELE 1')).toMatch(/^\+OK/);
        expect(await pop.quit()).toMatch(/^\+OK/);
      } finally {
        pop.close();
      }
      // Courier answers QUIT before it removes the files: wait for the update to land.
      const left = await settledMessages(server, user.name, 1);
      expect(left).toHaveLength(1);
      // Mailutils may have added X-UIDL to what it stores; the body is the seeded one.
      expect(left[0]!.subarray(left[0]!.indexOf('\r\n\r\n'))).toEqual(
        smokeMessages[1]!.subarray(smokeMessages[1]!.indexOf('\r\n\r\n')),
      );
    });
  });
}
