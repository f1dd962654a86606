import { createServer } from 'node:http';
import { createInterface } from 'node:readline';
import { entryOAuthProvider } from '../../config/index.js';
import { MultiPopError } from '../../errors/index.js';
import { loadCliConfig } from '../config-file.js';
import { ExitCode } from '../exit-codes.js';
import type { ProgressOutput } from '../progress.js';
import { openRuntime } from '../runtime.js';

export interface GrantOptions {
  config: string;
  userId: string;
  mailboxId: string;
  /** The sign-in domain whose redirect URI is used (`redirectUris`). */
  domain: string;
  timeoutSeconds: number;
  out: ProgressOutput;
  input: NodeJS.ReadableStream;
}

/**
 * `multipop grant <user> <entry>`: prints the provider's authorization URL and completes the
 * grant. When the domain's redirect URI points at this machine (`http://127.0.0.1:…` or
 * `http://localhost:…`), it listens there for the redirect; otherwise it asks for the URL the
 * browser was redirected to to be pasted.
 */
export async function grantCommand(options: GrantOptions): Promise<number> {
  const config = loadCliConfig(options.config);
  const owner = config.users.find((u) => u.id === options.userId);
  const entry = owner?.entries.find((e) => e.id === options.mailboxId);
  if (!entry)
    throw new MultiPopError('NOT_FOUND', `User ${options.userId} has no mailbox entry ${options.mailboxId}`);
  const provider = entryOAuthProvider(entry);
  if (!provider)
    throw new MultiPopError('CONFIG_INVALID', `Entry ${entry.id} does not use OAuth`, { field: 'auth' });
  const redirect = config.settings.oauth[provider]?.redirectUris[options.domain];
  if (!redirect) {
    throw new MultiPopError(
      'OAUTH_NOT_CONFIGURED',
      `No ${provider} redirect URI for domain ${options.domain}`,
      {
        field: `settings.oauth.${provider}.redirectUris`,
      },
    );
  }

  const runtime = await openRuntime(config);
  try {
    const actor = { role: 'admin' } as const;
    const begun = await runtime.fetcher.beginGrant(actor, { mailboxId: entry.id, domain: options.domain });
    options.out.write(`Open this URL in a browser and grant access:\n\n  ${begun.url}\n\n`);
    const callback = isLocal(redirect)
      ? await awaitRedirect(redirect, options.timeoutSeconds)
      : await askForRedirect(options);
    const done = await runtime.fetcher.completeGrant(actor, callback);
    options.out.write(
      `Permission granted for ${done.userId}/${done.mailboxId}; the mailbox will be collected.\n`,
    );
    return ExitCode.OK;
  } finally {
    await runtime.close();
  }
}

function isLocal(uri: string): boolean {
  const url = new URL(uri);
  return (
    url.protocol === 'http:' && ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname) && url.port !== ''
  );
}

/** Listens on the redirect URI's port for the provider's redirect; answers the browser. */
function awaitRedirect(redirectUri: string, timeoutSeconds: number): Promise<URL> {
  const expected = new URL(redirectUri);
  return new Promise((resolve, reject) => {
    const server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', redirectUri);
      if (url.pathname !== expected.pathname) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(
        '<!doctype html><title>multipop</title><p>Thank you — you can close this window and return to the terminal.</p>',
      );
      clearTimeout(timer);
      server.close();
      resolve(url);
    });
    const timer = setTimeout(() => {
      server.close();
      reject(new MultiPopError('OAUTH_STATE_INVALID', `No redirect arrived within ${timeoutSeconds} s`));
    }, timeoutSeconds * 1000);
    server.once('error', (err) => {
      clearTimeout(timer);
      reject(
        new MultiPopError(
          'CONFIG_INVALID',
          `Cannot listen on ${expected.host}: ${err.message}`,
          { field: 'redirectUris' },
          { cause: err },
        ),
      );
    });
    server.listen(Number(expected.port), expected.hostname.replace(/^\[|\]$/g, ''));
  });
}

async function askForRedirect(options: GrantOptions): Promise<URL> {
  options.out.write('After granting, paste the full URL your browser was redirected to:\n> ');
  const lines = createInterface({ input: options.input });
  try {
    for await (const line of lines) if (line.trim() !== '') return new URL(line.trim());
  } finally {
    lines.close();
  }
  throw new MultiPopError('OAUTH_STATE_INVALID', 'No redirect URL was given');
}
