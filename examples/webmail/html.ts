/**
 * HTML with escaping by default: every value interpolated into an `html` template is escaped
 * unless it is itself `SafeHtml` (another template's output). User input — server names,
 * user names, error texts — can then never become markup, so the pages need no per-call care.
 */

/** Markup that is already safe to insert (built by {@link html} or {@link raw}). */
export class SafeHtml {
  readonly #text: string;

  constructor(text: string) {
    this.#text = text;
  }

  /** The markup as a string. */
  toString(): string {
    return this.#text;
  }
}

/** What may be interpolated into {@link html}: text is escaped, arrays are joined. */
export type HtmlValue = SafeHtml | string | number | boolean | null | undefined | readonly HtmlValue[];

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/**
 * Escapes text for use in element content and in quoted attribute values.
 *
 * @example
 * ```ts
 * escapeHtml('<b>"x"</b>'); // '&lt;b&gt;&quot;x&quot;&lt;/b&gt;'
 * ```
 */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);
}

function render(value: HtmlValue): string {
  if (value instanceof SafeHtml) return value.toString();
  if (Array.isArray(value)) return value.map((v: HtmlValue) => render(v)).join('');
  // `false`/`null`/`undefined` render as nothing, so `${cond && html`…`}` works.
  if (value === null || value === undefined || value === false) return '';
  return escapeHtml(String(value));
}

/**
 * Tagged template that escapes every interpolated value (see {@link HtmlValue}).
 *
 * @example
 * ```ts
 * const row = html`<td>${entry.server}</td>`;          // escaped
 * const page = html`<table>${rows}</table>`;           // SafeHtml[] inserted as is
 * ```
 */
export function html(strings: TemplateStringsArray, ...values: HtmlValue[]): SafeHtml {
  let out = strings[0] ?? '';
  values.forEach((value, i) => {
    out += render(value) + (strings[i + 1] ?? '');
  });
  return new SafeHtml(out);
}

/**
 * Marks constant markup as safe. Never pass user input.
 *
 * @example
 * ```ts
 * raw('&nbsp;');
 * ```
 */
export function raw(markup: string): SafeHtml {
  return new SafeHtml(markup);
}
