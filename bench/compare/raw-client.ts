/**
 * The speed bound of the benchmark: the least a correct POP3 collector has to do. One TLS
 * connection, USER/PASS sent together, every `RETR` pipelined (a bounded window of commands in
 * flight), a byte-level framer that un-stuffs dot lines across chunk boundaries, each message
 * written to `Maildir/tmp` and renamed into `new/`, then all `DELE`s pipelined and `QUIT`.
 * With KEEP=1 it asks `UIDL` and fetches only the unique ids it has not recorded in
 * `STATE_DIR/raw-client.uidl`.
 *
 * With RAW_DURABLE=1 it is the *durable* raw client, the physical limit for a collector that
 * loses nothing on a power cut (shared/design/decisions.md, D4): group commit — the files of all
 * messages that arrived since the last flush are synced in parallel, renamed into `new/`, `new/`
 * is synced once, and only then are those messages' DELEs sent (pipelined). A flush starts as
 * soon as the previous one ended, so the syncs overlap the retrieval of the next messages.
 *
 * Deliberately missing: everything that makes a collector safe (a ledger written between
 * delivery and deletion, crash recovery, idempotency keys, limits on hostile input beyond a
 * maximum line length). It measures the protocol and the disk, not a product.
 *
 * Configured by the same environment variables as every contender (see peers/env.ts).
 * Exits 0 after a clean session, 1 with one line `raw-client: <reason>` otherwise.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect as netConnect, type Socket } from 'node:net';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { type Account, eachLimited, type PeerEnv, readPeerEnv } from './peers/env.js';
import {
  commitGroup,
  ensureMaildir,
  type MaildirMessage,
  type StagedMessage,
  startMessage,
} from './peers/maildir-writer.js';
import { type BodySink, PopWire } from './raw-wire.js';

/** Commands in flight at once: enough to keep the pipe full, few enough to bound memory. */
const WINDOW = 64;

/** A sink that writes one message into the Maildir. */
function maildirSink(maildir: string): BodySink {
  let message: MaildirMessage | undefined;
  return {
    begin: () => {
      message = startMessage(maildir);
    },
    write: (chunk) => message?.write(chunk),
    end: () => message?.finish(),
  };
}

/**
 * Durable delivery with group commit: staged messages wait for the next flush; after it, their
 * DELEs go out. One flush runs at a time; whatever arrives meanwhile forms the next group.
 */
class GroupCommitter {
  #staged: { message: StagedMessage; number: number }[] = [];
  #running: Promise<void> | undefined;
  readonly #deletes: Promise<string>[] = [];

  constructor(
    private readonly maildir: string,
    private readonly onDurable: (number: number) => Promise<string> | undefined,
  ) {}

  sink(number: number): BodySink {
    let message: MaildirMessage | undefined;
    return {
      begin: () => {
        message = startMessage(this.maildir);
      },
      write: (chunk) => message?.write(chunk),
      end: () => {
        if (!message) return;
        this.#staged.push({ message: message.stage(), number });
        this.#kick();
      },
    };
  }

  #kick(): void {
    if (this.#running) return;
    const group = this.#staged.splice(0);
    if (group.length === 0) return;
    this.#running = commitGroup(
      this.maildir,
      group.map((g) => g.message),
    ).then(() => {
      for (const g of group) {
        const dele = this.onDurable(g.number);
        if (dele) this.#deletes.push(dele);
      }
      this.#running = undefined;
      this.#kick();
    });
  }

  /** Resolves when every staged message is durable and its DELE answered. */
  async drain(): Promise<void> {
    while (this.#running || this.#staged.length > 0) {
      this.#kick();
      await this.#running;
    }
    await Promise.all(this.#deletes);
  }
}

/** A sink that keeps the (small) body in memory, for UIDL. */
function memorySink(): BodySink & { text(): string } {
  const parts: Buffer[] = [];
  return {
    begin: () => {},
    write: (chunk) => parts.push(chunk),
    end: () => {},
    text: () => Buffer.concat(parts).toString('latin1'),
  };
}

