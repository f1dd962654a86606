/**
 * The add/edit form of a remote mailbox: the fields it shows, and how a submitted form becomes
 * the input of `fetcher.addEntry` / `fetcher.updateEntry`. Validation is the library's
 * (`CONFIG_INVALID` naming the field); the form only maps HTML values to typed ones.
 */
import type { EntryPatch, EntryView, MailboxEntryInput, OAuthProviderName } from 'multipop';
import { html, type SafeHtml } from './html.js';

/** A choice in the form's "OAuth provider" list. */
export interface ProviderChoice {
  value: OAuthProviderName;
  label: string;
}

/** The providers offered when the host names none. */
export const DEFAULT_PROVIDERS: readonly ProviderChoice[] = [
  { value: 'gmail', label: 'Google (Gmail)' },
  { value: 'microsoft', label: 'Microsoft 365' },
];

/** What the form shows: a stored entry, or what the user typed (never a password). */
export interface EntryFormValues {
  server: string;
  username: string;
  auth: 'password' | 'apop' | 'oauth';
  oauthProvider: string;
  tls: string;
  leaveOnServer: boolean;
  deleteAfterDays: string;
  maxMessageSizeKb: string;
}

/** An empty add form. */
export const EMPTY_FORM: EntryFormValues = {
  server: '',
  username: '',
  auth: 'password',
  oauthProvider: '',
  tls: '',
  leaveOnServer: false,
  deleteAfterDays: '0',
  maxMessageSizeKb: '0',
};

/**
 * The form values of a stored entry (for the edit page).
 *
 * @example
 * ```ts
 * const values = valuesOfEntry(view);
 * ```
 */
export function valuesOfEntry(entry: EntryView): EntryFormValues {
  return {
    server: entry.server,
    username: entry.username,
    auth: entry.auth,
    oauthProvider: entry.oauthProvider ?? '',
    tls: entry.tls ?? '',
    leaveOnServer: entry.leaveOnServer,
    deleteAfterDays: String(entry.deleteAfterDays),
    maxMessageSizeKb: String(entry.maxMessageSizeKb),
  };
}

/**
 * The values a user submitted, to show the form again after an error — without the password,
 * which is never sent back to the browser.
 *
 * @example
 * ```ts
 * const values = valuesOfForm(form);
 * ```
 */
export function valuesOfForm(form: URLSearchParams): EntryFormValues {
  const auth = form.get('auth');
  return {
    server: form.get('server') ?? '',
    username: form.get('username') ?? '',
    auth: auth === 'apop' || auth === 'oauth' ? auth : 'password',
    oauthProvider: form.get('oauthProvider') ?? '',
    tls: form.get('tls') ?? '',
    leaveOnServer: form.get('leaveOnServer') === 'on',
    deleteAfterDays: form.get('deleteAfterDays') ?? '0',
    maxMessageSizeKb: form.get('maxMessageSizeKb') ?? '0',
  };
}

// Whole numbers become numbers; anything else is passed on so the library names the field.
function count(value: string | null): number | string {
  const text = (value ?? '').trim();
  if (text === '') return 0;
  return /^\d{1,9}$/.test(text) ? Number(text) : text;
}

function optional<T extends string>(value: string | null, allowed: readonly T[]): T | undefined {
  return allowed.includes(value as T) ? (value as T) : undefined;
}

/**
 * The entry fields of a submitted form. An empty password means "keep the stored one" when
 * editing, and is left out for OAuth (an OAuth entry stores none).
 *
 * @example
 * ```ts
 * await fetcher.addEntry(actor, userId, entryInputOfForm(form));
 * await fetcher.updateEntry(actor, id, entryInputOfForm(form));
 * ```
 */
export function entryInputOfForm(form: URLSearchParams): Omit<MailboxEntryInput, 'id'> & EntryPatch {
  const values = valuesOfForm(form);
  const password = form.get('password') ?? '';
  const input: Omit<MailboxEntryInput, 'id'> & EntryPatch = {
    server: values.server.trim(),
    username: values.username.trim(),
    auth: values.auth,
    leaveOnServer: values.leaveOnServer,
    deleteAfterDays: count(values.deleteAfterDays) as number,
    maxMessageSizeKb: count(values.maxMessageSizeKb) as number,
  };
  const tls = optional(values.tls, ['implicit', 'starttls', 'none'] as const);
  if (tls) input.tls = tls;
  if (values.auth === 'oauth') {
    const provider = optional(values.oauthProvider, ['gmail', 'microsoft', 'generic'] as const);
    if (provider) input.oauthProvider = provider;
  } else if (password !== '') {
    input.password = password;
  }
  return input;
}

