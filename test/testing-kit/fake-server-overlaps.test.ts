/**
 * The fake POP3 server's overlapping-login counter and autologout, which the fleet test relies on
 * to prove "never two sessions on one mailbox". Two cases, so that no assertion depends on how
 * fast a loaded machine makes the second login: the counter is checked without autologout, and
 * autologout is checked by waiting for the connection to end.
 */
import { describe, expect, it } from 'vitest';
import { Pop3Client } from '../../src/pop3/index.js';
import { startFakePop3Server } from '../../src/testing/index.js';

const ann = () => ({ name: 'ann', password: 'pw', messages: [Buffer.from('Subject: a\r\n\r\nx\r\n')] });

describe('fake POP3 server: overlapping logins and autologout', () => {
  it('counts a login that finds the maildrop held, per mailbox and in total', async () => {
    const server = await startFakePop3Server({ users: [ann()] });
    const connect = () => Pop3Client.connect({ host: server.host, port: server.port, tls: 'none' });
    try {
      const first = await connect();
      await first.login('ann', 'pw');
      const second = await connect();
      await expect(second.login('ann', 'pw')).rejects.toMatchObject({ code: 'IN_USE' });
      second.close();
      expect(server.overlappingLogins('ann')).toBe(1);
      expect(server.overlappingLogins()).toBe(1);
      await first.quit();
      const third = await connect();
      await third.login('ann', 'pw');
      await third.quit();
      expect(server.overlappingLogins()).toBe(1);
    } finally {
      await server.close();
    }
  });

  it('autologout ends an idle session: its DELE rolls back and the maildrop is free again', async () => {
    const server = await startFakePop3Server({ users: [ann()], autologoutMs: 300 });
    const connect = () => Pop3Client.connect({ host: server.host, port: server.port, tls: 'none' });
    try {
      const first = await connect();
      await first.login('ann', 'pw');
      await first.dele(1);
      await server.connectionsEnded();
      expect(server.mailbox('ann').messages).toHaveLength(1);
      const next = await connect();
      await next.login('ann', 'pw');
      await next.quit();
      expect(server.overlappingLogins()).toBe(0);
    } finally {
      await server.close();
    }
  });
});
