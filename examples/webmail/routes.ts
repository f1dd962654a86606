/**
 * The route handlers: each maps one user action onto one fetcher operation and answers with
 * a page or a redirect. Results travel to the next page as a one-shot notice (post, redirect,
 * get); refused submissions render the page again with the status the fetcher's error code
 * implies (403 for PERMISSION_DENIED, 400 for invalid input, …) and the friendly message.
 */
import { type EntryView, isMultiPopError, type MailboxSummary, MultiPopError } from 'multipop';
import type { RequestContext } from './context.js';
import { type EntryFormValues, entryInputOfForm, valuesOfForm } from './entry-form.js';
import { redirect, sendHtml } from './http.js';
import { collectSentence, friendlyError } from './messages.js';
import { editPage, messagePage, removePage } from './pages/entry-pages.js';
import { mailboxesPage } from './pages/mailboxes-page.js';
import type { Notice } from './session.js';

/**
 * The HTTP status for a refused operation, by error code.
 *
 * @example
 * ```ts
 * statusOf(new MultiPopError('PERMISSION_DENIED', '…')); // 403
 * ```
 */
export function statusOf(err: unknown): number {
  if (!isMultiPopError(err)) return 500;
  switch (err.code) {
    case 'PERMISSION_DENIED':
      return 403;
    case 'NOT_FOUND':
      return 404;
    case 'CONFIG_INVALID':
    case 'OAUTH_STATE_INVALID':
      return 400;
    case 'OAUTH_NOT_CONFIGURED':
      return 409;
    case 'OAUTH_TRANSIENT':
    case 'OAUTH_PROVIDER_ERROR':
      return 502;
    default:
      return 500;
  }
}

const label = (entry: Pick<EntryView, 'username' | 'server'>) => `${entry.username} at ${entry.server}`;

function done(ctx: RequestContext, notice: Notice): void {
  ctx.session.notice = notice;
  redirect(ctx.res, '/mailboxes');
}

/**
 * GET /mailboxes — the list. Also used to answer a refused POST (`status`, `notice`,
 * `addForm`). When even the list is refused (MultiPOP off for the user), a message page.
 */
export async function showMailboxes(
  ctx: RequestContext,
  refused?: { status: number; notice: Notice; addForm?: EntryFormValues },
): Promise<void> {
  const { fetcher } = ctx.config;
  let entries: EntryView[];
  try {
    entries = await fetcher.listEntries(ctx.actor, ctx.userId);
  } catch (err) {
    const text =
      isMultiPopError(err) && err.code === 'PERMISSION_DENIED'
        ? 'Collecting mail from other mailboxes is not available for your account.'
        : friendlyError(err);
    sendHtml(ctx.res, statusOf(err), messagePage({ title: 'Mailboxes', text, userId: ctx.userId }));
    return;
  }
  const notice = refused?.notice ?? ctx.config.sessions.takeNotice(ctx.session);
  const page = mailboxesPage({
    userId: ctx.userId,
    entries,
    mayEdit: await ctx.config.mayEdit(ctx.userId),
    csrfToken: ctx.session.csrfToken,
    providers: ctx.config.providers,
    notice,
    ...(refused?.addForm ? { addForm: refused.addForm } : {}),
  });
  sendHtml(ctx.res, refused?.status ?? 200, page);
}

function refuse(ctx: RequestContext, err: unknown, addForm?: EntryFormValues): Promise<void> {
  return showMailboxes(ctx, {
    status: statusOf(err),
    notice: { kind: 'error', text: friendlyError(err) },
    ...(addForm ? { addForm } : {}),
  });
}

/** The user's own entry by id (the list call also checks `settings.enabled` and `user.enabled`), or undefined. */
async function ownEntry(ctx: RequestContext): Promise<EntryView | undefined> {
  const entries = await ctx.config.fetcher.listEntries(ctx.actor, ctx.userId);
  return entries.find((e) => e.id === ctx.entryId);
}

