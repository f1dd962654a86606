/**
 * The webmail example's HTTP behaviour without a browser: who may reach which route, CSRF,
 * session binding, escaping of hostile values, form limits, and the status codes a refused
 * operation maps to. The browser journey is in webmail.chromium.test.ts.
 */
import type { IncomingMessage } from 'node:http';
import {
  MultiPopFetcher,
  memoryDirectory,
  memoryLedger,
  memoryQueue,
  memoryTokenStore,
  parseConfig,
} from 'multipop';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWebmail, type Webmail } from '../../examples/webmail/server.js';

const ANN = 'ann@example.com';
const BOB = 'bob@example.com';
const HOSTILE = '<script>alert(1)</script>"\'&';
const SECRET = 'stored-password-7c1e9a';

function demoUser(req: IncomingMessage): string | undefined {
  const value = req.headers['x-test-user'];
  return typeof value === 'string' ? value : undefined;
}

/** A browser-like client: keeps the session cookie, reads the CSRF token from the page. */
class Client {
  cookie = '';

  constructor(
    readonly base: string,
    readonly user: string | undefined,
  ) {}

  async request(method: 'GET' | 'POST', path: string, body?: string | Record<string, string>) {
    const headers: Record<string, string> = {};
    if (this.user) headers['x-test-user'] = this.user;
    if (this.cookie) headers['cookie'] = this.cookie;
    if (body !== undefined) headers['content-type'] = 'application/x-www-form-urlencoded';
    const res = await fetch(`${this.base}${path}`, {
      method,
      headers,
      redirect: 'manual',
      ...(body === undefined ? {} : { body: typeof body === 'string' ? body : new URLSearchParams(body) }),
    });
    const set = res.headers.getSetCookie().find((c) => c.startsWith('webmail_sid='));
    if (set) this.cookie = set.split(';')[0]!;
    return { status: res.status, headers: res.headers, text: await res.text() };
  }

  async csrf(): Promise<string> {
    const page = await this.request('GET', '/mailboxes');
    const token = /name="_csrf" value="([^"]+)"/.exec(page.text)?.[1];
    if (!token) throw new Error(`no CSRF token on the page (status ${page.status})`);
    return token;
  }
}

