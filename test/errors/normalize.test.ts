/**
 * toMultiPopError, the one place where a thrown value becomes a MultiPopError: typed errors
 * pass through, a bug (TypeError and kin) says INTERNAL, anything else takes the caller's code.
 */
import { describe, expect, it } from 'vitest';
import { MultiPopError, toMultiPopError } from '../../src/errors/index.js';

describe('toMultiPopError', () => {
  it('passes a MultiPopError through, filling in context keys it lacks and keeping its own', () => {
    const typed = new MultiPopError('AUTH_FAILED', 'refused', { command: 'PASS' });
    const out = toMultiPopError(typed, 'STORE_ERROR', 'Collection failed', {
      mailboxId: 'm1',
      command: 'USER',
    });
    expect(out).toBe(typed);
    expect(out.code).toBe('AUTH_FAILED');
    expect(out.context).toEqual({ command: 'PASS', mailboxId: 'm1' });
  });

  it.each([
    new TypeError("Cannot read properties of undefined (reading 'uidl')"),
    new ReferenceError('x is not defined'),
    new RangeError('Invalid array length'),
    new SyntaxError('Unexpected token'),
  ])('a bug ($name) is INTERNAL, with the original as cause', (bug) => {
    const out = toMultiPopError(bug, 'STORE_ERROR', 'Collection failed', { mailboxId: 'm1' });
    expect(out).toBeInstanceOf(MultiPopError);
    expect(out.code).toBe('INTERNAL');
    expect(out.message).toBe(`Collection failed: ${bug.message}`);
    expect(out.context).toEqual({ mailboxId: 'm1' });
    expect(out.cause).toBe(bug);
  });

  it('any other error or thrown value takes the given code', () => {
    const disk = Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
    expect(toMultiPopError(disk, 'STORE_ERROR', 'The ledger write failed')).toMatchObject({
      code: 'STORE_ERROR',
      message: 'The ledger write failed: ENOSPC: no space left on device',
      cause: disk,
    });
    expect(toMultiPopError('a string', 'PROTOCOL_ERROR', 'POP3 client failure')).toMatchObject({
      code: 'PROTOCOL_ERROR',
      message: 'POP3 client failure: a string',
    });
  });

  it('does not share the context object it was given', () => {
    const context = { mailboxId: 'm1' };
    const out = toMultiPopError(new Error('x'), 'STORE_ERROR', 'failed', context);
    out.context.mailboxId = 'changed';
    expect(context.mailboxId).toBe('m1');
  });
});
