import type { MailboxEntryInput } from '../../src/config/index.js';
import { parseConfig } from '../../src/config/index.js';
import type { MailboxDirectory } from '../../src/ports/index.js';
import { memoryDirectory } from '../../src/stores/index.js';
import type { DovecotServer } from '../helpers/dovecot.js';

/**
 * An in-memory directory with one local user (`ann@example.com`) and one entry that collects
 * Dovecot's `ann` over STLS. Pass the `connection: { tlsOptions: { ca: dovecot.caPem } }`
 * fetcher option so the test certificate is trusted.
 */
export function oneDovecotEntry(
  dovecot: DovecotServer,
  password: string,
  extra: Partial<MailboxEntryInput> = {},
): MailboxDirectory {
  const entry = {
    id: 'ann-dovecot',
    server: `${dovecot.host}:${dovecot.popPort}`,
    tls: 'starttls' as const,
    username: 'ann',
    password,
    ...extra,
  };
  return memoryDirectory(parseConfig({ users: [{ id: 'ann@example.com', entries: [entry] }] }));
}
