/**
 * The user's "Mailboxes" page (the original feature's Options » Mailboxes): the remote
 * mailboxes with their state, the buttons the user may use, and the add form.
 */
import type { EntryView, MailboxStatus } from 'multipop';
import { EMPTY_FORM, type EntryFormValues, entryFields, type ProviderChoice } from '../entry-form.js';
import { html, type SafeHtml } from '../html.js';
import { friendlyCode, hasGrantedBefore, statusLabel } from '../messages.js';
import type { Notice } from '../session.js';
import { layout } from './layout.js';

/** What the page needs. */
export interface MailboxesPageInput {
  userId: string;
  entries: EntryView[];
  /** `mayEditSettings` (with `settings.enabled`, `user.enabled`): show the add form and edit buttons. */
  mayEdit: boolean;
  csrfToken: string;
  providers: readonly ProviderChoice[];
  notice?: Notice | undefined;
  /** The add form as the user filled it, after a refused submission. */
  addForm?: EntryFormValues;
}

/**
 * Renders the page.
 *
 * @example
 * ```ts
 * sendHtml(res, 200, mailboxesPage({ userId, entries, mayEdit: true, csrfToken, providers }));
 * ```
 */
export function mailboxesPage(input: MailboxesPageInput): SafeHtml {
  const body = html`
    <h1>Mailboxes</h1>
    <p class="lead">Mail from these mailboxes at other providers is collected into your inbox here.</p>
    ${
      input.mayEdit
        ? ''
        : html`<p class="notice info" data-testid="read-only-note">You can see your mailboxes here;
            only your administrator can add or change them.</p>`
    }
    <section class="card" aria-labelledby="list-heading">
      <h2 id="list-heading">Your mailboxes</h2>
      ${input.entries.length === 0 ? html`<p class="empty" data-testid="no-entries">No mailboxes yet.</p>` : entryTable(input)}
      ${
        input.entries.length > 0
          ? html`<div class="actions">${postButton(input.csrfToken, '/collect', 'Collect all now', { testid: 'collect-all' })}</div>`
          : ''
      }
    </section>
    ${input.mayEdit ? addSection(input) : ''}`;
  return layout({ title: 'Mailboxes', userId: input.userId, notice: input.notice, body });
}

function entryTable(input: MailboxesPageInput): SafeHtml {
  return html`<table data-testid="entries">
    <thead><tr>
      <th scope="col">Mailbox</th><th scope="col">Sign-in</th><th scope="col">Status</th>
      <th scope="col">Last collection</th><th scope="col">Collected</th><th scope="col">Actions</th>
    </tr></thead>
    <tbody>${input.entries.map((entry) => entryRow(entry, input))}</tbody>
  </table>`;
}

function entryRow(entry: EntryView, input: MailboxesPageInput): SafeHtml {
  const s = entry.status;
  const label = `${entry.username} at ${entry.server}`;
  const base = `/mailboxes/${encodeURIComponent(entry.id)}`;
  return html`<tr data-testid="entry" data-entry-id="${entry.id}">
    <td><strong>${entry.server}</strong><small>${entry.username}</small></td>
    <td>${signIn(entry, input.providers)}</td>
    <td>${statusBadge(s, entry.enabled)}${lastError(s)}</td>
    <td>${lastRun(s)}</td>
    <td data-testid="totals">${totals(s)}</td>
    <td><div class="actions">
      ${
        entry.auth === 'oauth' && s.needsPermission
          ? postButton(input.csrfToken, `${base}/grant`, 'Grant permission', {
              testid: 'grant',
              primary: true,
              ariaLabel: `Grant permission for ${label}`,
            })
          : ''
      }
      ${postButton(input.csrfToken, `${base}/collect`, 'Collect now', {
        testid: 'collect',
        ariaLabel: `Collect now from ${label}`,
      })}
      ${
        input.mayEdit
          ? html`
            <a class="button" href="${base}/edit" data-testid="edit" aria-label="Edit ${label}">Edit</a>
            ${postButton(input.csrfToken, `${base}/enabled`, entry.enabled ? 'Disable' : 'Enable', {
              testid: entry.enabled ? 'disable' : 'enable',
              fields: { enabled: entry.enabled ? 'false' : 'true' },
              ariaLabel: `${entry.enabled ? 'Disable' : 'Enable'} ${label}`,
            })}
            <a class="button" href="${base}/remove" data-testid="remove" aria-label="Remove ${label}">Remove</a>`
          : ''
      }
    </div></td>
  </tr>`;
}

