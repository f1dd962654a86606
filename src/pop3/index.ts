/**
 * `multipop/pop3`: multipop's POP3 client on its own — RFC 1939 with CAPA, RESP-CODES,
 * PIPELINING, STLS, SASL (PLAIN, XOAUTH2, OAUTHBEARER) and APOP; message bodies streamed byte
 * for byte with back-pressure. The framer, SASL encoders and parsers it is built from stay
 * internal. Failures reject with a `MultiPopError` (import `isMultiPopError` from `multipop`).
 *
 * @example
 * ```ts
 * import { Pop3Client } from 'multipop/pop3';
 *
 * const client = await Pop3Client.connect({ host: 'pop.example.com', port: 995, tls: 'implicit' });
 * await client.login('ann', 'secret');
 * console.log(await client.stat());
 * await client.quit();
 * ```
 *
 * @packageDocumentation
 * @module multipop/pop3
 */
export type { TlsMode } from '../config/server-address.js';
export type { Logger } from '../log/index.js';
export type {
  Pop3Capabilities,
  Pop3ClientApi,
  Pop3ConnectOptions,
  Pop3Limits,
  Pop3ListEntry,
  Pop3MessageStream,
  Pop3Timeouts,
  Pop3UidlEntry,
} from './api.js';
export { Pop3Client, type Pop3ClientEvents } from './client.js';
export { DEFAULT_LIMITS, DEFAULT_TIMEOUTS } from './limits.js';
export type { Pop3Status } from './response.js';
export { Pop3State } from './state.js';
