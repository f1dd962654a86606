import { expect, it } from 'vitest';
import { startCourier } from '../helpers/servers/courier.js';
import { RawPop3 } from '../helpers/servers/raw-pop3.js';
import { defineSmokeSuite, smokeMessages, smokeUsers } from './smoke-suite.js';

defineSmokeSuite('courier', startCourier, (server) => {
  const user = smokeUsers[0]!;

  it('wraps a message with 8-bit headers for a client that did not send UTF8', async () => {
    const pop = await RawPop3.connect({ port: server().port });
    try {
      await pop.readLine();
      await pop.command(`USER ${user.name}`);
      expect(await pop.command(`PASS ${user.password}`)).toMatch(/^\+OK/);
      const served = await pop.retr(1);
      expect(served.toString('latin1')).toContain('Subject: Cannot display Unicode content');
      expect(served.toString('latin1')).toContain('Content-Type: message/global');
      // The plain 7-bit message is served as stored.
      expect(await pop.retr(2)).toEqual(smokeMessages[1]);
      await pop.quit();
    } finally {
      pop.close();
    }
  });

  it('loses commands pipelined behind PASS (the login process execs the mail process)', async () => {
    const pop = await RawPop3.connect({ port: server().port, timeoutMs: 1_500 });
    try {
      await pop.readLine();
      pop.write(`USER ${user.name}\r\nPASS ${user.password}\r\nSTAT\r\n`);
      expect((await pop.readLine()).toString()).toMatch(/^\+OK/);
      expect((await pop.readLine()).toString()).toMatch(/^\+OK/);
      await expect(pop.readLine()).rejects.toThrow(/no line/);
      // The session itself works: a command sent after the PASS reply is answered.
      expect(await pop.command('STAT')).toMatch(/^\+OK 2 /);
      await pop.quit();
    } finally {
      pop.close();
    }
  });
});
