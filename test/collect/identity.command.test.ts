/**
 * The single-mailbox collector command (examples/collect-to-maildir.ts) on a mass UIDL change it
 * cannot confirm (a server without TOP): it delivers nothing again, exits non-zero with the
 * error code, and a later run still refuses until an administrator resolves the mailbox.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type FakePop3Server, startFakePop3Server } from '../../src/testing/fake-pop3/index.js';
import { readMaildir, startCollector } from '../support/collector-command.js';
import { testMessage } from '../support/messages.js';

let server: FakePop3Server | undefined;
let work: string | undefined;
afterEach(async () => {
  await server?.close();
  if (work) await rm(work, { recursive: true, force: true });
  server = undefined;
  work = undefined;
});

describe('collect-to-maildir on a mass UIDL change it cannot confirm', () => {
  it('exits 1 with IDENTITY_UNCERTAIN and delivers nothing twice', async () => {
    server = await startFakePop3Server({
      users: [
        { name: 'ann', password: 'pw', messages: Array.from({ length: 12 }, (_, i) => testMessage(i + 1)) },
      ],
      capabilities: { pipelining: true, top: false },
    });
    work = await mkdtemp(join(tmpdir(), 'multipop-identity-command-'));
    const env = {
      POP_HOST: server.host,
      POP_PORT: String(server.port),
      POP_TLS: 'none',
      POP_USER: 'ann',
      POP_PASS: 'pw',
      MAILDIR: join(work, 'maildir'),
      STATE_DIR: join(work, 'state'),
      KEEP: '1',
      POP_TIMEOUT: '10',
    };
    const first = await startCollector(env).done;
    expect(first, first.stderr).toMatchObject({ code: 0 });
    expect(await readMaildir(env.MAILDIR)).toHaveLength(12);

    server.renameUids('ann', (_uid, i) => `rebuilt-${i}`);
    for (let run = 0; run < 2; run++) {
      const paused = await startCollector(env).done;
      expect(paused.code).toBe(1);
      expect(paused.stderr).toMatch(/^multipop: IDENTITY_UNCERTAIN: /m);
      expect(await readMaildir(env.MAILDIR)).toHaveLength(12);
    }
  });
});
