/**
 * multipop's POP3 client and its building blocks.
 *
 * @example
 * ```ts
 * import { Pop3Client } from 'multipop';
 * const client = await Pop3Client.connect({ host: 'pop.example.com', port: 995, tls: 'implicit' });
 * ```
 */
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
export { apopDigest, apopTimestamp } from './apop.js';
export { emptyCapabilities, parseCapabilities } from './capabilities.js';
export { Pop3Client, type Pop3ClientEvents } from './client.js';
export { type FrameEvent, type FramerLimits, type FramerMode, Pop3Framer } from './framer.js';
export { DEFAULT_LIMITS, DEFAULT_PIPELINE_WINDOW, DEFAULT_TIMEOUTS } from './limits.js';
export { errorCodeForResponse, type Pop3Status, parseStatus } from './response.js';
export {
  decodeChallenge,
  oauthBearerResponse,
  plainResponse,
  type SaslChallenge,
  xoauth2Response,
} from './sasl.js';
export { Pop3State, type Pop3Verb } from './state.js';
