/**
 * The environment contract every benchmark contender honours (the same variables as
 * `examples/collect-to-maildir.ts`), read once for the Node-based contenders.
 *
 *   POP_HOST, POP_PORT, POP_TLS (implicit|starttls|none), POP_CA (PEM path), POP_TLS_NAME
 *   (name to check in the certificate; default POP_HOST), POP_USER, POP_PASS, POP_AUTH=apop,
 *   MAILDIR, STATE_DIR, KEEP (1 = leave on server), POP_TIMEOUT (seconds).
 *
 * Several mailboxes in one run (scenario S5): POP_ACCOUNTS names a file with one account per
 * line, `user<TAB>password<TAB>maildir<TAB>statedir`; POP_CONCURRENCY (default 8) bounds how
 * many sessions run at once.
 */
import { readFileSync } from 'node:fs';

/** One remote mailbox and where its mail and state go. */
export interface Account {
  user: string;
  password: string;
  maildir: string;
  stateDir: string;
}

/** Everything a contender needs to know, parsed from the environment. */
export interface PeerEnv {
  host: string;
  port: number;
  tls: 'implicit' | 'starttls' | 'none';
  ca: Buffer | undefined;
  tlsName: string;
  apop: boolean;
  keep: boolean;
  timeoutMs: number;
  concurrency: number;
  accounts: Account[];
}

/**
 * Reads and checks the environment; throws with a one-line message naming the bad variable.
 *
 * @example
 * ```ts
 * const env = readPeerEnv(process.env);
 * for (const account of env.accounts) console.log(account.user);
 * ```
 */
export function readPeerEnv(vars: NodeJS.ProcessEnv): PeerEnv {
  const need = (name: string): string => {
    const value = vars[name];
    if (value === undefined || value === '') throw new Error(`${name} is not set`);
    return value;
  };
  const tls = vars['POP_TLS'] ?? 'implicit';
  if (tls !== 'implicit' && tls !== 'starttls' && tls !== 'none')
    throw new Error(`POP_TLS=${tls} is not valid`);
  const host = need('POP_HOST');
  const accounts = vars['POP_ACCOUNTS']
    ? parseAccounts(readFileSync(vars['POP_ACCOUNTS'], 'utf8'))
    : [
        {
          user: need('POP_USER'),
          password: need('POP_PASS'),
          maildir: need('MAILDIR'),
          stateDir: need('STATE_DIR'),
        },
      ];
  return {
    host,
    port: Number(need('POP_PORT')),
    tls,
    ca: vars['POP_CA'] ? readFileSync(vars['POP_CA']) : undefined,
    tlsName: vars['POP_TLS_NAME'] || host,
    apop: vars['POP_AUTH'] === 'apop',
    keep: vars['KEEP'] === '1',
    timeoutMs: Number(vars['POP_TIMEOUT'] ?? '60') * 1000,
    concurrency: Math.max(1, Number(vars['POP_CONCURRENCY'] ?? '8')),
    accounts,
  };
}

/**
 * Parses the POP_ACCOUNTS file (tab-separated; blank lines ignored).
 *
 * @example
 * ```ts
 * parseAccounts('ann\tpw\t/m/ann\t/s/ann\n');
 * ```
 */
export function parseAccounts(text: string): Account[] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line, index) => {
      const [user, password, maildir, stateDir] = line.split('\t');
      if (!user || password === undefined || !maildir || !stateDir) {
        throw new Error(`POP_ACCOUNTS line ${index + 1} needs user, password, maildir and statedir`);
      }
      return { user, password, maildir, stateDir };
    });
}

/**
 * Runs `work` for every item with at most `limit` at a time; rejects with the first error
 * after all started work has settled.
 *
 * @example
 * ```ts
 * await eachLimited(env.accounts, env.concurrency, (account) => collect(account));
 * ```
 */
export async function eachLimited<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>) {
  let next = 0;
  const errors: unknown[] = [];
  const lane = async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await work(item).catch((err: unknown) => errors.push(err));
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  if (errors.length > 0) throw errors[0];
}
