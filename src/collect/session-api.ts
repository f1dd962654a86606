import type { AuthProvider } from '../auth/provider.js';
import type { MailboxEntry, ServerSettings } from '../config/index.js';
import type { Log } from '../log/index.js';
import type { Pop3ClientApi, Pop3ConnectOptions } from '../pop3/api.js';
import type { CollectionLedger, LocalQueue } from '../ports/index.js';
import type { CollectorEventSink } from './events.js';
import type { IdentityResolution } from './identity.js';

/** Connection tuning passed through to the POP3 client (host, port and TLS mode come from the entry). */
export type ConnectionTuning = Pick<Pop3ConnectOptions, 'tlsOptions' | 'timeouts' | 'limits' | 'pipelining'>;

/** Everything one collection session of one remote mailbox needs. */
export interface SessionOptions {
  userId: string;
  entry: MailboxEntry;
  settings: ServerSettings;
  queue: LocalQueue;
  ledger: CollectionLedger;
  auth: AuthProvider;
  emit: CollectorEventSink;
  log: Log;
  /** Clock (ms since epoch). @default Date.now */
  now?: () => number;
  signal?: AbortSignal;
  connection?: ConnectionTuning;
  /**
   * The administrator's decision for a mailbox paused with `IDENTITY_UNCERTAIN`, applied if this
   * session finds the mass change of UIDLs still unresolved (see `IdentityResolution`).
   */
  identityResolution?: IdentityResolution;
  /** Opens the POP3 connection; replaceable in tests. @default Pop3Client.connect */
  connect?: (options: Pop3ConnectOptions) => Promise<Pop3ClientApi>;
}

/** What one session did. */
export interface SessionResult {
  collected: number;
  bytes: number;
  skipped: number;
  deleted: number;
  onServer: number;
  /** The server's advertised LOGIN-DELAY (seconds), so the scheduler waits before the next login. */
  loginDelaySeconds?: number;
}
