import type { Readable } from 'node:stream';
import type { ConnectionOptions } from 'node:tls';
import SMTPConnection from 'nodemailer/lib/smtp-connection';

/** What a pool needs to open a session with the MTA. */
export interface SmtpPoolOptions {
  host: string;
  port: number;
  lmtp: boolean;
  secure: boolean;
  tls?: ConnectionOptions;
  auth?: { user: string; pass: string };
  name: string;
  timeoutMs: number;
  /** Sessions open at once; further transactions wait for a free one. */
  maxConnections: number;
  /** An idle session is closed (QUIT) after this long. */
  idleTimeoutMs: number;
  /** A session is closed after this many transactions and a fresh one opened for the next. */
  maxTransactions: number;
}

/** The server's verdict on one transaction that ran to a final reply. */
export interface SendReply {
  accepted: boolean;
  /** The final reply text (LMTP: the recipient's own reply after DATA). */
  response: string;
  /** When refused: nodemailer's error, with `responseCode` and `response`. */
  rejection?: Error;
}

/** One open SMTP/LMTP session: greeted (LHLO/EHLO), secured and authenticated as configured. */
export interface PooledSession {
  /** Transactions this session carried before the current one. */
  readonly transactions: number;
  /**
   * One transaction for one recipient: MAIL FROM, RCPT TO and DATA (pipelined where the server
   * offers PIPELINING), then the content. Resolves with the server's verdict once it has given
   * one (accepted, or refused with a 4xx/5xx); rejects when none came — the connection broke or
   * timed out, the server closed it (421), or `content` failed — and the session is then closed,
   * never reused.
   */
  send(envelope: { from: string | false; to: string }, content: Readable): Promise<SendReply>;
}

/**
 * A small pool of SMTP/LMTP sessions, each carrying one transaction at a time, shared by every
 * caller of one queue. A session whose transaction reached a verdict stays open for the next
 * (after a refusal, RSET opens its next transaction); a session without a verdict is closed, so a
 * late reply can never be taken for another message's. Idle sessions do not keep the process
 * alive and are closed after `idleTimeoutMs`.
 */
export class SmtpSessionPool {
  private readonly idle: Session[] = [];
  private readonly waiting: Array<() => void> = [];
  private open = 0;
  private closed = false;

  constructor(private readonly options: SmtpPoolOptions) {}

  /**
   * Runs `work` on a session (an idle one; else a new one while fewer than `maxConnections` are
   * open; else the next one freed). `work` says whether the session may carry another
   * transaction; a throw never lets it.
   */
  async withSession<T>(
    work: (session: PooledSession) => Promise<{ result: T; reusable: boolean }>,
  ): Promise<T> {
    const session = await this.acquire();
    let reusable = false;
    try {
      const outcome = await work(session);
      reusable = outcome.reusable;
      return outcome.result;
    } finally {
      this.release(session, reusable);
    }
  }

  /** Closes the idle sessions and refuses new transactions; running ones finish, then close. */
  async close(): Promise<void> {
    this.closed = true;
    for (const session of this.idle.splice(0)) session.quit();
    for (const wake of this.waiting.splice(0)) wake();
  }

  private async acquire(): Promise<Session> {
    for (;;) {
      if (this.closed) throw new Error('the SMTP queue is closed');
      const idle = this.idle.pop();
      if (idle) {
        idle.wake();
        return idle;
      }
      if (this.open < this.options.maxConnections) {
        this.open++;
        try {
          return await Session.open(this.options, (ended) => this.forget(ended));
        } catch (err) {
          this.freeSlot();
          throw err;
        }
      }
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
  }

  private release(session: Session, reusable: boolean): void {
    const spent = session.transactions >= this.options.maxTransactions;
    if (!reusable || spent || this.closed || session.ended) {
      session.quit();
      return;
    }
    session.sleep(this.options.idleTimeoutMs, () => session.quit());
    this.idle.push(session);
    this.waiting.shift()?.();
  }

  /** A session ended (closed by us or by the server, or broken): its slot is free. */
  private forget(session: Session): void {
    const at = this.idle.indexOf(session);
    if (at >= 0) this.idle.splice(at, 1);
    this.freeSlot();
  }

  private freeSlot(): void {
    this.open--;
    this.waiting.shift()?.();
  }
}

/** nodemailer's error fields this module reads. */
interface SmtpError extends Error {
  code?: string;
  responseCode?: number;
  response?: string;
}

/** A reply that refuses this transaction but leaves the session itself in good order. */
function isVerdict(err: SmtpError): boolean {
  return (
    (err.code === 'EENVELOPE' || err.code === 'EMESSAGE') &&
    typeof err.responseCode === 'number' &&
    err.responseCode !== 421
  );
}

class Session implements PooledSession {
  transactions = 0;
  ended = false;
  private needsReset = false;
  private idleTimer: NodeJS.Timeout | undefined;
  private onEnd: ((session: Session) => void) | undefined;
  private readonly endWaiters: Array<() => void> = [];

  private constructor(private readonly connection: SMTPConnection) {}