function signIn(entry: EntryView, providers: readonly ProviderChoice[]): SafeHtml {
  if (entry.auth === 'oauth') {
    const name = providers.find((p) => p.value === entry.oauthProvider)?.label ?? entry.oauthProvider;
    return html`OAuth${name ? html`<small>${name}</small>` : ''}`;
  }
  const method = entry.auth === 'apop' ? 'APOP' : 'Password';
  return html`${method}${entry.hasPassword ? '' : html` <small class="error-text">no password set</small>`}`;
}

function statusBadge(status: MailboxStatus, enabled: boolean): SafeHtml {
  const text = statusLabel(status, enabled);
  if (status.needsPermission) {
    const again = hasGrantedBefore(status);
    return html`<span class="badge warn" data-testid="needs-permission" data-again="${again ? 'yes' : 'no'}">${text}</span>
      <small>${again ? 'Permission was withdrawn; grant it again to continue.' : 'Grant permission to start collecting.'}</small>`;
  }
  const kind = !enabled ? 'off' : text === 'Failing' ? 'bad' : text === 'OK' ? 'ok' : 'off';
  return html`<span class="badge ${kind}" data-testid="state">${text}</span>`;
}

function lastError(status: MailboxStatus): SafeHtml | '' {
  if (status.lastErrorCode === undefined || status.consecutiveFailures === 0 || status.needsPermission)
    return '';
  const times = status.consecutiveFailures > 1 ? ` (${status.consecutiveFailures} times in a row)` : '';
  return html`<small class="error-text" data-testid="last-error">${friendlyCode(status.lastErrorCode)}${times}</small>`;
}

function lastRun(status: MailboxStatus): SafeHtml {
  if (status.lastRunAt === undefined) return html`<span class="empty">never</span>`;
  // The last success is worth a line only when the last run was not one.
  const failing = status.consecutiveFailures > 0 || status.needsPermission;
  return html`${time(status.lastRunAt)}${
    failing && status.lastSuccessAt !== undefined
      ? html`<small>last success ${time(status.lastSuccessAt)}</small>`
      : ''
  }`;
}

function totals(status: MailboxStatus): SafeHtml {
  const n = status.totalMessages;
  return html`${n} message${n === 1 ? '' : 's'}<small>${formatBytes(status.totalBytes)}</small>`;
}

function time(ms: number): SafeHtml {
  const iso = new Date(ms).toISOString();
  return html`<time datetime="${iso}">${iso.slice(0, 16).replace('T', ' ')} UTC</time>`;
}

/**
 * "1.2 MB" for a byte count.
 *
 * @example
 * ```ts
 * formatBytes(2048); // '2.0 KB'
 * ```
 */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} bytes`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}

function addSection(input: MailboxesPageInput): SafeHtml {
  return html`<section class="card" aria-labelledby="add-heading">
    <h2 id="add-heading">Add a mailbox</h2>
    <form method="post" action="/mailboxes" data-testid="add-form">
      <input type="hidden" name="_csrf" value="${input.csrfToken}">
      <div class="grid">${entryFields(input.addForm ?? EMPTY_FORM, { providers: input.providers, mode: 'add' })}</div>
      <button type="submit" class="primary" data-testid="add-submit">Add mailbox</button>
    </form>
  </section>`;
}

/**
 * A one-button form posting to `action` with the CSRF token.
 *
 * @example
 * ```ts
 * postButton(token, '/mailboxes/x/collect', 'Collect now', { testid: 'collect' });
 * ```
 */
export function postButton(
  csrfToken: string,
  action: string,
  label: string,
  options: {
    testid: string;
    primary?: boolean;
    danger?: boolean;
    ariaLabel?: string;
    fields?: Record<string, string>;
  },
): SafeHtml {
  const classes = [options.primary ? 'primary' : '', options.danger ? 'danger' : '']
    .filter(Boolean)
    .join(' ');
  return html`<form method="post" action="${action}">
    <input type="hidden" name="_csrf" value="${csrfToken}">
    ${Object.entries(options.fields ?? {}).map(
      ([name, value]) => html`<input type="hidden" name="${name}" value="${value}">`,
    )}
    <button type="submit"${classes ? html` class="${classes}"` : ''} data-testid="${options.testid}"${
      options.ariaLabel ? html` aria-label="${options.ariaLabel}"` : ''
    }>${label}</button>
  </form>`;
}
