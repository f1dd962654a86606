import { readdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseConfig } from '../../config/index.js';
import { MultiPopFetcher } from '../../fetcher/index.js';
import { maildirQueue, memoryDirectory, memoryLedger } from '../../stores/index.js';
import { startFakePop3Server } from '../../testing/fake-pop3/index.js';
import { demoMessages } from '../demo-mail.js';
import { ExitCode } from '../exit-codes.js';
import { attachProgress, formatBytes, type ProgressOutput } from '../progress.js';

export interface DemoOptions {
  dir: string;
  messages: number;
  largeMb: number;
  out: ProgressOutput;
}

/**
 * `multipop demo`: starts an embedded POP3 server on loopback with sample mail, collects it into
 * a Maildir with the real fetcher, checks every delivered file against the source byte for byte,
 * then collects again to show that nothing is delivered twice.
 */
export async function demoCommand(options: DemoOptions): Promise<number> {
  const { out } = options;
  const maildir = resolve(options.dir);
  const source = demoMessages(options.messages, Math.round(options.largeMb * 1024 * 1024));
  const server = await startFakePop3Server({
    users: [{ name: 'demo', password: 'demo-password', messages: source }],
    capabilities: { pipelining: true, uidl: true, top: true },
  });
  const config = parseConfig({
    settings: { enabled: true },
    users: [
      {
        id: 'demo@example.com',
        entries: [
          {
            id: 'demo-remote',
            server: `${server.host}:${server.port}`,
            tls: 'none',
            username: 'demo',
            password: 'demo-password',
          },
        ],
      },
    ],
  });
  const fetcher = new MultiPopFetcher({
    directory: memoryDirectory(config),
    ledger: memoryLedger(),
    queue: maildirQueue({ root: maildir, single: true }),
  });
  const detach = attachProgress(fetcher, out);
  try {
    const total = source.reduce((n, m) => n + m.length, 0);
    out.write(
      `Embedded POP3 server on ${server.host}:${server.port} with ${source.length} messages (${formatBytes(total)}).\n`,
    );
    const started = Date.now();
    const [first] = await fetcher.collectNow();
    const seconds = (Date.now() - started) / 1000;
    if (!first?.ok) {
      out.write(`Collection failed: ${first?.error?.code ?? first?.skipped ?? 'unknown'}\n`);
      return ExitCode.MAILBOX_FAILED;
    }
    const identical = await verify(join(maildir, 'new'), source);
    const [second] = await fetcher.collectNow();
    out.write(
      `\nCollected ${first.result?.collected} messages (${formatBytes(first.result?.bytes ?? 0)}) into ${join(maildir, 'new')} in ${seconds.toFixed(2)} s.\n` +
        `Byte for byte identical to the source: ${identical}/${source.length}.\n` +
        `Left on the remote server: ${server.mailbox('demo').messages.length}. ` +
        `A second run collected ${second?.result?.collected ?? '?'} (exactly once).\n`,
    );
    return identical === source.length && second?.result?.collected === 0
      ? ExitCode.OK
      : ExitCode.MAILBOX_FAILED;
  } finally {
    detach();
    await fetcher.stop();
    await server.close();
  }
}

/** Counts delivered files that end with one of the source messages' exact bytes. */
async function verify(dir: string, source: Buffer[]): Promise<number> {
  const remaining = new Set(source);
  for (const name of await readdir(dir)) {
    const file = await readFile(join(dir, name));
    for (const original of remaining) {
      if (file.length >= original.length && file.subarray(file.length - original.length).equals(original)) {
        remaining.delete(original);
        break;
      }
    }
  }
  return source.length - remaining.size;
}