  /** Connects, greets, upgrades (STARTTLS where offered) and logs in; `onEnd` runs once when it ends. */
  static open(options: SmtpPoolOptions, onEnd: (session: Session) => void): Promise<Session> {
    const connection = new SMTPConnection({
      host: options.host,
      port: options.port,
      lmtp: options.lmtp,
      secure: options.secure,
      name: options.name,
      connectionTimeout: options.timeoutMs,
      greetingTimeout: options.timeoutMs,
      socketTimeout: options.timeoutMs,
      ...(options.tls ? { tls: options.tls } : {}),
    });
    const session = new Session(connection);
    return new Promise((resolve, reject) => {
      let opened = false;
      let failed = false;
      const fail = (err: Error) => {
        if (opened || failed) return;
        failed = true;
        session.ended = true; // the pool frees the slot of a session that never opened
        connection.close();
        reject(err);
      };
      // Errors of a running transaction reach its send callback too; this listener keeps an
      // error of an idle session from being thrown, and ends the session either way.
      connection.on('error', (err: Error) => (opened ? session.end() : fail(err)));
      connection.once('end', () => (opened ? session.end() : fail(new Error('connection closed'))));
      connection.connect((err) => {
        if (err) return fail(err);
        const ready = () => {
          opened = true;
          session.onEnd = onEnd;
          resolve(session);
        };
        if (!options.auth) return ready();
        connection.login({ user: options.auth.user, pass: options.auth.pass }, (loginErr) =>
          loginErr ? fail(loginErr) : ready(),
        );
      });
    });
  }

  async send(envelope: { from: string | false; to: string }, content: Readable): Promise<SendReply> {
    if (this.needsReset) {
      // The last transaction was refused: clear what the server still holds of it (MAIL FROM)
      // first. Done here rather than at release, so the session is free for the next message at
      // once instead of the pool opening another connection while the RSET is under way.
      this.needsReset = false;
      await this.reset();
    }
    return this.transaction(envelope, content);
  }

  private transaction(envelope: { from: string | false; to: string }, content: Readable): Promise<SendReply> {
    return new Promise((resolve, reject) => {
      let settled = false;
      const settle = (err: Error | null, reply?: SendReply) => {
        if (settled) return;
        settled = true;
        this.transactions++;
        if (err) {
          // No verdict: the session's state is unknown (a reply may still come), so it goes.
          this.end();
          reject(err);
        } else {
          if (!reply!.accepted) this.needsReset = true;
          resolve(reply!);
        }
      };
      // A source that fails mid-message must abort the transaction, never let it complete.
      content.once('error', (err) => settle(err));
      this.connection.send(
        { from: envelope.from, to: [envelope.to], use8BitMime: true },
        content,
        (err, info) => {
          if (err) {
            const smtp = err as SmtpError;
            return isVerdict(smtp)
              ? settle(null, { accepted: false, response: smtp.response ?? smtp.message, rejection: smtp })
              : settle(smtp);
          }
          if (!info.accepted.includes(envelope.to)) {
            // LMTP: the recipient's own reply after DATA refused it (nodemailer reports it here).
            const rejection = info.rejectedErrors?.[0] ?? new Error(`recipient ${envelope.to} was rejected`);
            return settle(null, { accepted: false, response: info.response, rejection });
          }
          settle(null, { accepted: true, response: info.response });
        },
      );
    });
  }

  /** RSET; a session that does not answer it well is torn down (the caller then fails). */
  private reset(): Promise<void> {
    return new Promise((resolve, reject) => {
      // A connection that ends meanwhile never answers the RSET.
      const onEnd = () => reject(new Error('the connection closed before RSET was answered'));
      this.endWaiters.push(onEnd);
      this.connection.reset((err) => {
        const at = this.endWaiters.indexOf(onEnd);
        if (at >= 0) this.endWaiters.splice(at, 1);
        if (!err) return resolve();
        this.end();
        reject(err);
      });
    });
  }

  /** Parks the session: its socket stops holding the event loop, and it ends after `ms`. */
  sleep(ms: number, onTimeout: () => void): void {
    this.socket()?.unref();
    this.idleTimer = setTimeout(onTimeout, ms);
    this.idleTimer.unref();
  }

  wake(): void {
    clearTimeout(this.idleTimer);
    this.socket()?.ref();
  }

  /** Ends a healthy session politely: QUIT, after which the server closes the connection. */
  quit(): void {
    if (this.ended) return;
    this.connection.quit();
    this.socket()?.unref();
    this.markEnded();
  }

  /** Tears down a session that broke or whose state is unknown. */
  private end(): void {
    if (this.ended) return;
    this.connection.close();
    this.markEnded();
  }

  private markEnded(): void {
    clearTimeout(this.idleTimer);
    this.ended = true;
    this.onEnd?.(this);
    for (const waiter of this.endWaiters.splice(0)) waiter();
  }

  private socket() {
    // nodemailer keeps the (TLS) socket it talks on here; declared in its typings.
    return this.connection._socket || undefined;
  }
}
