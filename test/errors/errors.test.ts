import { describe, expect, it } from 'vitest';
import {
  type ErrorCode,
  ErrorCodes,
  errorCodeDescriptions,
  isMultiPopError,
  MultiPopError,
} from '../../src/errors/index.js';

describe('error codes', () => {
  const codes = Object.values(ErrorCodes);

  it('every code is its own name, so it reads the same in logs, JSON and code', () => {
    for (const [key, code] of Object.entries(ErrorCodes)) expect(code).toBe(key);
    expect(new Set(codes).size).toBe(codes.length);
  });

  it('every code has a description, and no description is left without a code', () => {
    for (const code of codes) {
      expect(errorCodeDescriptions[code], code).toBeTypeOf('string');
      expect(errorCodeDescriptions[code].length, code).toBeGreaterThan(20);
    }
    expect(Object.keys(errorCodeDescriptions).sort()).toEqual([...codes].sort());
  });

  it('codes the rest of the library relies on stay stable', () => {
    // Hosts branch on these strings; renaming one is a breaking change.
    expect(ErrorCodes).toMatchObject({
      CONFIG_INVALID: 'CONFIG_INVALID',
      AUTH_FAILED: 'AUTH_FAILED',
      IN_USE: 'IN_USE',
      LOGIN_DELAY: 'LOGIN_DELAY',
      TLS_REQUIRED: 'TLS_REQUIRED',
      OAUTH_NEEDS_PERMISSION: 'OAUTH_NEEDS_PERMISSION',
      QUEUE_REJECTED: 'QUEUE_REJECTED',
      UIDL_REQUIRED: 'UIDL_REQUIRED',
      ABORTED: 'ABORTED',
    });
  });
});

describe('MultiPopError', () => {
  it('carries code, message, context and name, and is an Error', () => {
    const error = new MultiPopError('IN_USE', 'Maildrop is locked', {
      mailboxId: 'm1',
      responseCode: 'IN-USE',
    });
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('MultiPopError');
    expect(error.code).toBe('IN_USE');
    expect(error.message).toBe('Maildrop is locked');
    expect(error.context).toEqual({ mailboxId: 'm1', responseCode: 'IN-USE' });
    expect(error.stack).toContain('Maildrop is locked');
    expect(String(error)).toBe('MultiPopError: Maildrop is locked');
  });

  it('keeps the cause, and has none when none is given', () => {
    const cause = Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
    const error = new MultiPopError(
      'CONNECTION_CLOSED',
      'Server closed the connection during RETR',
      { command: 'RETR' },
      { cause },
    );
    expect(error.cause).toBe(cause);
    expect('cause' in new MultiPopError('ABORTED', 'stopped')).toBe(false);
  });

  it('defaults to an empty context', () => {
    expect(new MultiPopError('NOT_FOUND', 'no such entry').context).toEqual({});
  });

  it('toJSON gives a plain object for logs and APIs (without stack or cause)', () => {
    const error = new MultiPopError(
      'LOGIN_DELAY',
      'Wait',
      { retryAfterSeconds: 300 },
      { cause: new Error('x') },
    );
    expect(error.toJSON()).toEqual({
      name: 'MultiPopError',
      code: 'LOGIN_DELAY',
      message: 'Wait',
      context: { retryAfterSeconds: 300 },
    });
    expect(JSON.parse(JSON.stringify(error))).toEqual(error.toJSON());
  });

  it('isMultiPopError narrows, optionally by code', () => {
    const error: unknown = new MultiPopError('AUTH_FAILED', 'rejected');
    expect(isMultiPopError(error)).toBe(true);
    expect(isMultiPopError(error, 'AUTH_FAILED')).toBe(true);
    expect(isMultiPopError(error, 'IN_USE')).toBe(false);
    expect(isMultiPopError(new Error('AUTH_FAILED'))).toBe(false);
    expect(isMultiPopError({ code: 'AUTH_FAILED', name: 'MultiPopError' })).toBe(false);
    expect(isMultiPopError(undefined)).toBe(false);
    if (isMultiPopError(error)) {
      const code: ErrorCode = error.code; // type-level: narrowing gives access to code
      expect(code).toBe('AUTH_FAILED');
    }
  });
});
