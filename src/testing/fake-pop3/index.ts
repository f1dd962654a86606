/**
 * The in-process fake POP3 server of the `multipop/testing` kit.
 *
 * @example
 * ```ts
 * import { startFakePop3Server } from 'multipop/testing';
 * const server = await startFakePop3Server({ users: [{ name: 'ann', password: 'pw', messages: [] }] });
 * ```
 */
export { createTestCertificate, type TestCertificate, type TestCertificateOptions } from './certificate.js';
export { startFakePop3Server } from './server.js';
export type {
  FakePop3Capabilities,
  FakePop3Fault,
  FakePop3FaultWhen,
  FakePop3Message,
  FakePop3Options,
  FakePop3Personality,
  FakePop3ReceivedCommand,
  FakePop3Server,
  FakePop3Step,
  FakePop3User,
} from './types.js';