describe('webmail example over HTTP', () => {
  const directory = memoryDirectory(
    parseConfig({
      users: [
        {
          id: ANN,
          mayEditSettings: true,
          entries: [{ id: 'ann-x', server: 'pop.example.net:995', username: HOSTILE, password: SECRET }],
        },
        {
          id: BOB,
          mayEditSettings: false,
          entries: [{ id: 'bob-x', server: 'pop.example.org:995', username: 'bob', password: SECRET }],
        },
        { id: 'off@example.com', enabled: false, mayEditSettings: true },
      ],
    }),
  );
  const fetcher = new MultiPopFetcher({
    directory,
    ledger: memoryLedger(),
    queue: memoryQueue(),
    tokens: memoryTokenStore(),
    oauth: {},
  });
  let webmail: Webmail;

  beforeAll(async () => {
    webmail = await startWebmail({
      fetcher,
      domain: 'example.com',
      currentUser: demoUser,
      mayEdit: async (id) => (await directory.getUser(id))?.mayEditSettings === true,
    });
  });
  afterAll(async () => {
    await webmail?.close();
    await fetcher.stop();
  });

  it('answers 401 without a signed-in user, and serves the stylesheet to anyone', async () => {
    const anonymous = new Client(webmail.url, undefined);
    expect((await anonymous.request('GET', '/mailboxes')).status).toBe(401);
    const css = await anonymous.request('GET', '/webmail.css');
    expect(css.status).toBe(200);
    expect(css.headers.get('content-type')).toContain('text/css');
  });

  it('escapes hostile values, never sends a password, and sets protective headers', async () => {
    const ann = new Client(webmail.url, ANN);
    const page = await ann.request('GET', '/mailboxes');
    expect(page.status).toBe(200);
    expect(page.text).not.toContain('<script>');
    expect(page.text).toContain('&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;&amp;');
    expect(page.text).not.toContain(SECRET);
    const edit = await ann.request('GET', '/mailboxes/ann-x/edit');
    expect(edit.status).toBe(200);
    expect(edit.text).not.toContain(SECRET);
    expect(page.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(page.headers.get('x-frame-options')).toBe('DENY');
    expect(page.headers.get('cache-control')).toBe('no-store');
    const cookie = page.headers.getSetCookie().find((c) => c.startsWith('webmail_sid='))!;
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Lax/);
  });

  it('refuses a POST without the session token, with a token of another session, and after the user changed', async () => {
    const ann = new Client(webmail.url, ANN);
    const token = await ann.csrf();
    const fields = { server: 'pop.new.example:995', username: 'n', password: 'pw-123456' };
    expect((await ann.request('POST', '/mailboxes', fields)).status).toBe(403);
    const other = new Client(webmail.url, ANN);
    const otherToken = await other.csrf();
    expect(otherToken).not.toBe(token);
    expect((await ann.request('POST', '/mailboxes', { ...fields, _csrf: otherToken })).status).toBe(403);

    // The same cookie presented for another user starts a new session: the old token is void.
    const bobWithAnnsCookie = new Client(webmail.url, BOB);
    bobWithAnnsCookie.cookie = ann.cookie;
    const refused = await bobWithAnnsCookie.request('POST', '/collect', { _csrf: token });
    expect(refused.status).toBe(403);
    expect(refused.text).toContain('This form has expired');
    expect((await directory.getUser(ANN))!.entries).toHaveLength(1);

    // Ann's session went with it (a browser switching users starts afresh): a new page, a new token.
    expect((await ann.request('POST', '/mailboxes', { ...fields, _csrf: token })).status).toBe(403);
    const fresh = await ann.csrf();
    expect(fresh).not.toBe(token);
    const added = await ann.request('POST', '/mailboxes', { ...fields, _csrf: fresh });
    expect(added.status).toBe(303);
    expect(added.headers.get('location')).toBe('/mailboxes');
    expect((await directory.getUser(ANN))!.entries).toHaveLength(2);
    const after = await ann.request('GET', '/mailboxes');
    expect(after.text).toContain('Mailbox n at pop.new.example:995 added.');
    // The notice is shown once.
    expect((await ann.request('GET', '/mailboxes')).text).not.toContain('added.');
  });

  it('maps refusals to status codes: 403 without U2, 404 for another user’s entry, 400 for invalid input', async () => {
    const bob = new Client(webmail.url, BOB);
    const bobToken = await bob.csrf();
    const edit = await bob.request('GET', '/mailboxes/bob-x/edit');
    expect(edit.status).toBe(403);
    expect(edit.text).toContain('You are not allowed to change these settings');
    expect(
      (await bob.request('POST', '/mailboxes/bob-x/enabled', { _csrf: bobToken, enabled: 'false' })).status,
    ).toBe(403);
    expect((await bob.request('POST', '/mailboxes/ann-x/collect', { _csrf: bobToken })).status).toBe(404);

    const ann = new Client(webmail.url, ANN);
    const token = await ann.csrf();
    const invalid = await ann.request('POST', '/mailboxes', {
      _csrf: token,
      server: 'pop.bad.example:99999',
      username: 'u',
      password: 'pw-xyz-123',
    });
    expect(invalid.status).toBe(400);
    expect(invalid.text).toContain('Check: Server.');
    expect(invalid.text).toContain('value="pop.bad.example:99999"');
    expect(invalid.text).not.toContain('pw-xyz-123');

    // Grant for a password entry: the library says it is not an OAuth entry.
    expect((await ann.request('POST', '/mailboxes/ann-x/grant', { _csrf: token })).status).toBe(400);
    // A callback with a made-up state: nothing granted, the user is told and sent back.
    const callback = await ann.request('GET', '/oauth/callback?state=made-up&code=x');
    expect(callback.status).toBe(303);
    expect((await ann.request('GET', '/mailboxes')).text).toContain('has expired or was already used');
  });

  it('tells a user with MultiPOP off that it is not available', async () => {
    const off = new Client(webmail.url, 'off@example.com');
    const page = await off.request('GET', '/mailboxes');
    expect(page.status).toBe(403);
    expect(page.text).toContain('not available for your account');
  });

  it('refuses other content types, oversized forms, unknown routes and methods', async () => {
    const ann = new Client(webmail.url, ANN);
    const token = await ann.csrf();
    const json = await fetch(`${webmail.url}/mailboxes`, {
      method: 'POST',
      headers: { 'x-test-user': ANN, cookie: ann.cookie, 'content-type': 'application/json' },
      body: JSON.stringify({ _csrf: token }),
    });
    expect(json.status).toBe(415);
    const huge = await ann.request('POST', '/mailboxes', `_csrf=${token}&server=${'a'.repeat(20_000)}`);
    expect(huge.status).toBe(413);
    expect((await ann.request('GET', '/nowhere')).status).toBe(404);
    const wrongMethod = await ann.request('GET', '/collect');
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get('allow')).toBe('POST');
  });
});