async function openSession(env: PeerEnv): Promise<PopWire> {
  const tlsOptions = { ca: env.ca, servername: env.tlsName, rejectUnauthorized: true };
  const connected = (socket: Socket, event: string) =>
    new Promise<Socket>((resolve, reject) => {
      socket.once(event, () => resolve(socket));
      socket.once('error', reject);
    });
  if (env.tls === 'implicit') {
    const socket = tlsConnect({ host: env.host, port: env.port, ...tlsOptions });
    const wire = new PopWire(await connected(socket, 'secureConnect'), env.timeoutMs, true);
    await wire.greeting;
    return wire;
  }
  const plain = netConnect({ host: env.host, port: env.port });
  plain.setNoDelay(true);
  const wire = new PopWire(await connected(plain, 'connect'), env.timeoutMs, true);
  const greeting = (await wire.greeting) ?? '';
  if (env.tls === 'none') return wire;
  await wire.send('STLS');
  const secured = tlsConnect({ socket: wire.detach() as Socket, ...tlsOptions });
  const upgraded = new PopWire(await connected(secured, 'secureConnect'), env.timeoutMs, false);
  upgraded.greeting = Promise.resolve(greeting);
  return upgraded;
}

async function login(wire: PopWire, env: PeerEnv, account: Account): Promise<void> {
  if (env.apop) {
    const stamp = /<[^>]*>/.exec((await wire.greeting) ?? '')?.[0];
    if (!stamp) throw new Error('APOP asked for but the greeting has no timestamp');
    const digest = createHash('md5')
      .update(stamp + account.password, 'latin1')
      .digest('hex');
    await wire.send(`APOP ${account.user} ${digest}`);
    return;
  }
  // Pipelined: the server answers USER before it reads PASS either way.
  await Promise.all([wire.send(`USER ${account.user}`), wire.send(`PASS ${account.password}`)]);
}

/** Runs `send` for each number with at most WINDOW commands in flight. */
async function pipelined(numbers: readonly number[], send: (n: number) => Promise<string>): Promise<void> {
  const inFlight: Promise<string>[] = [];
  for (const n of numbers) {
    if (inFlight.length >= WINDOW) await inFlight.shift();
    inFlight.push(send(n));
  }
  await Promise.all(inFlight);
}

async function collect(env: PeerEnv, account: Account): Promise<void> {
  ensureMaildir(account.maildir);
  const wire = await openSession(env);
  try {
    await login(wire, env, account);
    let wanted: number[];
    let stateFile: string | undefined;
    const knownAfter: string[] = [];
    if (env.keep) {
      mkdirSync(account.stateDir, { recursive: true });
      stateFile = join(account.stateDir, 'raw-client.uidl');
      const known = new Set(existsSync(stateFile) ? readFileSync(stateFile, 'latin1').split('\n') : []);
      const listing = memorySink();
      await wire.send('UIDL', true, listing);
      wanted = [];
      for (const line of listing.text().split('\r\n')) {
        const [number, uid] = line.split(' ');
        if (!number || !uid) continue;
        knownAfter.push(uid);
        if (!known.has(uid)) wanted.push(Number(number));
      }
    } else {
      const stat = await wire.send('STAT');
      const count = Number(stat.split(' ')[1]);
      wanted = Array.from({ length: count }, (_, i) => i + 1);
    }
    if (process.env['RAW_DURABLE'] === '1') {
      const committer = new GroupCommitter(account.maildir, (n) =>
        stateFile ? undefined : wire.send(`DELE ${n}`),
      );
      await pipelined(wanted, (n) => wire.send(`RETR ${n}`, true, committer.sink(n)));
      await committer.drain();
      if (stateFile) writeFileSync(stateFile, `${knownAfter.join('\n')}\n`);
      await wire.send('QUIT');
      return;
    }
    await pipelined(wanted, (n) => wire.send(`RETR ${n}`, true, maildirSink(account.maildir)));
    if (stateFile) {
      // Every id on the server is now either old or delivered: that is the new state.
      writeFileSync(stateFile, `${knownAfter.join('\n')}\n`);
    } else {
      await pipelined(wanted, (n) => wire.send(`DELE ${n}`));
    }
    await wire.send('QUIT');
  } finally {
    wire.close();
  }
}

async function main(): Promise<void> {
  const env = readPeerEnv(process.env);
  await eachLimited(env.accounts, env.concurrency, (account) => collect(env, account));
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`raw-client: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
