import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { type FakePop3Server, startFakePop3Server } from '../../src/testing/fake-pop3/index.js';
import { dotStuff, topOf } from '../../src/testing/fake-pop3/wire.js';
import { dotStuff as referenceDotStuff } from './support/dot-stuffing.js';
import { connectTo, expectCode, readAll } from './support/fake.js';

let server: FakePop3Server | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe('fake POP3 server', () => {
  it('dot-stuffs exactly like the byte-by-byte reference sender', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(0x2e, 0x0d, 0x0a, 0x41, 0xff)), (bytes) => {
        const message = Buffer.from(bytes);
        expect(dotStuff(message).equals(referenceDotStuff(message))).toBe(true);
      }),
      { numRuns: 3000 },
    );
  });

  it('cuts TOP after the header block and n body lines', () => {
    const message = Buffer.from('A: 1\r\nB: 2\r\n\r\nl1\r\nl2\r\nl3\r\n');
    expect(topOf(message, 0).toString()).toBe('A: 1\r\nB: 2\r\n\r\n');
    expect(topOf(message, 2).toString()).toBe('A: 1\r\nB: 2\r\n\r\nl1\r\nl2\r\n');
    expect(topOf(message, 10).toString()).toBe(message.toString());
  });

  it('keeps UIDs stable, sees added messages in new sessions, and counts faults per occurrence', async () => {
    server = await startFakePop3Server({
      users: [
        { name: 'ann', password: 'pw', messages: [{ data: Buffer.from('X: 1\r\n\r\n'), uid: 'fixed' }] },
      ],
      faults: [{ action: 'respond', when: { step: 'STAT', nth: 2 }, line: '-ERR [SYS/TEMP] second' }],
    });
    server.addMessage('ann', Buffer.from('X: 2\r\n\r\n'));
    const client = await connectTo(server);
    await client.login('ann', 'pw');
    expect(await client.uidl()).toEqual([
      { msg: 1, uid: 'fixed' },
      { msg: 2, uid: 'uid-1' },
    ]);
    await client.stat();
    await expectCode(client.stat(), 'SYS_TEMP');
    await client.stat();
    expect((await readAll(await client.retr(2))).toString()).toBe('X: 2\r\n\r\n');
    await client.quit();
    expect(server.mailbox('ann').uids).toEqual(['fixed', 'uid-1']);
    expect(server.connections).toBe(1);
  });
});
