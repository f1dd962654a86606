import { createHash } from 'node:crypto';
import type { Socket } from 'node:net';
import { type SecureContext, TLSSocket } from 'node:tls';
import type { FakeMailStore, MaildropSession } from './mail-store.js';
import type {
  FakePop3Capabilities,
  FakePop3Fault,
  FakePop3Options,
  FakePop3Personality,
  FakePop3ReceivedCommand,
} from './types.js';
import { dotStuff, topOf } from './wire.js';

/** What all sessions of one server share. */
export interface ServerContext {
  options: FakePop3Options;
  capabilities: Required<
    Pick<FakePop3Capabilities, 'capa' | 'top' | 'uidl' | 'user' | 'pipelining' | 'respCodes'>
  > &
    FakePop3Capabilities;
  personality: FakePop3Personality;
  store: FakeMailStore;
  secureContext?: SecureContext;
  /** Counts occurrences of each step and returns the faults that fire for this one. */
  faultsFor(step: string): FakePop3Fault[];
  record(command: FakePop3ReceivedCommand): void;
  recordSasl(decoded: string): void;
}

const MAX_COMMAND_LINE = 64 * 1024;
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A fault that replaces the answer to a step entirely. */
const REPLACING = new Set(['stall', 'drop', 'respond', 'hugeLine', 'endlessBody', 'raw']);

/** One client connection of the fake server: a sequential POP3 state machine. */
export class FakePop3Session {
  readonly #ctx: ServerContext;
  readonly #id: number;
  #socket: Socket;
  #secure: boolean;
  #closed = false;
  readonly #closedPromise: Promise<void>;
  #markClosed!: () => void;
  // Incoming command lines not yet handled, and the handler waiting for one.
  readonly #lines: string[] = [];
  #waiter: ((line: string | undefined) => void) | undefined;
  #partial = '';
  #received = 0;
  #answered = 0;
  #state: 'AUTHORIZATION' | 'TRANSACTION' = 'AUTHORIZATION';
  #user: string | undefined;
  #maildrop: MaildropSession | undefined;
  readonly #timestamp: string;
  // Faults of the step being answered (body faults act inside sendMultiline).
  #stepFaults: FakePop3Fault[] = [];

