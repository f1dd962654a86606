/**
 * A stand-in for the POP3 client that records the authentication calls and answers them as
 * told: for deciding *which* command a provider sends (the real client and servers prove the
 * bytes elsewhere).
 */
import { MultiPopError } from '../../../src/errors/index.js';
import type { Pop3Capabilities, Pop3ClientApi } from '../../../src/pop3/api.js';

export interface StubCall {
  method: 'login' | 'apop' | 'authPlain' | 'authXOAuth2' | 'authOAuthBearer';
  user: string;
  secret: string;
  form?: string;
}

export interface StubOptions {
  capa?: string[];
  secure?: boolean;
  apopTimestamp?: string;
  /** Whether a token (or password) is accepted. @default accept everything */
  accept?: (secret: string) => boolean;
}

export function capabilities(lines: string[]): Pop3Capabilities {
  const upper = lines.map((l) => l.toUpperCase());
  const sasl =
    upper
      .find((l) => l.startsWith('SASL'))
      ?.split(/\s+/)
      .slice(1) ?? [];
  return {
    raw: lines,
    top: upper.includes('TOP'),
    uidl: upper.includes('UIDL'),
    user: upper.includes('USER'),
    stls: upper.includes('STLS'),
    pipelining: upper.includes('PIPELINING'),
    respCodes: upper.includes('RESP-CODES'),
    sasl,
  };
}

export function stubClient(options: StubOptions = {}): Pop3ClientApi & { calls: StubCall[] } {
  const calls: StubCall[] = [];
  const accept = options.accept ?? (() => true);
  const answer = async (call: StubCall) => {
    calls.push(call);
    if (!accept(call.secret)) {
      throw new MultiPopError('AUTH_FAILED', 'Authentication failed', {
        command: 'AUTH',
        saslError: { status: '401', schemes: 'bearer' },
      });
    }
  };
  const unused = () => {
    throw new Error('not used by authentication');
  };
  return {
    calls,
    greeting: 'POP3 ready',
    apopTimestamp: options.apopTimestamp,
    capabilities: capabilities(options.capa ?? []),
    secure: options.secure ?? true,
    host: 'pop.test',
    port: 995,
    login: (user, secret) => answer({ method: 'login', user, secret }),
    apop: (user, secret) => answer({ method: 'apop', user, secret }),
    authPlain: (user, secret) => answer({ method: 'authPlain', user, secret }),
    authXOAuth2: (user, secret, form) => answer({ method: 'authXOAuth2', user, secret, form }),
    authOAuthBearer: (user, secret) => answer({ method: 'authOAuthBearer', user, secret }),
    stat: unused,
    list: unused,
    uidl: unused,
    top: unused,
    retr: unused,
    dele: unused,
    rset: unused,
    noop: unused,
    quit: unused,
    close: () => {},
  } as Pop3ClientApi & { calls: StubCall[] };
}
