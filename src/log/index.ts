export { createLog, type Log, type Logger, SecretRegistry, silentLogger } from './logger.js';
export { REDACTED, redact } from './redact.js';
