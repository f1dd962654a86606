/**
 * The fake POP3 server's overlapping-login counter and autologout, which the fleet test relies on
 * to prove "never two sessions on one mailbox".
 */
import { describe, expect, it } from 'vitest';
import { Pop3Client } from '../../src/pop3/index.js';
import { startFakePop3Server } from '../../src/testing/index.js';

describe('fake POP3 server: overlapping logins and autologout', () => {
  it('counts a login that finds the maildrop held; autologout ends an idle session and frees it', async () => {
    const server = await startFakePop3Server({
      users: [{ name: 'ann', password: 'pw', messages: [Buffer.from('Subject: a\r\n\r\nx\r\n')] }],
      autologoutMs: 300,
    });
    const connect = () => Pop3Client.connect({ host: server.host, port: server.port, tls: 'none' });
    try {
      const first = await connect();
      await first.login('ann', 'pw');
      await first.dele(1);
      const second = await connect();
      await expect(second.login('ann', 'pw')).rejects.toMatchObject({ code: 'IN_USE' });
      second.close();
      expect(server.overlappingLogins('ann')).toBe(1);
      expect(server.overlappingLogins()).toBe(1);
      // The first session now idles: the server logs it out, the DELE rolls back, the lock is free.
      await server.connectionsEnded();
      expect(server.mailbox('ann').messages).toHaveLength(1);
      const third = await connect();
      await third.login('ann', 'pw');
      await third.quit();
      expect(server.overlappingLogins()).toBe(1);
    } finally {
      await server.close();
    }
  });
});
