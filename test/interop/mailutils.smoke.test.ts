import { expect, it } from 'vitest';
import { startMailutils } from '../helpers/servers/mailutils.js';
import { RawPop3 } from '../helpers/servers/raw-pop3.js';
import { defineSmokeSuite, smokeMessages, smokeUsers } from './smoke-suite.js';

defineSmokeSuite('mailutils', startMailutils, (server) => {
  const user = smokeUsers[0]!;

  it('inserts X-UIDL into what it serves, and into the stored message, once UIDL was asked', async () => {
    const pop = await RawPop3.connect({ port: server().port });
    let uid: string;
    try {
      await pop.readLine();
      await pop.command(`USER ${server().loginName(user.name)}`);
      expect(await pop.command(`PASS ${user.password}`)).toMatch(/^\+OK/);
      const reply = await pop.command('UIDL 2');
      expect(reply).toMatch(/^\+OK 2 \S+$/);
      uid = reply.split(' ')[2]!;
      const served = await pop.retr(2);
      const original = smokeMessages[1]!;
      const headerEnd = original.indexOf('\r\n\r\n') + 2;
      expect(served).toEqual(
        Buffer.concat([
          original.subarray(0, headerEnd),
          Buffer.from(`X-UIDL: ${uid}\r\n`),
          original.subarray(headerEnd),
        ]),
      );
      await pop.quit();
    } finally {
      pop.close();
    }
    const stored = (await server().messages(user.name))[1]!;
    expect(stored.toString('latin1')).toContain(`X-UIDL: ${uid}\r\n`);
  });
});
