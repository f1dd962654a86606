/**
 * The contract suites check what their names say: a queue without deduplication fails the
 * LocalQueue contract even when the harness cannot read messages back, and every case that cannot
 * check its claim with the given harness is reported as skipped, with the reason.
 */
import { localQueueContract, memoryQueue, runContract } from 'multipop/testing';
import { runLocalQueueContract } from 'multipop/testing/vitest';
import { describe, expect, it } from 'vitest';
import type { LocalQueue } from '../../src/ports/index.js';

/** Accepts every message, consumes its stream, and never looks at the idempotency key. */
function duplicatingQueue(): LocalQueue & { held: Buffer[] } {
  const held: Buffer[] = [];
  return {
    held,
    async enqueue(message) {
      const chunks: Buffer[] = [];
      for await (const chunk of message.content) chunks.push(chunk as Buffer);
      held.push(Buffer.concat(chunks));
      return { id: `copy-${held.length}` };
    },
  };
}

const dedupeCases = (names: string[]) => names.filter((n) => /same (idempotency )?key/.test(n));

describe('the LocalQueue contract on a queue that delivers the same key twice', () => {
  it('fails with only a factory (no read-back)', async () => {
    const report = await runContract(localQueueContract('duplicating', duplicatingQueue));
    expect(report.ok).toBe(false);
    const failed = report.failed.map((f) => f.name);
    expect(dedupeCases(failed).length).toBeGreaterThanOrEqual(2);
    expect(failed).toContain(
      'LocalQueue contract: duplicating › accepts the same idempotency key once: the second enqueue resolves with the first id and adds no copy',
    );
  });

  it('fails with a read-back harness too', async () => {
    const report = await runContract(
      localQueueContract('duplicating, read back', {
        create: duplicatingQueue,
        messages: async (q) => q.held.map((content, i) => ({ id: `copy-${i + 1}`, content })),
      }),
    );
    expect(report.ok).toBe(false);
    expect(dedupeCases(report.failed.map((f) => f.name)).length).toBeGreaterThanOrEqual(2);
  });

  it('reports every case it cannot check as skipped, with the reason', async () => {
    const report = await runContract(
      localQueueContract('memory queue without has', () => {
        const { enqueue } = memoryQueue();
        return { enqueue };
      }),
    );
    expect(report.failed).toEqual([]);
    expect(report.skipped.map((s) => s.reason).sort()).toEqual([
      'needs harness.messages to read back what the queue holds',
      'needs harness.messages to read back what the queue holds',
      'needs harness.reopen (close and open the same data again)',
      'the queue does not implement the optional has()',
    ]);
  });

  it('passes a queue that keeps its promise', async () => {
    const report = await runContract(
      localQueueContract('memory queue', {
        create: () => memoryQueue(),
        messages: async (q) => q.messages.map((m) => ({ id: m.id, content: m.content })),
      }),
    );
    expect(report.failed).toEqual([]);
    expect(report.passed.length).toBeGreaterThan(8);
  });
});

// Registered with vitest: the has() case finds out at run time that it cannot check anything
// and is reported as skipped (vitest's context.skip), with the reason.
runLocalQueueContract('memoryQueue without has()', () => {
  const { enqueue } = memoryQueue();
  return { enqueue };
});
