import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/index.js';
import { MultiPopFetcher } from '../../src/fetcher/index.js';
import { memoryDirectory, memoryLedger, memoryQueue } from '../../src/stores/index.js';

const ports = () => ({
  directory: memoryDirectory(parseConfig({})),
  ledger: memoryLedger(),
  queue: memoryQueue(),
});

describe('MultiPopFetcher options', () => {
  it('accepts the ports alone', () => {
    expect(new MultiPopFetcher(ports()).state).toBe('idle');
  });

  it.each([
    ['directory', { directory: undefined }],
    ['ledger', { ledger: { load() {} } }],
    ['queue', { queue: {} }],
    ['concurrency.global', { concurrency: { global: 0 } }],
    ['concurrency.perHost', { concurrency: { perHost: 1.5 } }],
    ['backoff.baseMs', { backoff: { baseMs: 10_000, maxMs: 1_000 } }],
    ['backoff.maxMs', { backoff: { maxMs: -1 } }],
    ['backoff.random', { backoff: { random: 0.5 } }],
    ['overQuotaAction', { overQuotaAction: 'delete-everything' }],
    ['isOverQuota', { isOverQuota: true }],
    ['runSession', { runSession: 'yes' }],
    ['logger', { logger: console.log }],
    ['concurency', { concurency: { global: 2 } }],
  ])('rejects a bad %s with CONFIG_INVALID naming it', (field, bad) => {
    const attempt = () => new MultiPopFetcher({ ...ports(), ...(bad as object) } as never);
    expect(attempt).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
    try {
      attempt();
    } catch (err) {
      const named = [(err as { context: { field?: string } }).context.field, (err as Error).message].join(
        ' ',
      );
      expect(named).toContain(field);
    }
  });
});