async function withOwnEntry(ctx: RequestContext, then: (entry: EntryView) => Promise<void>): Promise<void> {
  let entry: EntryView | undefined;
  try {
    entry = await ownEntry(ctx);
  } catch {
    // Not allowed to see the list at all: the list page explains why.
    return showMailboxes(ctx);
  }
  if (!entry) {
    sendHtml(
      ctx.res,
      404,
      messagePage({
        title: 'Not found',
        text: 'That mailbox does not exist (any more).',
        userId: ctx.userId,
      }),
    );
    return;
  }
  return then(entry);
}

/** POST /mailboxes — add an entry (needs `mayEditSettings`). */
export async function addMailbox(ctx: RequestContext): Promise<void> {
  try {
    const view = await ctx.config.fetcher.addEntry(ctx.actor, ctx.userId, entryInputOfForm(ctx.form));
    const next = view.auth === 'oauth' ? ' Now click “Grant permission” to let us read it.' : '';
    done(ctx, { kind: 'success', text: `Mailbox ${label(view)} added.${next}` });
  } catch (err) {
    await refuse(ctx, err, valuesOfForm(ctx.form));
  }
}

/** GET /mailboxes/:id/edit */
export function showEdit(ctx: RequestContext): Promise<void> {
  return withOwnEntry(ctx, async (entry) => {
    if (!(await ctx.config.mayEdit(ctx.userId))) {
      await refuse(ctx, permissionDenied());
      return;
    }
    sendHtml(
      ctx.res,
      200,
      editPage({
        userId: ctx.userId,
        entry,
        csrfToken: ctx.session.csrfToken,
        providers: ctx.config.providers,
      }),
    );
  });
}

/** POST /mailboxes/:id — save the edit form (needs `mayEditSettings`). */
export function saveEdit(ctx: RequestContext): Promise<void> {
  return withOwnEntry(ctx, async (entry) => {
    try {
      const view = await ctx.config.fetcher.updateEntry(ctx.actor, entry.id, entryInputOfForm(ctx.form));
      const again =
        view.auth === 'oauth' && view.status.needsPermission ? ' Please grant permission for it again.' : '';
      done(ctx, { kind: 'success', text: `Mailbox ${label(view)} saved.${again}` });
    } catch (err) {
      if (isMultiPopError(err) && err.code === 'CONFIG_INVALID') {
        const page = editPage({
          userId: ctx.userId,
          entry,
          csrfToken: ctx.session.csrfToken,
          providers: ctx.config.providers,
          values: valuesOfForm(ctx.form),
          notice: { kind: 'error', text: friendlyError(err) },
        });
        sendHtml(ctx.res, 400, page);
        return;
      }
      await refuse(ctx, err);
    }
  });
}

/** POST /mailboxes/:id/enabled — enable or disable (`entry.enabled`; needs `mayEditSettings`). */
export function setEnabled(ctx: RequestContext): Promise<void> {
  return withOwnEntry(ctx, async (entry) => {
    const enabled = ctx.form.get('enabled') === 'true';
    try {
      await ctx.config.fetcher.setEntryEnabled(ctx.actor, entry.id, enabled);
      done(ctx, { kind: 'success', text: `Mailbox ${label(entry)} ${enabled ? 'enabled' : 'disabled'}.` });
    } catch (err) {
      await refuse(ctx, err);
    }
  });
}

/** GET /mailboxes/:id/remove — the confirmation step. */
export function confirmRemove(ctx: RequestContext): Promise<void> {
  return withOwnEntry(ctx, async (entry) => {
    if (!(await ctx.config.mayEdit(ctx.userId))) {
      await refuse(ctx, permissionDenied());
      return;
    }
    sendHtml(ctx.res, 200, removePage({ userId: ctx.userId, entry, csrfToken: ctx.session.csrfToken }));
  });
}

