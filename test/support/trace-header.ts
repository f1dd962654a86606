/**
 * The message as the remote server holds it: what follows the trace header block the collector
 * puts in front of every delivered message (`Received:` and `X-MultiPOP-Source:`, each with its
 * folded continuation lines). Throws when that block is not there, so a test cannot pass on a
 * message delivered without it.
 *
 * @example
 * ```ts
 * expect(withoutTraceHeader(queue.messages[0]!.content)).toEqual(seeded);
 * ```
 */
export function withoutTraceHeader(delivered: Buffer): Buffer {
  let offset = 0;
  for (const field of ['Received:', 'X-MultiPOP-Source:']) {
    if (!delivered.subarray(offset, offset + field.length).equals(Buffer.from(field))) {
      throw new Error(`expected the trace header field ${field} at byte ${offset}`);
    }
    do {
      offset = delivered.indexOf('\r\n', offset) + 2;
    } while (delivered[offset] === 0x20 || delivered[offset] === 0x09);
  }
  return delivered.subarray(offset);
}