  constructor(ctx: ServerContext, socket: Socket, id: number, secure: boolean) {
    this.#ctx = ctx;
    this.#id = id;
    this.#socket = socket;
    this.#secure = secure;
    this.#timestamp = `<${process.pid}.${Date.now()}.${id}@fake-pop3.test>`;
    this.#closedPromise = new Promise((resolve) => {
      this.#markClosed = resolve;
    });
    this.#attach(socket);
  }

  /** Destroys the connection (server shutdown). */
  destroy(): void {
    this.#socket.destroy();
    this.#onClose();
  }

  /** Runs the session until the connection ends. Never rejects. */
  async run(): Promise<void> {
    try {
      const greeting = this.#ctx.options.greeting ?? defaultGreeting(this.#ctx.personality);
      const apop = this.#ctx.capabilities.apop ? ` ${this.#timestamp}` : '';
      if (await this.#step('greeting', async () => this.#ok(`${greeting}${apop}`))) {
        for (;;) {
          const line = await this.#nextLine();
          if (line === undefined || this.#closed) break;
          const verb = (line.split(' ')[0] ?? '').toUpperCase();
          const keepGoing = await this.#step(verb, () => this.#dispatch(verb, line));
          this.#answered++;
          if (!keepGoing) break;
        }
      }
    } catch {
      // A write to a closed socket, a TLS failure: the session is over either way.
    } finally {
      this.#maildrop?.release();
      this.#socket.destroy();
    }
  }

  // ---------------------------------------------------------------- input

  #attach(socket: Socket): void {
    socket.on('data', this.#onData);
    socket.on('error', () => {});
    socket.on('close', () => this.#onClose());
  }

  readonly #onData = (chunk: Buffer): void => {
    this.#partial += chunk.toString('latin1');
    for (let lf = this.#partial.indexOf('\n'); lf >= 0; lf = this.#partial.indexOf('\n')) {
      const line = this.#partial.slice(0, lf).replace(/\r$/, '');
      this.#partial = this.#partial.slice(lf + 1);
      this.#received++;
      this.#ctx.record({
        connection: this.#id,
        line: Buffer.from(line, 'latin1').toString('utf8'),
        verb: verbOf(line),
        unansweredAtReceipt: this.#received - this.#answered,
        secure: this.#secure,
      });
      if (this.#waiter) {
        const waiter = this.#waiter;
        this.#waiter = undefined;
        waiter(line);
      } else this.#lines.push(line);
    }
    if (this.#partial.length > MAX_COMMAND_LINE) this.destroy();
  };

  #onClose(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#markClosed();
    const waiter = this.#waiter;
    this.#waiter = undefined;
    waiter?.(undefined);
  }

  #nextLine(): Promise<string | undefined> {
    const line = this.#lines.shift();
    if (line !== undefined) return Promise.resolve(Buffer.from(line, 'latin1').toString('utf8'));
    if (this.#closed) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      this.#waiter = (raw) =>
        resolve(raw === undefined ? undefined : Buffer.from(raw, 'latin1').toString('utf8'));
    });
  }

  // ---------------------------------------------------------------- output

  async #send(data: Buffer | string): Promise<void> {
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    const size = this.#ctx.options.chunkSize;
    if (size !== undefined && size > 0) {
      for (let at = 0; at < bytes.length && !this.#closed; at += size) {
        await this.#write(bytes.subarray(at, at + size));
        // Let the previous piece leave before the next one, so they arrive as separate reads.
        await new Promise((resolve) => setImmediate(resolve));
      }
      return;
    }
    await this.#write(bytes);
  }

  #write(bytes: Buffer): Promise<void> {
    if (this.#closed) return Promise.resolve();
    if (this.#socket.write(bytes)) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        this.#socket.off('drain', done);
        this.#socket.off('close', done);
        resolve();
      };
      this.#socket.on('drain', done);
      this.#socket.on('close', done);
    });
  }

  #ok(text: string): Promise<void> {
    return this.#send(`+OK${text === '' ? '' : ` ${text}`}\r\n`);
  }

  #err(code: string | undefined, text: string): Promise<void> {
    const withCode = code !== undefined && this.#ctx.capabilities.respCodes ? `[${code}] ${text}` : text;
    return this.#send(`-ERR ${withCode}\r\n`);
  }

  async #multiline(status: string, body: Buffer): Promise<void> {
    const head = Buffer.from(`+OK${status === '' ? '' : ` ${status}`}\r\n`, 'utf8');
    const wire = Buffer.concat([head, dotStuff(body)]);
    const bodyFault = this.#stepFaults.find((f) => f.when.afterBodyBytes !== undefined);
    if (bodyFault === undefined) return this.#send(wire);
    const cut = Math.min(wire.length, head.length + (bodyFault.when.afterBodyBytes ?? 0));
    await this.#send(wire.subarray(0, cut));
    if (bodyFault.action === 'drop') return this.destroy();
    if (bodyFault.action === 'stall') return this.#closedPromise;
    if (bodyFault.action === 'delay') await sleep(bodyFault.ms);
    return this.#send(wire.subarray(cut));
  }

  // ---------------------------------------------------------------- faults

  /**
   * Answers one step through the fault book. Returns false when the session must end
   * (QUIT, a dropped or stalled connection).
   */
  async #step(step: string, answer: () => Promise<unknown>): Promise<boolean> {
    const faults = this.#ctx.faultsFor(step);
    this.#stepFaults = faults;
    for (const fault of faults) {
      if (fault.action === 'delay' && fault.when.afterBodyBytes === undefined) await sleep(fault.ms);
    }
    const replacing = faults.find((f) => REPLACING.has(f.action) && f.when.afterBodyBytes === undefined);
    let keepGoing = true;
    if (replacing) keepGoing = await this.#replace(replacing);
    else keepGoing = (await answer()) !== false;
    this.#stepFaults = [];
    for (const fault of faults) {
      if (fault.action !== 'unsolicited' || this.#closed) continue;
      await sleep(fault.afterMs ?? 0);
      await this.#send(`${fault.line}\r\n`);
      if (fault.thenClose) {
        this.#socket.end();
        return false;
      }
    }
    return keepGoing && !this.#closed;
  }

  async #replace(fault: FakePop3Fault): Promise<boolean> {
    switch (fault.action) {
      case 'stall':
        await this.#closedPromise;
        return false;
      case 'drop':
        this.destroy();
        return false;
      case 'respond':
        await this.#send(`${fault.line}\r\n`);
        return true;
      case 'raw':
        await this.#send(fault.data);
        return true;
      case 'hugeLine': {
        const piece = Buffer.alloc(64 * 1024, 'A');
        for (let sent = 0; sent < fault.bytes && !this.#closed; sent += piece.length) {
          await this.#write(piece.subarray(0, Math.min(piece.length, fault.bytes - sent)));
        }
        await this.#closedPromise;
        return false;
      }
      case 'endlessBody': {
        await this.#send('+OK message follows\r\n');
        const lines = Buffer.from(`${'endless body line '.repeat(4)}\r\n`.repeat(1000));
        while (!this.#closed) await this.#write(lines);
        return false;
      }
      default:
        return true;
    }
  }

  // ---------------------------------------------------------------- commands

  async #dispatch(verb: string, line: string): Promise<boolean> {
    const args = line.split(' ').slice(1);
    const inTransaction = this.#state === 'TRANSACTION';
    switch (verb) {
      case 'CAPA':
        return this.#capa();
      case 'QUIT':
        if (this.#maildrop) this.#maildrop.commit();
        this.#maildrop = undefined;
        await this.#ok('Logging out.');
        this.#socket.end();
        return false;
      case 'STLS':
        return this.#stls();
      case 'USER':
      case 'PASS':
      case 'APOP':
      case 'AUTH':
        if (inTransaction) return this.#err(undefined, 'Already authenticated').then(() => true);
        if (verb === 'USER') {
          this.#user = args.join(' ');
          await this.#ok('');
          return true;
        }
        if (verb === 'PASS') return this.#pass(args.join(' '));
        if (verb === 'APOP') return this.#apop(args);
        return this.#auth(args);
      default:
        break;
    }
    if (!inTransaction) {
      await this.#err(undefined, `Unknown command or not authenticated: ${verb}`);
      return true;
    }
    await this.#transaction(verb, args);
    return true;
  }

  async #capa(): Promise<boolean> {
    const caps = this.#ctx.capabilities;
    if (!caps.capa) {
      await this.#err(undefined, 'Unknown command.');
      return true;
    }
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
    await this.#multiline('Capability list follows', Buffer.from(lines.map((l) => `${l}\r\n`).join('')));
    return true;
  }

  #stlsOffered(): boolean {
    const ctx = this.#ctx;
    return (
      !this.#secure &&
      this.#state === 'AUTHORIZATION' &&
      ctx.secureContext !== undefined &&
      ctx.capabilities.stls !== false
    );
  }

  async #stls(): Promise<boolean> {
    if (!this.#stlsOffered()) {
      await this.#err(undefined, 'STLS not available.');
      return true;
    }
    await this.#ok('Begin TLS negotiation now.');
    // RFC 2595 §4: anything the client pipelined after STLS is discarded.
    this.#lines.length = 0;
    this.#partial = '';
    const plain = this.#socket;
    plain.off('data', this.#onData);
    const secure = new TLSSocket(plain, { isServer: true, secureContext: this.#ctx.secureContext });
    const ok = await new Promise<boolean>((resolve) => {
      secure.once('secure', () => resolve(true));
      secure.once('error', () => resolve(false));
      secure.once('close', () => resolve(false));
    });
    if (!ok) {
      secure.destroy();
      return false;
    }
    this.#socket = secure;
    this.#secure = true;
    this.#attach(secure);
    return true;
  }

  async #pass(password: string): Promise<boolean> {
    const user = this.#user === undefined ? undefined : this.#ctx.store.user(this.#user);
    if (this.#user === undefined) {
      await this.#err(undefined, 'No user name given.');
      return true;
    }
    if (!user || user.password !== password) {
      await this.#err('AUTH', 'Authentication failed.');
      return true;
    }
    return this.#login(user.name, 'Logged in.');
  }

  async #apop(args: string[]): Promise<boolean> {
    if (!this.#ctx.capabilities.apop || args.length !== 2) {
      await this.#err(undefined, 'APOP not available.');
      return true;
    }
    const [name = '', digest = ''] = args;
    const user = this.#ctx.store.user(name);
    const expected = user
      ? createHash('md5')
          .update(this.#timestamp + user.password)
          .digest('hex')
      : '';
    if (!user || digest.toLowerCase() !== expected) {
      await this.#err('AUTH', 'Authentication failed.');
      return true;
    }
    return this.#login(user.name, 'Logged in.');
  }

  async #login(name: string, text: string): Promise<boolean> {
    const maildrop = this.#ctx.store.open(name);
    if (!maildrop) {
      await this.#err('IN-USE', 'Mailbox is locked by another session.');
      return true;
    }
    this.#maildrop = maildrop;
    this.#state = 'TRANSACTION';
    await this.#ok(text);
    return true;
  }

  async #auth(args: string[]): Promise<boolean> {
    const mechanism = (args[0] ?? '').toUpperCase();
    const offered = (this.#ctx.capabilities.sasl ?? []).map((m) => m.toUpperCase());
    if (mechanism === '' || !offered.includes(mechanism)) {
      await this.#err(undefined, 'Unsupported authentication mechanism.');
      return true;
    }
    const personality = this.#ctx.personality;
    const hasInitial = args.length > 1;
    if (mechanism === 'XOAUTH2' && personality === 'gmail' && !hasInitial) {
      await this.#err(undefined, 'Invalid SASL argument.');
      return true;
    }
    if (mechanism === 'XOAUTH2' && personality === 'microsoft' && hasInitial) {
      await this.#err(undefined, 'Protocol error.');
      return true;
    }
    let response = args[1];
    if (response === undefined) {
      await this.#send('+ \r\n');
      response = await this.#nextLine();
      if (response === undefined) return false;
    }
    if (response === '*') {
      await this.#err(undefined, 'Authentication cancelled.');
      return true;
    }
    const decoded = response === '=' ? '' : Buffer.from(response, 'base64').toString('utf8');
    this.#ctx.recordSasl(decoded);
    if (mechanism === 'PLAIN') {
      const [, authcid = '', password = ''] = decoded.split('\u0000');
      const user = this.#ctx.store.user(authcid);
      if (!user || user.password !== password) {
        await this.#err('AUTH', 'Authentication failed.');
        return true;
      }
      return this.#login(user.name, 'Logged in.');
    }
    const parsed = mechanism === 'XOAUTH2' ? parseXOAuth2(decoded) : parseOAuthBearer(decoded);
    if (!parsed) {
      await this.#err(undefined, 'Invalid SASL argument.');
      return true;
    }
    if (await this.#tokenValid(parsed.user, parsed.token)) {
      return this.#login(
        parsed.user,
        personality === 'microsoft' ? 'User successfully authenticated.' : 'Welcome.',
      );
    }
    if (personality === 'microsoft') {
      await this.#err(undefined, 'Authentication failure: unknown user name or bad password.');
      return true;
    }
    // RFC 7628 §3.2.2 / Google: a JSON error as a challenge, then -ERR after the client's answer.
    const report = JSON.stringify({ status: '401', schemes: 'bearer', scope: 'https://mail.google.com/' });
    await this.#send(`+ ${Buffer.from(report).toString('base64')}\r\n`);
    const answer = await this.#nextLine();
    if (answer === undefined) return false;
    await this.#err('AUTH', 'Authentication failed.');
    return true;
  }

  async #tokenValid(user: string, token: string): Promise<boolean> {
    const check = this.#ctx.options.checkToken;
    if (check) return check(user, token);
    const stored = this.#ctx.store.user(user);
    return stored?.accessToken !== undefined && stored.accessToken === token;
  }

  async #transaction(verb: string, args: string[]): Promise<void> {
    const drop = this.#maildrop!;
    const reportSize = this.#ctx.options.reportSize ?? ((size: number) => size);
    const msgArg = (): number | undefined => {
      const text = args[0];
      if (text === undefined || !/^\d+$/.test(text)) return undefined;
      return Number(text);
    };
    const noSuch = () => this.#err(undefined, 'There is no such message.');
    switch (verb) {
      case 'STAT': {
        const live = drop.live();
        const size = live.reduce((sum, n) => sum + reportSize(drop.get(n)!.data.length, n), 0);
        return this.#ok(`${live.length} ${size}`);
      }
      case 'LIST':
      case 'UIDL': {
        if (verb === 'UIDL' && !this.#ctx.capabilities.uidl) return this.#err(undefined, 'Unknown command.');
        const byNumber = this.#ctx.options.uidls === 'message-number';
        const describe = (n: number) =>
          `${n} ${verb === 'LIST' ? reportSize(drop.get(n)!.data.length, n) : byNumber ? String(n) : drop.get(n)!.uid}`;
        if (args.length > 0) {
          const n = msgArg();
          return n !== undefined && drop.get(n) ? this.#ok(describe(n)) : noSuch();
        }
        const lines = drop.live().map((n) => `${describe(n)}\r\n`);
        return this.#multiline(`${lines.length} messages`, Buffer.from(lines.join('')));
      }
      case 'RETR': {
        const n = msgArg();
        const message = n === undefined ? undefined : drop.get(n);
        if (!message) return noSuch();
        return this.#multiline(`${reportSize(message.data.length, n!)} octets`, message.data);
      }
      case 'TOP': {
        if (!this.#ctx.capabilities.top) return this.#err(undefined, 'Unknown command.');
        const n = msgArg();
        const lines = args[1] !== undefined && /^\d+$/.test(args[1]) ? Number(args[1]) : undefined;
        const message = n === undefined ? undefined : drop.get(n);
        if (!message || lines === undefined) return noSuch();
        return this.#multiline('', topOf(message.data, lines));
      }
      case 'DELE': {
        const n = msgArg();
        return n !== undefined && drop.delete(n) ? this.#ok(`Message ${n} deleted.`) : noSuch();
      }
      case 'RSET':
        drop.reset();
        return this.#ok('');
      case 'NOOP':
        return this.#ok('');
      default:
        return this.#err(undefined, `Unknown command: ${verb}`);
    }
  }
}

