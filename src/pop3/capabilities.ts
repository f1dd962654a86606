import type { Pop3Capabilities } from './api.js';

/**
 * Capabilities of a server that has no CAPA command (or before CAPA was read): nothing known.
 *
 * @example
 * ```ts
 * emptyCapabilities().sasl // → []
 * ```
 */
export function emptyCapabilities(): Pop3Capabilities {
  return {
    raw: [],
    top: false,
    uidl: false,
    user: false,
    stls: false,
    pipelining: false,
    respCodes: false,
    sasl: [],
  };
}

/**
 * Parses the lines of a CAPA response (RFC 2449 §5), without the status line and the final `.`.
 * Unknown capabilities are kept in `raw` only. Malformed arguments are ignored rather than
 * fatal: a capability list is advice, not data we store.
 *
 * @example
 * ```ts
 * parseCapabilities(['TOP', 'UIDL', 'SASL PLAIN XOAUTH2', 'LOGIN-DELAY 300', 'EXPIRE NEVER'])
 * // → { top: true, uidl: true, sasl: ['PLAIN', 'XOAUTH2'], loginDelay: 300, expire: Infinity, … }
 * ```
 */
export function parseCapabilities(lines: readonly string[]): Pop3Capabilities {
  const caps = emptyCapabilities();
  for (const rawLine of lines) {
    const line = rawLine.trim();
    if (line === '') continue;
    const [keywordRaw = '', ...args] = line.split(/\s+/);
    const keyword = keywordRaw.toUpperCase();
    caps.raw.push([keyword, ...args].join(' '));
    switch (keyword) {
      case 'TOP':
        caps.top = true;
        break;
      case 'UIDL':
        caps.uidl = true;
        break;
      case 'USER':
        caps.user = true;
        break;
      case 'STLS':
        caps.stls = true;
        break;
      case 'PIPELINING':
        caps.pipelining = true;
        break;
      case 'RESP-CODES':
        caps.respCodes = true;
        break;
      case 'SASL':
        for (const mech of args) {
          const upper = mech.toUpperCase();
          if (!caps.sasl.includes(upper)) caps.sasl.push(upper);
        }
        break;
      case 'LOGIN-DELAY': {
        // `LOGIN-DELAY 900` or, before authentication, `LOGIN-DELAY 900 USER`.
        const seconds = parseNonNegativeInt(args[0]);
        if (seconds !== undefined) caps.loginDelay = seconds;
        break;
      }
      case 'EXPIRE': {
        const value = args[0]?.toUpperCase();
        if (value === 'NEVER') caps.expire = Number.POSITIVE_INFINITY;
        else {
          const days = parseNonNegativeInt(value);
          if (days !== undefined) caps.expire = days;
        }
        break;
      }
      case 'IMPLEMENTATION':
        caps.implementation = line.slice(keywordRaw.length).trim();
        break;
      default:
        break;
    }
  }
  return caps;
}

function parseNonNegativeInt(text: string | undefined): number | undefined {
  if (text === undefined || !/^\d{1,10}$/.test(text)) return undefined;
  return Number(text);
}
