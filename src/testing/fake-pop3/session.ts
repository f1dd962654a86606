/**
 * One client connection of the fake server as a sequential POP3 state machine: the greeting,
 * then one command at a time through the fault book, from AUTHORIZATION (CAPA, STLS, USER and
 * the authentication commands) to TRANSACTION and QUIT. The pieces live beside it:
 * connection.ts (wire I/O), fault-injection.ts, authentication.ts, transaction.ts.
 */
import type { Socket } from 'node:net';
import { type AuthOutcome, authenticateSasl, checkApop, checkPassword } from './authentication.js';
import { FakePop3Connection } from './connection.js';
import type { Replies, ServerContext } from './context.js';
import { FaultInjector } from './fault-injection.js';
import type { MaildropSession } from './mail-store.js';
import { answerTransactionCommand } from './transaction.js';
import type { FakePop3Personality } from './types.js';

/** One client connection of the fake server: a sequential POP3 state machine. */
export class FakePop3Session {
  readonly #ctx: ServerContext;
  readonly #connection: FakePop3Connection;
  readonly #faults: FaultInjector;
  readonly #replies: Replies;
  #answered = 0;
  #state: 'AUTHORIZATION' | 'TRANSACTION' = 'AUTHORIZATION';
  #user: string | undefined;
  #maildrop: MaildropSession | undefined;
  // The APOP timestamp of the greeting, unique per connection.
  readonly #timestamp: string;

  constructor(ctx: ServerContext, socket: Socket, id: number, secure: boolean) {
    this.#ctx = ctx;
    this.#timestamp = `<${process.pid}.${Date.now()}.${id}@fake-pop3.test>`;
    const connection = new FakePop3Connection(socket, {
      id,
      secure,
      chunkSize: ctx.options.chunkSize,
      respCodes: ctx.capabilities.respCodes,
      record: (command) => ctx.record(command),
      answered: () => this.#answered,
    });
    const faults = new FaultInjector(connection, (step) => ctx.faultsFor(step));
    this.#connection = connection;
    this.#faults = faults;
    this.#replies = {
      ok: (text) => connection.ok(text),
      err: (code, text) => connection.err(code, text),
      multiline: (status, body) => faults.multiline(status, body),
      send: (data) => connection.send(data),
      nextLine: () => connection.nextLine(),
    };
  }

  /** Destroys the connection (server shutdown). */
  destroy(): void {
    this.#connection.destroy();
  }

  /** Runs the session until the connection ends. Never rejects. */
  async run(): Promise<void> {
    const connection = this.#connection;
    try {
      const greeting = this.#ctx.options.greeting ?? defaultGreeting(this.#ctx.personality);
      const apop = this.#ctx.capabilities.apop ? ` ${this.#timestamp}` : '';
      if (await this.#faults.step('greeting', async () => connection.ok(`${greeting}${apop}`))) {
        for (;;) {
          const line = await connection.nextLine();
          if (line === undefined || connection.closed) break;
          const verb = (line.split(' ')[0] ?? '').toUpperCase();
          const keepGoing = await this.#faults.step(verb, () => this.#dispatch(verb, line));
          this.#answered++;
          if (!keepGoing) break;
        }
      }
    } catch {
      // A write to a closed socket, a TLS failure: the session is over either way.
    } finally {
      this.#maildrop?.release();
      connection.destroy();
    }
  }

  /** Answers one command. Returns false when the session must end. */
  async #dispatch(verb: string, line: string): Promise<boolean> {
    const ctx = this.#ctx;
    const replies = this.#replies;
    const args = line.split(' ').slice(1);
    const inTransaction = this.#state === 'TRANSACTION';
    switch (verb) {
      case 'CAPA':
        await this.#capa();
        return true;
      case 'QUIT':
        this.#maildrop?.commit();
        this.#maildrop = undefined;
        await replies.ok('Logging out.');
        this.#connection.end();
        return false;
      case 'STLS':
        return this.#stls();
      case 'USER':
      case 'PASS':
      case 'APOP':
      case 'AUTH':
        if (inTransaction) {
          await replies.err(undefined, 'Already authenticated');
          return true;
        }
        if (verb === 'USER') {
          this.#user = args.join(' ');
          await replies.ok('');
          return true;
        }
        if (verb === 'PASS')
          return this.#login(await checkPassword(ctx, replies, this.#user, args.join(' ')));
        if (verb === 'APOP') return this.#login(await checkApop(ctx, replies, this.#timestamp, args));
        return this.#login(await authenticateSasl(ctx, replies, args));
      default:
        break;
    }
    if (!inTransaction) {
      await replies.err(undefined, `Unknown command or not authenticated: ${verb}`);
      return true;
    }
    await answerTransactionCommand(ctx, replies, this.#maildrop!, verb, args);
    return true;
  }

  async #capa(): Promise<void> {
    const caps = this.#ctx.capabilities;
    if (!caps.capa) return this.#replies.err(undefined, 'Unknown command.');
    const lines: string[] = [];
    if (caps.top) lines.push('TOP');
    if (caps.uidl) lines.push('UIDL');
    if (caps.user) lines.push('USER');
    if (caps.respCodes) lines.push('RESP-CODES');
    if (caps.pipelining) lines.push('PIPELINING');
    if (this.#stlsOffered()) lines.push('STLS');
    if (caps.sasl && caps.sasl.length > 0) lines.push(`SASL ${caps.sasl.join(' ')}`);
    if (caps.loginDelay !== undefined) lines.push(`LOGIN-DELAY ${caps.loginDelay}`);
    if (caps.expire !== undefined) lines.push(`EXPIRE ${caps.expire}`);
    if (caps.implementation !== undefined) lines.push(`IMPLEMENTATION ${caps.implementation}`);
    lines.push(...(caps.extra ?? []));
    await this.#replies.multiline(
      'Capability list follows',
      Buffer.from(lines.map((l) => `${l}\r\n`).join('')),
    );
  }

  #stlsOffered(): boolean {
    const ctx = this.#ctx;
    return (
      !this.#connection.secure &&
      this.#state === 'AUTHORIZATION' &&
      ctx.secureContext !== undefined &&
      ctx.capabilities.stls !== false
    );
  }

  async #stls(): Promise<boolean> {
    if (!this.#stlsOffered()) {
      await this.#replies.err(undefined, 'STLS not available.');
      return true;
    }
    await this.#replies.ok('Begin TLS negotiation now.');
    return this.#connection.startTls(this.#ctx.secureContext);
  }

  /** Opens the maildrop of a user the authentication accepted. Returns whether to go on. */
  async #login(outcome: AuthOutcome): Promise<boolean> {
    if (outcome === 'closed') return false;
    if (outcome === 'answered') return true;
    const maildrop = this.#ctx.store.open(outcome.user);
    if (!maildrop) {
      await this.#replies.err('IN-USE', 'Mailbox is locked by another session.');
      return true;
    }
    this.#maildrop = maildrop;
    this.#state = 'TRANSACTION';
    await this.#replies.ok(outcome.text);
    return true;
  }
}

function defaultGreeting(personality: FakePop3Personality): string {
  if (personality === 'gmail') return 'Gpop ready for requests from 127.0.0.1 fake';
  if (personality === 'microsoft') return 'The Microsoft Exchange POP3 service is ready.';
  return 'FakePOP3 ready.';
}
