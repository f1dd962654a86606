/**
 * The public test kit: everything an integrator's test needs is reachable from
 * `multipop/testing` alone, and the in-memory ports are the very same functions `multipop` exports.
 */
import * as main from 'multipop';
import * as kit from 'multipop/testing';
import { describe, expect, it } from 'vitest';

describe('multipop/testing exports', () => {
  it('has the fake server, the contract suites, the fake clock and the in-memory ports', () => {
    for (const name of [
      'startFakePop3Server',
      'createTestCertificate',
      'localQueueContract',
      'ledgerContract',
      'directoryContract',
      'tokenStoreContract',
      'runContract',
      'registerContract',
      'makeQueuedMessage',
      'fakeClock',
      'memoryDirectory',
      'memoryLedger',
      'memoryQueue',
      'memoryTokenStore',
    ]) {
      expect(typeof (kit as Record<string, unknown>)[name], name).toBe('function');
    }
  });

  it('re-exports the in-memory ports rather than copies of them', () => {
    expect(kit.memoryQueue).toBe(main.memoryQueue);
    expect(kit.memoryLedger).toBe(main.memoryLedger);
    expect(kit.memoryDirectory).toBe(main.memoryDirectory);
    expect(kit.memoryTokenStore).toBe(main.memoryTokenStore);
  });

  it('keeps test-only code out of the main entry point', () => {
    expect('startFakePop3Server' in main).toBe(false);
    expect('localQueueContract' in main).toBe(false);
    expect('fakeClock' in main).toBe(false);
  });
});
