// biome-ignore-all lint/performance/useDomNodeTextContent: these are Playwright's Locator.innerText() (the rendered text a user reads), not the DOM property
/**
 * The webmail example end to end in headless Chromium: the real page (examples/webmail) over a
 * real MultiPopFetcher, oidc-provider standing in for Google/Microsoft (its sign-in and consent
 * pages filled in by the browser), and Dovecot as the remote POP3 server, which checks every
 * OAuth token at oidc-provider's introspection endpoint.
 *
 * The tests run in order and share the browser session of each user, like a person would:
 * add → grant → collect; errors, edit, disable, remove; a user without U2; revoke → grant again;
 * then each OAuth outcome in the user's words: the provider's redirect opened by another user
 * (refused there, still good for the user who started it), a token the POP3 server refuses (turn POP on,
 * no grant loop), the wrong account signing in (named, nothing saved), the provider refusing
 * the app's settings (ask the administrator).
 */
import { mkdir } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { join } from 'node:path';
import {
  MultiPopFetcher,
  memoryDirectory,
  memoryLedger,
  memoryQueue,
  memoryTokenStore,
  parseConfig,
  parseServerSettings,
} from 'multipop';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startWebmail, type Webmail } from '../../examples/webmail/server.js';
import { capturingLogger } from '../auth/support/oauth-fixture.js';
import { type DovecotServer, describeWithDovecot, startDovecot } from '../helpers/dovecot.js';
import { withoutTraceHeader } from '../support/trace-header.js';
import {
  type BrowserAuthorizationServer,
  startBrowserAuthorizationServer,
} from './support/browser-authorization-server.js';
import { describeWithChromium, launchChromium } from './support/chromium.js';

const ANN = 'ann@example.com'; // U2: may edit
const BOB = 'bob@example.com'; // no U2
const DOMAIN = 'example.com';
/** Ann's account at the provider; also her Dovecot user (the token's `sub`). */
const ACCOUNT = 'ann.remote';
const ACCOUNT_PASSWORD = 'provider-pw-4f9c2e';
/** A Dovecot user with a password, for the password-entry test. */
const PLAIN_USER = 'ann.plain';
const PLAIN_PASSWORD = 'plain-pw-81d3aa';
const WRONG_PASSWORD = 'wrong-pw-never-echoed-5b7e';

const MESSAGES = [
  Buffer.from(
    'From: friend@remote.test\r\nTo: ann.remote@remote.test\r\nSubject: Hello through OAuth\r\n\r\n' +
      '.a line that starts with a dot\r\n8-bit: \xe9\xe8\xff\r\n',
    'latin1',
  ),
  Buffer.from('Subject: After granting again\r\n\r\nsecond\r\n', 'latin1'),
];
const ARTIFACTS = join(process.cwd(), 'test-artifacts');

/** The test's stand-in for the host's login: a cookie naming the user. */
function demoUser(req: IncomingMessage): string | undefined {
  const match = /(?:^|;\s*)demo_user=([^;]+)/.exec(req.headers.cookie ?? '');
  return match ? decodeURIComponent(match[1]!) : undefined;
}

