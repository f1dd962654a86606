import type { InteropServer } from '../helpers/servers/types.js';

/**
 * The user's messages once their number is `count`, polling for up to `timeoutMs`; after that,
 * whatever is there (the caller's assertion then fails with the real content). Needed because
 * some servers (Courier) reply to QUIT before their UPDATE state has removed the deleted files.
 *
 * @example
 * ```ts
 * expect(await settledMessages(server, 'ann', 0)).toEqual([]);
 * ```
 */
export async function settledMessages(
  server: Pick<InteropServer, 'messages'>,
  user: string,
  count: number,
  timeoutMs = 3_000,
): Promise<Buffer[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const messages = await server.messages(user);
    if (messages.length === count || Date.now() > deadline) return messages;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
