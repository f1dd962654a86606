/**
 * multipop — collect mail from external POP3 mailboxes into a mail server's own queue,
 * exactly once, byte for byte.
 *
 * @packageDocumentation
 */
export * from './config/index.js';
export * from './errors/index.js';
export * from './log/index.js';
export * from './ports/index.js';
