/**
 * Fault injection of the fake server: each protocol step of a connection is answered through
 * the fault book — a fault may delay the answer, replace it (stall, drop, a scripted line, a
 * huge line, an endless body, raw bytes), cut a multi-line body after some bytes, or follow it
 * with an unsolicited line.
 */
import { type FakePop3Connection, statusLine } from './connection.js';
import type { FakePop3Fault } from './types.js';
import { dotStuff } from './wire.js';

// The global timer on purpose: a host test's fake timers govern `delay` faults too.
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** The faults that replace the answer to a step entirely. */
const REPLACING = new Set<FakePop3Fault['action']>([
  'stall',
  'drop',
  'respond',
  'hugeLine',
  'endlessBody',
  'raw',
]);

/** The fault book applied to one connection. */
export class FaultInjector {
  readonly #connection: FakePop3Connection;
  readonly #faultsFor: (step: string) => FakePop3Fault[];
  // Faults of the step being answered: body faults act inside `multiline`.
  #current: FakePop3Fault[] = [];

  /** `faultsFor` counts the step's occurrences server-wide and returns the faults that fire. */
  constructor(connection: FakePop3Connection, faultsFor: (step: string) => FakePop3Fault[]) {
    this.#connection = connection;
    this.#faultsFor = faultsFor;
  }

  /**
   * Answers one step (`answer` sends the normal answer; it returns false when the session must
   * end). Returns false when the session must end: QUIT, a dropped or stalled connection.
   */
  async step(step: string, answer: () => Promise<unknown>): Promise<boolean> {
    const connection = this.#connection;
    const faults = this.#faultsFor(step);
    this.#current = faults;
    for (const fault of faults) {
      if (fault.action === 'delay' && fault.when.afterBodyBytes === undefined) await sleep(fault.ms);
    }
    const replacing = faults.find((f) => REPLACING.has(f.action) && f.when.afterBodyBytes === undefined);
    const keepGoing = replacing ? await this.#replace(replacing) : (await answer()) !== false;
    this.#current = [];
    for (const fault of faults) {
      if (fault.action !== 'unsolicited' || connection.closed) continue;
      await sleep(fault.afterMs ?? 0);
      await connection.send(`${fault.line}\r\n`);
      if (fault.thenClose) {
        connection.end();
        return false;
      }
    }
    return keepGoing && !connection.closed;
  }

  /**
   * Sends a multi-line answer (`+OK status`, the dot-stuffed body, the terminating dot) — cut
   * after `afterBodyBytes` of the body when a fault of the current step says so.
   */
  async multiline(status: string, body: Buffer): Promise<void> {
    const connection = this.#connection;
    const head = Buffer.from(`${statusLine(status)}\r\n`, 'utf8');
    const wire = Buffer.concat([head, dotStuff(body)]);
    const bodyFault = this.#current.find((f) => f.when.afterBodyBytes !== undefined);
    if (bodyFault === undefined) return connection.send(wire);
    const cut = Math.min(wire.length, head.length + (bodyFault.when.afterBodyBytes ?? 0));
    await connection.send(wire.subarray(0, cut));
    if (bodyFault.action === 'drop') return connection.destroy();
    if (bodyFault.action === 'stall') return connection.whenClosed();
    if (bodyFault.action === 'delay') await sleep(bodyFault.ms);
    return connection.send(wire.subarray(cut));
  }

  /** Answers a step with a replacing fault instead. Returns whether the session goes on. */
  async #replace(fault: FakePop3Fault): Promise<boolean> {
    const connection = this.#connection;
    switch (fault.action) {
      case 'stall':
        await connection.whenClosed();
        return false;
      case 'drop':
        connection.destroy();
        return false;
      case 'respond':
        await connection.send(`${fault.line}\r\n`);
        return true;
      case 'raw':
        await connection.send(fault.data);
        return true;
      case 'hugeLine': {
        const piece = Buffer.alloc(64 * 1024, 'A');
        for (let sent = 0; sent < fault.bytes && !connection.closed; sent += piece.length) {
          await connection.write(piece.subarray(0, Math.min(piece.length, fault.bytes - sent)));
        }
        await connection.whenClosed();
        return false;
      }
      case 'endlessBody': {
        await connection.send('+OK message follows\r\n');
        const lines = Buffer.from(`${'endless body line '.repeat(4)}\r\n`.repeat(1000));
        while (!connection.closed) await connection.write(lines);
        return false;
      }
      default:
        return true;
    }
  }
}
