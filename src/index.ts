/**
 * multipop — collect mail from external POP3 mailboxes into a mail server's own queue,
 * exactly once, byte for byte.
 *
 * @packageDocumentation
 * @module multipop
 */
export * from './auth/index.js';
export * from './collect/index.js';
export * from './config/index.js';
export * from './errors/index.js';
export * from './fetcher/index.js';
export { type SmtpQueueOptions, smtpQueue } from './handoff/smtp-queue.js';
export * from './log/index.js';
export * from './pop3/index.js';
export * from './ports/index.js';
export * from './stores/index.js';