/** POST /mailboxes/:id/remove (needs `mayEditSettings`). */
export function removeMailbox(ctx: RequestContext): Promise<void> {
  return withOwnEntry(ctx, async (entry) => {
    try {
      await ctx.config.fetcher.removeEntry(ctx.actor, entry.id);
      done(ctx, { kind: 'success', text: `Mailbox ${label(entry)} removed.` });
    } catch (err) {
      await refuse(ctx, err);
    }
  });
}

/**
 * POST /mailboxes/:id/grant — "Grant permission": the fetcher (through the OAuth service)
 * stores a pending grant bound to this user and entry and returns the provider's URL; the
 * browser goes there, and comes back to the callback route.
 */
export function beginGrant(ctx: RequestContext): Promise<void> {
  return withOwnEntry(ctx, async (entry) => {
    try {
      const { url } = await ctx.config.fetcher.beginGrant(ctx.actor, {
        mailboxId: entry.id,
        domain: ctx.config.domainOf(ctx.req),
      });
      redirect(ctx.res, url);
    } catch (err) {
      await refuse(ctx, err);
    }
  });
}

/**
 * GET <callbackPath> — the provider's redirect back. The OAuth `state` ties it to the
 * pending grant and to the user who started it (so it needs no CSRF token of ours); the
 * fetcher exchanges the code and clears "needs permission".
 */
export async function completeGrant(ctx: RequestContext): Promise<void> {
  const params = new URL(ctx.req.url ?? '/', 'http://webmail.invalid').searchParams;
  try {
    const { mailboxId } = await ctx.config.fetcher.completeGrant(ctx.actor, params);
    const entries = await ctx.config.fetcher.listEntries(ctx.actor, ctx.userId).catch(() => []);
    const entry = entries.find((e) => e.id === mailboxId);
    const name = entry ? label(entry) : 'your mailbox';
    done(ctx, {
      kind: 'success',
      text: `Permission granted: mail from ${name} will be collected from now on.`,
    });
  } catch (err) {
    // Redirect in any case, so the code and state leave the address bar.
    done(ctx, { kind: 'error', text: friendlyError(err) });
  }
}

/** POST /mailboxes/:id/collect — "Collect now" for one entry (back-off ignored). */
export function collectOne(ctx: RequestContext): Promise<void> {
  return withOwnEntry(ctx, async (entry) => {
    try {
      const summaries = await ctx.config.fetcher.collectNow({
        userId: ctx.userId,
        mailboxId: entry.id,
        force: true,
      });
      done(ctx, collectNotice(summaries, [entry]));
    } catch (err) {
      await refuse(ctx, err);
    }
  });
}

/** POST /collect — "Collect all now" for the user's entries. */
export async function collectAll(ctx: RequestContext): Promise<void> {
  try {
    const entries = await ctx.config.fetcher.listEntries(ctx.actor, ctx.userId);
    const summaries = await ctx.config.fetcher.collectNow({ userId: ctx.userId, force: true });
    done(ctx, collectNotice(summaries, entries));
  } catch (err) {
    await refuse(ctx, err);
  }
}

function collectNotice(summaries: MailboxSummary[], entries: EntryView[]): Notice {
  if (summaries.length === 0) return { kind: 'info', text: 'Collecting is switched off on this server.' };
  const names = new Map(entries.map((e) => [e.id, label(e)]));
  const text = summaries.map((s) => collectSentence(s, names.get(s.mailboxId) ?? 'a mailbox')).join(' ');
  const failed = summaries.some((s) => !s.ok && s.skipped !== 'entry-disabled');
  return { kind: failed ? 'error' : 'success', text };
}

// The same refusal the fetcher gives, for pages that only lead to an edit (no fetcher call yet).
function permissionDenied(): MultiPopError {
  return new MultiPopError('PERMISSION_DENIED', 'This user may not change MultiPOP settings', {
    reason: 'no-edit-permission',
  });
}