const selected = (on: boolean) => (on ? html` selected` : '');
const checked = (on: boolean) => (on ? html` checked` : '');

/**
 * The form fields (without `<form>`), shared by the add and edit pages. `idPrefix` keeps the
 * label/field ids unique when both forms could be on one page.
 *
 * @example
 * ```ts
 * html`<form method="post" action="/mailboxes">${entryFields(EMPTY_FORM, { providers, mode: 'add' })}</form>`;
 * ```
 */
export function entryFields(
  values: EntryFormValues,
  options: { providers: readonly ProviderChoice[]; mode: 'add' | 'edit'; hasPassword?: boolean },
): SafeHtml {
  const p = options.mode;
  const id = (name: string) => `${p}-${name}`;
  const passwordHint =
    options.mode === 'edit' && options.hasPassword ? 'Leave empty to keep the stored password.' : '';
  return html`
    <div class="field">
      <label for="${id('server')}">Server</label>
      <input id="${id('server')}" name="server" value="${values.server}" required
        placeholder="pop.example.com:995" autocomplete="off" data-testid="${p}-server">
      <small>Host name, optionally with <code>:port</code> (995 = secure connection).</small>
    </div>
    <div class="field">
      <label for="${id('username')}">User name</label>
      <input id="${id('username')}" name="username" value="${values.username}" required
        autocomplete="off" data-testid="${p}-username">
    </div>
    <fieldset class="field">
      <legend>Sign-in method</legend>
      <label><input type="radio" name="auth" value="password"${checked(values.auth === 'password')}
        data-testid="${p}-auth-password"> User name and password</label>
      <label><input type="radio" name="auth" value="apop"${checked(values.auth === 'apop')}
        data-testid="${p}-auth-apop"> APOP</label>
      <label><input type="radio" name="auth" value="oauth"${checked(values.auth === 'oauth')}
        data-testid="${p}-auth-oauth"> OAuth (sign in at the provider)</label>
    </fieldset>
    <div class="field">
      <label for="${id('password')}">Password</label>
      <input id="${id('password')}" name="password" type="password" autocomplete="new-password"
        aria-describedby="${id('password-hint')}" data-testid="${p}-password">
      <small id="${id('password-hint')}">Not needed with OAuth. ${passwordHint}</small>
    </div>
    <div class="field">
      <label for="${id('oauthProvider')}">OAuth provider</label>
      <select id="${id('oauthProvider')}" name="oauthProvider" data-testid="${p}-oauth-provider">
        <option value=""${selected(values.oauthProvider === '')}>Detect from the server name</option>
        ${options.providers.map(
          (choice) =>
            html`<option value="${choice.value}"${selected(values.oauthProvider === choice.value)}>${choice.label}</option>`,
        )}
      </select>
    </div>
    <div class="field">
      <label for="${id('tls')}">Security</label>
      <select id="${id('tls')}" name="tls" data-testid="${p}-tls">
        <option value=""${selected(values.tls === '')}>Automatic (by port)</option>
        <option value="implicit"${selected(values.tls === 'implicit')}>TLS</option>
        <option value="starttls"${selected(values.tls === 'starttls')}>STARTTLS</option>
        <option value="none"${selected(values.tls === 'none')}>None (unsafe)</option>
      </select>
    </div>
    <div class="field">
      <label><input type="checkbox" name="leaveOnServer"${checked(values.leaveOnServer)}
        data-testid="${p}-leave"> Leave a copy of messages on the server</label>
    </div>
    <div class="field inline">
      <label for="${id('deleteAfterDays')}">Delete copies after (days, 0 = never)</label>
      <input id="${id('deleteAfterDays')}" name="deleteAfterDays" inputmode="numeric"
        value="${values.deleteAfterDays}" size="5">
    </div>
    <div class="field inline">
      <label for="${id('maxMessageSizeKb')}">Skip messages larger than (KB, 0 = no limit)</label>
      <input id="${id('maxMessageSizeKb')}" name="maxMessageSizeKb" inputmode="numeric"
        value="${values.maxMessageSizeKb}" size="7">
    </div>`;
}
