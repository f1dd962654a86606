export * from './schemas.js';
export {
  inferOAuthProvider,
  POP3_PORT,
  POP3S_PORT,
  parseServer,
  type ServerAddress,
  type TlsMode,
} from './server-address.js';
export {
  parseConfig,
  parseMailboxEntry,
  parseServerSettings,
  parseUserSettings,
  parseWith,
} from './validate.js';
