/** What the command handlers of the fake server's sessions share. */
import type { SecureContext } from 'node:tls';
import type { FakeMailStore } from './mail-store.js';
import type {
  FakePop3Capabilities,
  FakePop3Fault,
  FakePop3Options,
  FakePop3Personality,
  FakePop3ReceivedCommand,
} from './types.js';

/** What all sessions of one server share. */
export interface ServerContext {
  options: FakePop3Options;
  capabilities: Required<
    Pick<FakePop3Capabilities, 'capa' | 'top' | 'uidl' | 'user' | 'pipelining' | 'respCodes'>
  > &
    FakePop3Capabilities;
  personality: FakePop3Personality;
  store: FakeMailStore;
  secureContext?: SecureContext;
  /** Counts occurrences of each step and returns the faults that fire for this one. */
  faultsFor(step: string): FakePop3Fault[];
  record(command: FakePop3ReceivedCommand): void;
  recordSasl(decoded: string): void;
}

/** How a command handler answers the client of its session. */
export interface Replies {
  ok(text: string): Promise<void>;
  /** `-ERR`, with the RESP-CODES `code` when the server speaks them. */
  err(code: string | undefined, text: string): Promise<void>;
  /** A multi-line answer: `+OK status`, the body dot-stuffed, the terminating dot. */
  multiline(status: string, body: Buffer): Promise<void>;
  /** Raw bytes (SASL challenges). */
  send(data: string): Promise<void>;
  /** The client's next line (a SASL response), or undefined once the connection closed. */
  nextLine(): Promise<string | undefined>;
}
