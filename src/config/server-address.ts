/** How the connection to a remote POP3 server is secured. */
export type TlsMode = 'implicit' | 'starttls' | 'none';

/** A parsed `host[:port]` with the TLS mode that applies to it. */
export interface ServerAddress {
  host: string;
  port: number;
  tls: TlsMode;
}

/** Port 995 is POP3 over implicit TLS (RFC 8314); 110 is POP3 with STLS (RFC 2595). */
export const POP3S_PORT = 995;
/** The POP3 port (plain, upgraded with STLS). */
export const POP3_PORT = 110;

const HOST_LABEL = /^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$/;

/** Why a server string was rejected; `undefined` when it is valid. */
export function serverAddressProblem(input: string): string | undefined {
  try {
    parseServerUnchecked(input, undefined);
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

/**
 * Parses a mailbox's server field (`entry.server`): `host`, `host:port`, `[v6]:port`.
 * Port 995 means implicit TLS, anything else STARTTLS, unless `tls` is given explicitly.
 * Without a port, the port follows the TLS mode (implicit → 995, else 110).
 *
 * @example
 * ```ts
 * parseServer('pop.gmail.com:995')          // { host: 'pop.gmail.com', port: 995, tls: 'implicit' }
 * parseServer('mail.example.com')           // { host: 'mail.example.com', port: 110, tls: 'starttls' }
 * parseServer('localhost:1110', 'none')     // { host: 'localhost', port: 1110, tls: 'none' }
 * ```
 * @throws Error with a human-readable reason (the schemas turn it into `CONFIG_INVALID`).
 */
export function parseServer(input: string, tls?: TlsMode): ServerAddress {
  return parseServerUnchecked(input, tls);
}

function parseServerUnchecked(input: string, tls: TlsMode | undefined): ServerAddress {
  const text = input.trim();
  if (text.length === 0) throw new Error('host is empty');
  let host: string;
  let portText: string | undefined;
  if (text.startsWith('[')) {
    const end = text.indexOf(']');
    if (end < 0) throw new Error('IPv6 address is missing its closing "]"');
    host = text.slice(1, end);
    const rest = text.slice(end + 1);
    if (rest !== '' && !rest.startsWith(':')) throw new Error('unexpected text after "]"');
    portText = rest === '' ? undefined : rest.slice(1);
    if (!/^[0-9A-Fa-f:.]+$/.test(host)) throw new Error(`"${host}" is not an IPv6 address`);
  } else {
    const parts = text.split(':');
    if (parts.length > 2) throw new Error('write an IPv6 address in brackets, e.g. [::1]:995');
    host = parts[0] ?? '';
    portText = parts[1];
    if (host.length === 0) throw new Error('host is empty');
    if (host.length > 253) throw new Error('host name is longer than 253 characters');
    const labels = host.replace(/\.$/, '').split('.');
    if (!labels.every((label) => HOST_LABEL.test(label))) {
      throw new Error(`"${host}" is not a valid host name`);
    }
  }
  let port: number | undefined;
  if (portText !== undefined) {
    if (!/^\d{1,5}$/.test(portText)) throw new Error(`port "${portText}" is not a number`);
    port = Number(portText);
    if (port < 1 || port > 65535) throw new Error(`port ${port} is outside 1–65535`);
  }
  const mode: TlsMode = tls ?? (port === POP3S_PORT ? 'implicit' : 'starttls');
  return { host, port: port ?? (mode === 'implicit' ? POP3S_PORT : POP3_PORT), tls: mode };
}

/** The well-known OAuth provider of a POP3 host, if any (Gmail, Microsoft 365). */
export function inferOAuthProvider(host: string): 'gmail' | 'microsoft' | undefined {
  const h = host.toLowerCase().replace(/\.$/, '');
  if (h === 'pop.gmail.com' || h === 'pop.googlemail.com') return 'gmail';
  if (h === 'outlook.office365.com' || h === 'pop-mail.outlook.com' || h === 'pop3.live.com')
    return 'microsoft';
  return undefined;
}
