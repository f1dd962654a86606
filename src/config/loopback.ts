/**
 * Whether a URL may be used for OAuth: `https:`, or `http:` on a loopback host only
 * (`localhost`, `127.0.0.0/8`, `[::1]`) — plain HTTP elsewhere would expose codes and tokens
 * on the network (RFC 9700 §2.6). Returns the problem, or undefined when the URL is fine.
 *
 * @example
 * ```ts
 * oauthUrlProblem('http://127.0.0.1:4000');   // undefined
 * oauthUrlProblem('http://id.example.net');  // 'http:// is only allowed for loopback hosts …'
 * ```
 */
export function oauthUrlProblem(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'must be a URL';
  }
  if (url.protocol === 'https:') return undefined;
  if (url.protocol !== 'http:') return 'must be an https:// URL';
  if (isLoopbackHost(url.hostname)) return undefined;
  return 'http:// is only allowed for loopback hosts (localhost, 127.0.0.1, [::1]); use https://';
}

/** `localhost`, an IPv4 address in 127.0.0.0/8, or `::1` (as `URL.hostname` spells them). */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/\.$/, '');
  if (host === 'localhost' || host === '[::1]' || host === '::1') return true;
  return /^127(\.\d{1,3}){3}$/.test(host);
}