function verbOf(line: string): string {
  const first = line.split(' ')[0] ?? '';
  return /^[A-Za-z]{3,5}$/.test(first) ? first.toUpperCase() : '';
}

function defaultGreeting(personality: FakePop3Personality): string {
  if (personality === 'gmail') return 'Gpop ready for requests from 127.0.0.1 fake';
  if (personality === 'microsoft') return 'The Microsoft Exchange POP3 service is ready.';
  return 'FakePOP3 ready.';
}

function parseXOAuth2(decoded: string): { user: string; token: string } | undefined {
  const match = /^user=([^\u0001]+)\u0001auth=Bearer ([^\u0001]+)\u0001\u0001$/.exec(decoded);
  return match ? { user: match[1]!, token: match[2]! } : undefined;
}

function parseOAuthBearer(decoded: string): { user: string; token: string } | undefined {
  const match = /^n,a=([^,]*),\u0001(.*)\u0001\u0001$/s.exec(decoded);
  if (!match) return undefined;
  const user = match[1]!.replace(/=2C/g, ',').replace(/=3D/g, '=');
  const pairs = new Map(
    match[2]!
      .split('\u0001')
      .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)] as const),
  );
  const auth = pairs.get('auth');
  if (!auth?.startsWith('Bearer ') || !pairs.has('host') || !pairs.has('port')) return undefined;
  return { user, token: auth.slice('Bearer '.length) };
}
