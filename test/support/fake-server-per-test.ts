import { afterEach } from 'vitest';
import { type FakePop3Options, type FakePop3Server, startFakePop3Server } from '../../src/testing/index.js';

/**
 * Fake POP3 servers that live for one test: the returned `start(options)` starts one (`options`
 * over `defaults`), and every server a test started is closed after it. Call it at the top of
 * a test file (or of a `describe`), once.
 *
 * @example
 * ```ts
 * const start = fakeServerPerTest({ users: [{ name: 'ann', password: 'pw', messages: [] }] });
 * it('greets', async () => {
 *   const server = await start({ capabilities: { pipelining: true } });
 * });
 * ```
 */
export function fakeServerPerTest(
  defaults: Partial<FakePop3Options>,
): (options?: Partial<FakePop3Options>) => Promise<FakePop3Server> {
  const running: FakePop3Server[] = [];
  afterEach(async () => {
    await Promise.all(running.splice(0).map((server) => server.close()));
  });
  return async (options = {}) => {
    const server = await startFakePop3Server({ users: [], ...defaults, ...options });
    running.push(server);
    return server;
  };
}
