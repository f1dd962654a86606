/**
 * The pages about one entry: edit it, confirm its removal; and the plain message page for
 * requests that cannot show the list (not signed in, not found, refused).
 */
import type { EntryView } from 'multipop';
import { type EntryFormValues, entryFields, type ProviderChoice, valuesOfEntry } from '../entry-form.js';
import { html, type SafeHtml } from '../html.js';
import type { Notice } from '../session.js';
import { layout } from './layout.js';
import { postButton } from './mailboxes-page.js';

/**
 * The edit form of an entry. After a refused save, `values` are what the user typed.
 *
 * @example
 * ```ts
 * sendHtml(res, 200, editPage({ userId, entry, csrfToken, providers }));
 * ```
 */
export function editPage(input: {
  userId: string;
  entry: EntryView;
  csrfToken: string;
  providers: readonly ProviderChoice[];
  values?: EntryFormValues;
  notice?: Notice;
}): SafeHtml {
  const { entry } = input;
  const body = html`
    <h1>Edit mailbox</h1>
    <p class="lead">${entry.username} at ${entry.server}</p>
    <section class="card" aria-labelledby="edit-heading">
      <h2 id="edit-heading">Settings</h2>
      <form method="post" action="/mailboxes/${encodeURIComponent(entry.id)}" data-testid="edit-form">
        <input type="hidden" name="_csrf" value="${input.csrfToken}">
        <div class="grid">${entryFields(input.values ?? valuesOfEntry(entry), {
          providers: input.providers,
          mode: 'edit',
          hasPassword: entry.hasPassword,
        })}</div>
        <div class="actions">
          <button type="submit" class="primary" data-testid="edit-submit">Save</button>
          <a class="button" href="/mailboxes">Cancel</a>
        </div>
      </form>
      <p><small>Changing the server, user name or sign-in method of an OAuth mailbox asks for permission again.</small></p>
    </section>`;
  return layout({ title: 'Edit mailbox', userId: input.userId, notice: input.notice, body });
}

/**
 * "Remove this mailbox?" — a separate step, because removing also forgets which messages were
 * collected (with "leave a copy" on, adding it again would collect them a second time).
 *
 * @example
 * ```ts
 * sendHtml(res, 200, removePage({ userId, entry, csrfToken }));
 * ```
 */
export function removePage(input: { userId: string; entry: EntryView; csrfToken: string }): SafeHtml {
  const { entry } = input;
  const body = html`
    <h1>Remove mailbox?</h1>
    <section class="card">
      <p>Mail will no longer be collected from <strong>${entry.username}</strong> at
        <strong>${entry.server}</strong>. Mail already collected stays in your inbox.</p>
      ${
        entry.leaveOnServer
          ? html`<p>Copies are left on that server: if you add this mailbox again later, those messages
              will be collected again.</p>`
          : ''
      }
      <div class="actions">
        ${postButton(input.csrfToken, `/mailboxes/${encodeURIComponent(entry.id)}/remove`, 'Remove mailbox', {
          testid: 'remove-confirm',
          danger: true,
        })}
        <a class="button" href="/mailboxes">Cancel</a>
      </div>
    </section>`;
  return layout({ title: 'Remove mailbox', userId: input.userId, body });
}

/**
 * A page with a heading and one message (errors, not signed in).
 *
 * @example
 * ```ts
 * sendHtml(res, 404, messagePage({ title: 'Not found', text: 'No such page.' }));
 * ```
 */
export function messagePage(input: { title: string; text: string; userId?: string }): SafeHtml {
  const body = html`<h1>${input.title}</h1>
    <p data-testid="message">${input.text}</p>
    ${input.userId ? html`<p><a href="/mailboxes">Back to your mailboxes</a></p>` : ''}`;
  return layout({ title: input.title, ...(input.userId ? { userId: input.userId } : {}), body });
}
