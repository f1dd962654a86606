import { describe, expect, it } from 'vitest';
import { errorCodeForResponse, errorFromStatus, parseStatus } from '../../src/pop3/response.js';

describe('parseStatus', () => {
  it('parses +OK and -ERR with and without text', () => {
    expect(parseStatus('+OK')).toEqual({ ok: true, text: '' });
    expect(parseStatus('+OK 2 320')).toEqual({ ok: true, text: '2 320' });
    expect(parseStatus('-ERR no such message')).toEqual({ ok: false, text: 'no such message' });
    expect(parseStatus('+ok lower case')).toEqual({ ok: true, text: 'lower case' });
  });

  it('extracts RFC 2449 response codes, upper-cased', () => {
    expect(parseStatus('-ERR [IN-USE] Mailbox locked')).toEqual({
      ok: false,
      code: 'IN-USE',
      text: 'Mailbox locked',
    });
    expect(parseStatus('-ERR [sys/temp] later')).toEqual({ ok: false, code: 'SYS/TEMP', text: 'later' });
    expect(parseStatus('-ERR [not a code] x')).toEqual({ ok: false, text: '[not a code] x' });
  });

  it('rejects lines that are not status lines', () => {
    expect(parseStatus('+OKAY')).toBeUndefined();
    expect(parseStatus('+ continuation')).toBeUndefined();
    expect(parseStatus('* OK imap')).toBeUndefined();
    expect(parseStatus('')).toBeUndefined();
  });
});

describe('errorCodeForResponse', () => {
  it('maps RFC 2449 / RFC 3206 codes, hierarchically', () => {
    expect(errorCodeForResponse('IN-USE', false)).toBe('IN_USE');
    expect(errorCodeForResponse('LOGIN-DELAY', true)).toBe('LOGIN_DELAY');
    expect(errorCodeForResponse('SYS/TEMP', false)).toBe('SYS_TEMP');
    expect(errorCodeForResponse('SYS/PERM', true)).toBe('SYS_PERM');
    expect(errorCodeForResponse('SYS/TEMP/DISK', false)).toBe('SYS_TEMP');
    expect(errorCodeForResponse('AUTH', false)).toBe('AUTH_FAILED');
    expect(errorCodeForResponse('SYSTEM', false)).toBe('SERVER_ERROR');
  });

  it('falls back to AUTH_FAILED for authentication commands, SERVER_ERROR otherwise', () => {
    expect(errorCodeForResponse(undefined, true)).toBe('AUTH_FAILED');
    expect(errorCodeForResponse(undefined, false)).toBe('SERVER_ERROR');
    expect(errorCodeForResponse('UNKNOWN-THING', true)).toBe('AUTH_FAILED');
  });
});

describe('errorFromStatus', () => {
  it('keeps the server text for ordinary commands', () => {
    const error = errorFromStatus({ ok: false, text: 'no such message' }, { verb: 'RETR', auth: false });
    expect(error.code).toBe('SERVER_ERROR');
    expect(error.context).toEqual({ command: 'RETR', response: 'no such message' });
    expect(error.message).toContain('no such message');
  });

  it('leaves the server text out after authentication commands', () => {
    const error = errorFromStatus(
      { ok: false, code: 'AUTH', text: 'bad password hunter2' },
      { verb: 'PASS', auth: true },
    );
    expect(error.code).toBe('AUTH_FAILED');
    expect(error.context).toEqual({ command: 'PASS', responseCode: 'AUTH' });
    expect(error.message).not.toContain('hunter2');
  });

  it('carries the LOGIN-DELAY capability as retryAfterSeconds', () => {
    const error = errorFromStatus(
      { ok: false, code: 'LOGIN-DELAY', text: 'wait' },
      { verb: 'PASS', auth: true, loginDelay: 300 },
    );
    expect(error.code).toBe('LOGIN_DELAY');
    expect(error.context.retryAfterSeconds).toBe(300);
  });
});