describeWithChromium('webmail example in headless Chromium', () => {
  describeWithDovecot('Mailboxes page with OAuth at oidc-provider and Dovecot', () => {
    const logger = capturingLogger();
    const queue = memoryQueue();
    const tokens = memoryTokenStore();
    const directory = memoryDirectory(
      parseConfig({
        settings: { enabled: true, schedule: { mode: 'manual' } },
        users: [
          { id: ANN, mayEditSettings: true },
          { id: BOB, mayEditSettings: false },
        ],
      }),
    );
    let dovecot: DovecotServer;
    let as: BrowserAuthorizationServer;
    let webmail: Webmail;
    let fetcher: MultiPopFetcher;
    let browser: Browser;
    const contexts: BrowserContext[] = [];
    let ann: Page;

    const pageFor = async (userId: string): Promise<Page> => {
      const context = await browser.newContext();
      contexts.push(context);
      context.setDefaultTimeout(15_000);
      await context.addCookies([{ name: 'demo_user', value: encodeURIComponent(userId), url: webmail.url }]);
      const page = await context.newPage();
      await page.goto(`${webmail.url}/mailboxes`);
      return page;
    };
    const notice = (page: Page) => page.getByTestId('notice').innerText();
    const row = (page: Page, username: string) => page.getByTestId('entry').filter({ hasText: username });
    /** Ann adds an OAuth entry at Dovecot through the form. */
    const addOAuthEntry = async (username: string) => {
      await ann.getByLabel('Server', { exact: true }).fill(`127.0.0.1:${dovecot.popPort}`);
      await ann.getByLabel('User name', { exact: true }).fill(username);
      await ann.getByLabel('OAuth (sign in at the provider)').check();
      await ann.getByLabel('OAuth provider').selectOption('generic');
      await ann.getByRole('button', { name: 'Add mailbox' }).click();
      expect(await notice(ann)).toContain(`Mailbox ${username} at 127.0.0.1:${dovecot.popPort} added`);
    };
    const removeEntry = async (username: string) => {
      await row(ann, username)
        .getByRole('link', { name: /Remove/ })
        .click();
      await ann.getByRole('button', { name: 'Remove mailbox' }).click();
      expect(await notice(ann)).toContain('removed');
    };
    /** What an administrator changes in the OAuth app (S3–S5). */
    const updateGenericApp = async (change: Record<string, unknown>) => {
      const settings = await directory.getSettings();
      await directory.setSettings(
        parseServerSettings({ ...settings, oauth: { generic: { ...settings.oauth?.generic, ...change } } }),
      );
    };

    beforeAll(async () => {
      fetcher = new MultiPopFetcher({
        directory,
        ledger: memoryLedger(),
        queue,
        tokens,
        logger,
        // The service is built by the fetcher (events wired); the test issuer is plain http.
        oauth: { allowInsecureRequests: true },
        // Dovecot's self-signed certificate (valid for 127.0.0.1).
        connection: () => ({ tlsOptions: { ca: dovecot.caPem } }),
      });
      webmail = await startWebmail({
        fetcher,
        domain: DOMAIN,
        currentUser: demoUser,
        mayEdit: async (userId) => (await directory.getUser(userId))?.mayEditSettings === true,
        oauthProviders: [{ value: 'generic', label: 'Example Accounts' }],
        onError: (err) => logger.error({ err }, 'webmail error'),
      });
      const redirectUri = `${webmail.url}/oauth/callback`;
      as = await startBrowserAuthorizationServer({
        accounts: { [ACCOUNT]: ACCOUNT_PASSWORD },
        redirectUris: [redirectUri],
      });
      // S3–S5: the OAuth app, with the redirect URI of the webmail domain.
      await directory.setSettings(
        parseServerSettings({
          enabled: true,
          schedule: { mode: 'manual' },
          oauth: {
            generic: {
              clientId: as.client.clientId,
              clientSecret: as.client.clientSecret,
              redirectUris: { [DOMAIN]: redirectUri },
              issuer: as.issuer,
              scopes: ['pop', 'offline_access'],
              extraAuthorizationParams: { prompt: 'consent' },
            },
          },
        }),
      );
      dovecot = await startDovecot({
        users: [
          { name: ACCOUNT, password: 'unused-with-oauth-0c1d' },
          { name: PLAIN_USER, password: PLAIN_PASSWORD },
        ],
        oauth2: {
          introspectionUrl: as.introspectionEndpoint,
          usernameAttribute: 'sub',
          clientId: as.introspectionClient.clientId,
          clientSecret: as.introspectionClient.clientSecret,
        },
      });
      await dovecot.seed(ACCOUNT, [MESSAGES[0]!]);
      browser = await launchChromium();
      ann = await pageFor(ANN);
      await mkdir(ARTIFACTS, { recursive: true });
    });

    afterAll(async () => {
      for (const context of contexts) await context.close().catch(() => undefined);
      await browser?.close();
      await webmail?.close();
      await fetcher?.stop();
      await dovecot?.stop();
      await as?.stop();
    });

    it('adds an OAuth mailbox, grants permission at the provider, collects: the message arrives byte for byte', async () => {
      expect(await ann.getByTestId('no-entries').innerText()).toContain('No mailboxes yet');

      await ann.getByLabel('Server', { exact: true }).fill(`127.0.0.1:${dovecot.popPort}`);
      await ann.getByLabel('User name', { exact: true }).fill(ACCOUNT);
      await ann.getByLabel('OAuth (sign in at the provider)').check();
      await ann.getByLabel('OAuth provider').selectOption('generic');
      await ann.getByRole('button', { name: 'Add mailbox' }).click();
      expect(await notice(ann)).toContain(`Mailbox ${ACCOUNT} at 127.0.0.1:${dovecot.popPort} added`);
      const entry = row(ann, ACCOUNT);
      expect(await entry.getByTestId('needs-permission').innerText()).toBe('Needs permission');
      expect(await entry.getByTestId('needs-permission').getAttribute('data-again')).toBe('no');

      // "Grant permission" → the provider's sign-in page in the same tab.
      await entry.getByRole('button', { name: /Grant permission/ }).click();
      await ann.waitForURL(`${as.issuer}/interaction/**`);
      await ann.getByLabel('Email or user name').fill(ACCOUNT);
      await ann.getByLabel('Password').fill(ACCOUNT_PASSWORD);
      await ann.getByRole('button', { name: 'Sign in' }).click();
      // Consent, then the provider redirects to the webmail callback, which redirects to the list.
      await ann.getByRole('heading', { name: 'Allow access?' }).waitFor();
      expect(await ann.locator('ul').innerText()).toContain('Read and delete your mail over POP3');
      await ann.getByRole('button', { name: 'Allow' }).click();
      await ann.waitForURL(`${webmail.url}/mailboxes`);
      expect(ann.url()).not.toContain('code=');
      expect(await notice(ann)).toContain(`Permission granted: mail from ${ACCOUNT} at 127.0.0.1`);
      expect(await entry.getByTestId('needs-permission').count()).toBe(0);
      expect(await entry.getByRole('button', { name: /Grant permission/ }).count()).toBe(0);
      const entryId = (await entry.getAttribute('data-entry-id'))!;
      expect(await tokens.getTokens(entryId)).toMatchObject({ refreshToken: expect.any(String) });

      await entry.getByRole('button', { name: /Collect now/ }).click();
      expect(await notice(ann)).toBe(
        `Collected 1 new message from ${ACCOUNT} at 127.0.0.1:${dovecot.popPort}.`,
      );
      expect(await entry.getByTestId('state').innerText()).toBe('OK');
      expect(await entry.getByTestId('totals').innerText()).toMatch(/^1 message\b/);

      expect(queue.messages).toHaveLength(1);
      const [stored] = queue.messages;
      expect(stored!.recipient).toBe(ANN);
      expect(stored!.source.mailboxId).toBe(entryId);
      expect(withoutTraceHeader(stored!.content).equals(MESSAGES[0]!)).toBe(true);

      // Tokens never reach the browser.
      const html = await ann.content();
      const set = (await tokens.getTokens(entryId))!;
      expect(html).not.toContain(set.accessToken);
      expect(html).not.toContain(set.refreshToken!);
      await ann.screenshot({ path: join(ARTIFACTS, 'webmail-mailboxes.png'), fullPage: true });
    });

    it('password mailbox: invalid input named, wrong password explained, never echoed; edit, disable, remove', async () => {
      // Missing password: refused with the field named, the typed values kept (400).
      await ann.getByLabel('Server', { exact: true }).fill(`127.0.0.1:${dovecot.popPort}`);
      await ann.getByLabel('User name', { exact: true }).fill(PLAIN_USER);
      await ann.getByLabel('User name and password').check();
      const refused = ann.waitForResponse((r) => r.request().method() === 'POST');
      await ann.getByRole('button', { name: 'Add mailbox' }).click();
      expect((await refused).status()).toBe(400);
      expect(await notice(ann)).toContain('Check: Password.');
      expect(await ann.getByLabel('User name', { exact: true }).inputValue()).toBe(PLAIN_USER);

      await ann.getByLabel('Password', { exact: true }).fill(WRONG_PASSWORD);
      await ann.getByRole('button', { name: 'Add mailbox' }).click();
      expect(await notice(ann)).toContain(`Mailbox ${PLAIN_USER} at 127.0.0.1:${dovecot.popPort} added.`);
      const entry = row(ann, PLAIN_USER);
      await entry.getByRole('button', { name: /Collect now/ }).click();
      expect(await notice(ann)).toContain('did not accept the user name or password');
      expect(await entry.getByTestId('state').innerText()).toBe('Failing');
      expect(await entry.getByTestId('last-error').innerText()).toContain('did not accept');
      expect(await ann.content()).not.toContain(WRONG_PASSWORD);

      // Edit: the stored password is not in the form; a new one fixes the entry.
      await entry.getByRole('link', { name: /Edit/ }).click();
      await ann.getByRole('heading', { name: 'Edit mailbox' }).waitFor();
      expect(await ann.content()).not.toContain(WRONG_PASSWORD);
      expect(await ann.getByLabel('Password', { exact: true }).inputValue()).toBe('');
      await ann.getByLabel('Password', { exact: true }).fill(PLAIN_PASSWORD);
      await ann.getByLabel('Leave a copy of messages on the server').check();
      await ann.getByRole('button', { name: 'Save' }).click();
      expect(await notice(ann)).toContain(`Mailbox ${PLAIN_USER} at 127.0.0.1:${dovecot.popPort} saved.`);
      const entryId = (await entry.getAttribute('data-entry-id'))!;
      const stored = (await directory.getEntry(entryId))!.entry;
      expect(stored).toMatchObject({ password: PLAIN_PASSWORD, leaveOnServer: true });
      await entry.getByRole('button', { name: /Collect now/ }).click();
      expect(await notice(ann)).toContain(`No new messages in ${PLAIN_USER}`);
      expect(await entry.getByTestId('state').innerText()).toBe('OK');

      await entry.getByRole('button', { name: /^Disable / }).click();
      expect(await notice(ann)).toContain('disabled');
      expect(await entry.getByTestId('state').innerText()).toBe('Disabled');
      expect((await directory.getEntry(entryId))!.entry.enabled).toBe(false);
      await entry.getByRole('button', { name: /^Enable / }).click();
      expect((await directory.getEntry(entryId))!.entry.enabled).toBe(true);

      await entry.getByRole('link', { name: /Remove/ }).click();
      await ann.getByRole('heading', { name: 'Remove mailbox?' }).waitFor();
      await ann.getByRole('button', { name: 'Remove mailbox' }).click();
      expect(await notice(ann)).toContain(`Mailbox ${PLAIN_USER} at 127.0.0.1:${dovecot.popPort} removed.`);
      expect(await row(ann, PLAIN_USER).count()).toBe(0);
      expect(await directory.getEntry(entryId)).toBeUndefined();
    });

    it('a user without U2 sees no edit controls, and the server refuses their edits with 403', async () => {
      await fetcher.addEntry({ role: 'admin' }, BOB, {
        id: 'bob-plain',
        server: `127.0.0.1:${dovecot.popPort}`,
        username: PLAIN_USER,
        password: PLAIN_PASSWORD,
        leaveOnServer: true,
      });
      const bob = await pageFor(BOB);
      expect(await bob.getByTestId('read-only-note').isVisible()).toBe(true);
      expect(await bob.getByTestId('add-form').count()).toBe(0);
      expect(await bob.getByRole('button', { name: 'Add mailbox' }).count()).toBe(0);
      const entry = row(bob, PLAIN_USER);
      expect(await entry.getByTestId('edit').count()).toBe(0);
      expect(await entry.getByTestId('disable').count()).toBe(0);
      expect(await entry.getByTestId('remove').count()).toBe(0);
      // Looking and collecting need no U2.
      expect(await entry.getByRole('button', { name: /Collect now/ }).count()).toBe(1);

      // The same browser session posts anyway, with a valid CSRF token: the fetcher says no.
      // (Through the context's request API, which shares the session cookie: the page's own
      // fetch() is blocked by the webmail's Content-Security-Policy.)
      const token = await bob.locator('input[name=_csrf]').first().inputValue();
      const post = async (page: Page, path: string, form: Record<string, string>) => {
        const res = await page.request.post(`${webmail.url}${path}`, { form, maxRedirects: 0 });
        return { status: res.status(), text: await res.text() };
      };
      const add = await post(bob, '/mailboxes', {
        _csrf: token,
        server: 'pop.example.net:995',
        username: 'bob',
        auth: 'password',
        password: 'bob-pw-123456',
      });
      expect(add.status).toBe(403);
      expect(add.text).toContain('You are not allowed to change these settings');
      expect((await directory.getUser(BOB))!.entries.map((e) => e.id)).toEqual(['bob-plain']);

      const disable = await post(bob, '/mailboxes/bob-plain/enabled', { _csrf: token, enabled: 'false' });
      expect(disable.status).toBe(403);
      expect((await directory.getEntry('bob-plain'))!.entry.enabled).toBe(true);
      const remove = await post(bob, '/mailboxes/bob-plain/remove', { _csrf: token });
      expect(remove.status).toBe(403);
      expect(await directory.getEntry('bob-plain')).toBeDefined();

      // Without the session's token the request does not even reach the fetcher.
      const forged = await post(bob, '/collect', { _csrf: 'forged' });
      expect(forged.status).toBe(403);
      expect(forged.text).toContain('This form has expired');

      // Ann's page does not show Bob's entry, and Ann cannot act on it.
      expect(await ann.locator('[data-entry-id="bob-plain"]').count()).toBe(0);
      const annToken = await ann.locator('input[name=_csrf]').first().inputValue();
      const foreign = (await post(ann, '/mailboxes/bob-plain/remove', { _csrf: annToken })).status;
      expect(foreign).toBe(404);
      expect(await directory.getEntry('bob-plain')).toBeDefined();
    });

    it('revoking the grant at the provider shows "needs permission again" after the next collection; granting again brings the mail', async () => {
      expect(await as.revokeGrants(ACCOUNT)).toBeGreaterThan(0);
      await dovecot.seed(ACCOUNT, [MESSAGES[1]!]);
      await ann.goto(`${webmail.url}/mailboxes`);
      const entry = row(ann, ACCOUNT);
      expect(await entry.getByTestId('state').innerText()).toBe('OK');

      await entry.getByRole('button', { name: /Collect now/ }).click();
      expect(await notice(ann)).toContain('Permission to read this mailbox is missing or was withdrawn');
      expect(await entry.getByTestId('needs-permission').innerText()).toBe('Needs permission again');
      expect(await entry.getByTestId('needs-permission').getAttribute('data-again')).toBe('yes');
      expect(queue.messages).toHaveLength(1);
      await ann.screenshot({ path: join(ARTIFACTS, 'webmail-needs-permission.png'), fullPage: true });

      // Granting again: still signed in at the provider, so only the consent page.
      await entry.getByRole('button', { name: /Grant permission/ }).click();
      await ann.getByRole('heading', { name: 'Allow access?' }).waitFor();
      await ann.getByRole('button', { name: 'Allow' }).click();
      await ann.waitForURL(`${webmail.url}/mailboxes`);
      expect(await notice(ann)).toContain('Permission granted');
      await entry.getByRole('button', { name: /Collect now/ }).click();
      expect(await notice(ann)).toBe(
        `Collected 1 new message from ${ACCOUNT} at 127.0.0.1:${dovecot.popPort}.`,
      );
      expect(queue.messages).toHaveLength(2);
      expect(withoutTraceHeader(queue.messages[1]!.content).equals(MESSAGES[1]!)).toBe(true);
      expect(as.failedLogins).toBe(0);
    });

    it('the provider’s redirect opened in another user’s session is refused there, and still works for the user who started it', async () => {
      const mailbox = 'ann.shared-link';
      await addOAuthEntry(mailbox);
      const entry = row(ann, mailbox);
      const entryId = (await entry.getAttribute('data-entry-id'))!;
      // Ann's browser does not follow the provider's redirects back to the webmail: she passes
      // the link on. (Playwright cannot stop a redirect the browser follows, so the consent
      // post and the provider's resume step are sent with the context's own cookies instead.)
      const confirm = `${as.issuer}/interaction/**`;
      let copied: (url: string) => void = () => undefined;
      const linkCopied = new Promise<string>((resolve) => {
        copied = resolve;
      });
      await ann.route(confirm, async (route) => {
        if (route.request().method() !== 'POST') return route.continue();
        const consented = await route.fetch({ maxRedirects: 0 });
        const resume = new URL(consented.headers()['location']!, as.issuer).href;
        const resumed = await ann.request.get(resume, { maxRedirects: 0 });
        await route.fulfill({ status: 200, contentType: 'text/plain', body: 'link copied' });
        copied(new URL(resumed.headers()['location']!, as.issuer).href);
      });
      await entry.getByRole('button', { name: /Grant permission/ }).click();
      await ann.getByRole('heading', { name: 'Allow access?' }).waitFor();
      await ann.getByRole('button', { name: 'Allow' }).click();
      const callback = await linkCopied;
      expect(callback).toMatch(/\/oauth\/callback\?.*code=/);
      await ann.unroute(confirm);

      const bob = await pageFor(BOB);
      await bob.goto(callback);
      await bob.waitForURL(`${webmail.url}/mailboxes`);
      expect(await notice(bob)).toBe(
        'This permission link belongs to someone else’s "Grant permission", so nothing was saved. Only the person who clicked "Grant permission" can finish it, signed in to this webmail as themselves.',
      );
      expect(await tokens.getTokens(entryId)).toBeUndefined();

      // Bob's attempt did not use it up: in Ann's session the same link completes the grant.
      await ann.goto(callback);
      await ann.waitForURL(`${webmail.url}/mailboxes`);
      expect(await notice(ann)).toContain(`Permission granted: mail from ${mailbox}`);
      expect(await tokens.getTokens(entryId)).toMatchObject({ refreshToken: expect.any(String) });
      await removeEntry(mailbox);
    });

    it('a grant the POP3 server refuses even with a fresh token: told to turn POP on, not to grant again', async () => {
      // The app does not check who consents (no identityClaim): Ann grants for her second
      // mailbox while signed in at the provider as ann.remote, whose token Dovecot refuses for it.
      await addOAuthEntry(PLAIN_USER);
      const entry = row(ann, PLAIN_USER);
      await entry.getByRole('button', { name: /Grant permission/ }).click();
      await ann.getByRole('heading', { name: 'Allow access?' }).waitFor();
      await ann.getByRole('button', { name: 'Allow' }).click();
      await ann.waitForURL(`${webmail.url}/mailboxes`);
      expect(await notice(ann)).toContain('Permission granted');

      await entry.getByRole('button', { name: /Collect now/ }).click();
      expect(await notice(ann)).toContain(
        'Permission is granted, but the mailbox does not allow POP access. Turn POP on',
      );
      expect(await notice(ann)).toContain('Granting permission again will not help.');
      // No grant loop: no "needs permission", no button asking for it.
      expect(await entry.getByTestId('needs-permission').count()).toBe(0);
      expect(await entry.getByRole('button', { name: /Grant permission/ }).count()).toBe(0);
      expect(await entry.getByTestId('state').innerText()).toBe('Failing');
      expect(await entry.getByTestId('last-error').innerText()).toContain('does not allow POP access');
      await removeEntry(PLAIN_USER);
    });

    it('with the app checking who consents, signing in as another account is refused, naming both', async () => {
      // The administrator turns the identity check on (the ID token's sub names the mailbox).
      await updateGenericApp({ identityClaim: 'sub' });
      const other = 'ann.other';
      await addOAuthEntry(other);
      const entry = row(ann, other);
      await entry.getByRole('button', { name: /Grant permission/ }).click();
      // Still signed in at the provider as ann.remote: only the consent page (openid is new).
      await ann.getByRole('heading', { name: 'Allow access?' }).waitFor();
      expect(await ann.locator('p').first().innerText()).toContain(`Signed in as ${ACCOUNT}`);
      await ann.getByRole('button', { name: 'Allow' }).click();
      await ann.waitForURL(`${webmail.url}/mailboxes`);
      expect(await notice(ann)).toBe(
        `You signed in as ${ACCOUNT}, but this mailbox is ${other}, so nothing was saved. Please grant permission again and sign in as ${other}.`,
      );
      expect(await entry.getByTestId('needs-permission').innerText()).toBe('Needs permission');
      const entryId = (await entry.getAttribute('data-entry-id'))!;
      expect(await tokens.getTokens(entryId)).toBeUndefined();
      await ann.screenshot({ path: join(ARTIFACTS, 'webmail-account-mismatch.png'), fullPage: true });
      await removeEntry(other);
    });

    it('the provider refusing the app’s settings: ask the administrator; the grant is kept', async () => {
      const entry = row(ann, ACCOUNT);
      const entryId = (await entry.getAttribute('data-entry-id'))!;
      const granted = (await tokens.getTokens(entryId))!;
      // A wrong client secret in the settings, and an access token due for a refresh.
      await updateGenericApp({ clientSecret: 'a-secret-the-provider-does-not-know' });
      await tokens.setTokens(entryId, { ...granted, expiresAt: Date.now() - 1_000 });
      await ann.goto(`${webmail.url}/mailboxes`);

      await entry.getByRole('button', { name: /Collect now/ }).click();
      expect(await notice(ann)).toContain(
        'The sign-in service does not accept this server’s app settings. Please ask your administrator to check them',
      );
      expect(await entry.getByTestId('needs-permission').count()).toBe(0);
      expect(await entry.getByTestId('state').innerText()).toBe('Failing');
      expect(await tokens.getTokens(entryId)).toMatchObject({ refreshToken: granted.refreshToken });

      // The administrator fixes the secret: the next collection refreshes and works.
      await updateGenericApp({ clientSecret: as.client.clientSecret });
      await entry.getByRole('button', { name: /Collect now/ }).click();
      expect(await notice(ann)).toContain(`No new messages in ${ACCOUNT}`);
      expect(await entry.getByTestId('state').innerText()).toBe('OK');
    });

    it('no password, token or client secret in any log line', async () => {
      const text = logger.text();
      expect(text.length).toBeGreaterThan(0);
      for (const secret of [PLAIN_PASSWORD, WRONG_PASSWORD, ACCOUNT_PASSWORD, as.client.clientSecret]) {
        expect(text).not.toContain(secret);
      }
      const entryId = (await directory.getUser(ANN))!.entries.find((e) => e.username === ACCOUNT)!.id;
      const set = (await tokens.getTokens(entryId))!;
      expect(text).not.toContain(set.accessToken);
      expect(text).not.toContain(set.refreshToken!);
    });
  });
});
