/**
 * The frame every page shares, and the stylesheet. Plain HTML and a little CSS: readable
 * without the stylesheet, usable with a keyboard and a screen reader (labels, landmarks,
 * live regions for notices).
 */
import { html, type SafeHtml } from '../html.js';
import type { Notice } from '../session.js';

/** Where the stylesheet is served. */
export const STYLESHEET_PATH = '/webmail.css';

/**
 * A whole page.
 *
 * @example
 * ```ts
 * sendHtml(res, 200, layout({ title: 'Mailboxes', userId, body }));
 * ```
 */
export function layout(input: {
  title: string;
  userId?: string;
  notice?: Notice | undefined;
  body: SafeHtml;
}): SafeHtml {
  return html`<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>${input.title} – Webmail</title>
  <link rel="stylesheet" href="${STYLESHEET_PATH}">
</head>
<body>
  <header class="top">
    <span class="brand">Webmail</span>
    <nav aria-label="Settings"><a href="/mailboxes" aria-current="page">Mailboxes</a></nav>
    ${input.userId ? html`<span class="who" data-testid="signed-in-as">Signed in as ${input.userId}</span>` : ''}
  </header>
  <main>
    ${input.notice ? noticeBox(input.notice) : ''}
    ${input.body}
  </main>
</body>
</html>`;
}

/**
 * A notice; errors are announced at once (`role="alert"`), the rest politely.
 *
 * @example
 * ```ts
 * noticeBox({ kind: 'success', text: 'Saved.' });
 * ```
 */
export function noticeBox(notice: Notice): SafeHtml {
  const role = notice.kind === 'error' ? 'alert' : 'status';
  return html`<p class="notice ${notice.kind}" role="${role}" data-testid="notice">${notice.text}</p>`;
}

/** The stylesheet: system fonts, one accent colour, a table that becomes cards on phones. */
export const STYLESHEET = `
:root { --accent: #1f5fbf; --bad: #a4262c; --good: #1e7b34; --muted: #5c6370; --line: #d8dce3; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1d2330; background: #f5f6f8; }
header.top { display: flex; gap: 1.5rem; align-items: center; padding: .6rem 1.5rem; background: #fff; border-bottom: 1px solid var(--line); }
.brand { font-weight: 700; color: var(--accent); }
.who { margin-left: auto; color: var(--muted); }
nav a { color: inherit; text-decoration: none; border-bottom: 2px solid var(--accent); }
main { max-width: 72rem; margin: 1.5rem auto; padding: 0 1.5rem; }
h1 { font-size: 1.5rem; margin: 0 0 .25rem; }
h2 { font-size: 1.15rem; margin: 0 0 .75rem; }
.lead { color: var(--muted); margin: 0 0 1rem; }
.card { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 1rem 1.25rem; margin-bottom: 1.25rem; }
.notice { padding: .6rem .9rem; border-radius: 6px; border: 1px solid; }
.notice.success { color: var(--good); background: #eaf6ed; border-color: #b9dfc2; }
.notice.error { color: var(--bad); background: #fbecec; border-color: #ecc0c2; }
.notice.info { color: #2b4a78; background: #eaf1fb; border-color: #c3d5ef; }
table { width: 100%; border-collapse: collapse; }
th, td { text-align: left; vertical-align: top; padding: .55rem .5rem; border-bottom: 1px solid var(--line); }
th { font-size: .8rem; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); }
td small, .field small { display: block; color: var(--muted); }
.badge { display: inline-block; padding: 0 .45rem; border-radius: 999px; font-size: .8rem; font-weight: 600; }
.badge.ok { background: #eaf6ed; color: var(--good); }
.badge.warn { background: #fff4d6; color: #7a5200; }
.badge.bad { background: #fbecec; color: var(--bad); }
.badge.off { background: #eceef1; color: var(--muted); }
.error-text { color: var(--bad); }
.actions { display: flex; flex-wrap: wrap; gap: .4rem; }
.actions form { margin: 0; }
button, .button { font: inherit; padding: .3rem .8rem; border-radius: 6px; border: 1px solid var(--line); background: #fff; color: #1d2330; cursor: pointer; text-decoration: none; display: inline-block; }
button.primary, .button.primary { background: var(--accent); border-color: var(--accent); color: #fff; }
button.danger { color: var(--bad); border-color: #ecc0c2; }
button:focus-visible, a:focus-visible, input:focus-visible, select:focus-visible { outline: 3px solid #9cc0f5; outline-offset: 1px; }
.field { margin: 0 0 .8rem; border: 0; padding: 0; }
.field > label, legend { display: block; font-weight: 600; margin-bottom: .2rem; }
fieldset.field label { display: inline-block; font-weight: 400; margin-right: 1rem; }
input:not([type=radio]):not([type=checkbox]), select { font: inherit; padding: .35rem .5rem; border: 1px solid #b9bfc9; border-radius: 6px; min-width: 18rem; max-width: 100%; }
.field.inline input { min-width: 0; }
.grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(20rem, 1fr)); gap: 0 2rem; }
.empty { color: var(--muted); }
@media (max-width: 48rem) {
  thead { display: none; }
  tr, td { display: block; }
  tr { border-bottom: 1px solid var(--line); padding: .5rem 0; }
  td { border: 0; padding: .2rem 0; }
}
`;
