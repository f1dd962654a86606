/**
 * The webmail example, stand-alone: in-memory stores, two demo users, and a demo "remote"
 * POP3 mailbox (the fake server from `multipop/testing`) with a few messages, so that "Collect
 * now" has something to collect. Collected messages land in an in-memory queue and are
 * printed here. See docs/webmail-example.md.
 *
 *   npx tsx examples/webmail/main.ts                               → http://127.0.0.1:8080/mailboxes
 *   WEBMAIL_USER=bob@example.com npx tsx examples/webmail/main.ts  → the read-only page (no `mayEditSettings`)
 *
 * Environment: PORT (8080), WEBMAIL_USER (ann@example.com), and for real OAuth apps
 * GMAIL_CLIENT_ID / GMAIL_CLIENT_SECRET, MICROSOFT_CLIENT_ID / MICROSOFT_CLIENT_SECRET
 * (redirect URI to register: http://localhost:PORT/oauth/callback).
 */
import {
  MultiPopFetcher,
  memoryDirectory,
  memoryLedger,
  memoryQueue,
  memoryTokenStore,
  parseConfig,
  type ServerSettingsInput,
} from 'multipop';
import { startFakePop3Server } from 'multipop/testing';
import { startWebmail } from './server.js';

const ANN = 'ann@example.com';
const BOB = 'bob@example.com';
const DOMAIN = 'example.com';

function demoMessage(n: number): Buffer {
  return Buffer.from(
    `From: friend${n}@elsewhere.example\r\nTo: ann@elsewhere.example\r\nSubject: Demo message ${n}\r\n` +
      `Date: ${new Date().toUTCString()}\r\nMessage-ID: <demo-${n}-${Date.now()}@elsewhere.example>\r\n\r\n` +
      `Hello from the demo mailbox, message ${n}.\r\n`,
  );
}

/** The OAuth apps from the environment (none by default). */
function oauthApps(port: number): ServerSettingsInput['oauth'] {
  const redirectUris = { [DOMAIN]: `http://localhost:${port}/oauth/callback` };
  const apps: NonNullable<ServerSettingsInput['oauth']> = {};
  const env = process.env;
  if (env['GMAIL_CLIENT_ID'] && env['GMAIL_CLIENT_SECRET']) {
    apps.gmail = { clientId: env['GMAIL_CLIENT_ID'], clientSecret: env['GMAIL_CLIENT_SECRET'], redirectUris };
  }
  if (env['MICROSOFT_CLIENT_ID'] && env['MICROSOFT_CLIENT_SECRET']) {
    apps.microsoft = {
      clientId: env['MICROSOFT_CLIENT_ID'],
      clientSecret: env['MICROSOFT_CLIENT_SECRET'],
      redirectUris,
    };
  }
  return apps;
}

async function main(): Promise<void> {
  const port = Number(process.env['PORT'] ?? 8080);
  const demoPassword = 'demo-password';
  const remote = await startFakePop3Server({
    users: [{ name: 'ann', password: demoPassword, messages: [1, 2, 3].map(demoMessage) }],
  });

  const directory = memoryDirectory(
    parseConfig({
      settings: { enabled: true, schedule: { mode: 'manual' }, oauth: oauthApps(port) },
      users: [
        {
          id: ANN,
          mayEditSettings: true,
          entries: [
            // The demo server speaks plain POP3 on loopback; real entries use TLS.
            {
              id: 'demo',
              server: `127.0.0.1:${remote.port}`,
              tls: 'none',
              username: 'ann',
              password: demoPassword,
            },
          ],
        },
        { id: BOB, mayEditSettings: false },
      ],
    }),
  );
  const queue = memoryQueue();
  const fetcher = new MultiPopFetcher({
    directory,
    ledger: memoryLedger(),
    queue,
    tokens: memoryTokenStore(),
    oauth: {},
  });
  fetcher.on('message:collected', (event) => {
    const stored = queue.messages.at(-1);
    const subject = /^Subject: (.*)$/m.exec(stored?.content.toString('latin1') ?? '')?.[1] ?? '?';
    console.log(`collected for ${event.userId}: ${subject.trim()} (${event.size} bytes)`);
  });

  const user = process.env['WEBMAIL_USER'] ?? ANN;
  const webmail = await startWebmail({
    fetcher,
    domain: DOMAIN,
    // The demo has no login: everyone is WEBMAIL_USER. A host uses its own session here.
    currentUser: () => user,
    mayEdit: async (userId) => (await directory.getUser(userId))?.mayEditSettings === true,
    port,
    host: '127.0.0.1',
  });
  console.log(`webmail for ${user}: ${webmail.url.replace('127.0.0.1', 'localhost')}/mailboxes`);
  console.log(`demo remote mailbox: 127.0.0.1:${remote.port}, user "ann", password "${demoPassword}"`);

  const shutdown = async () => {
    await webmail.close();
    await fetcher.stop();
    await remote.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void shutdown());
  process.once('SIGTERM', () => void shutdown());
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
