import { z } from 'zod';
import { MultiPopError } from '../errors/index.js';
import {
  type MailboxEntry,
  type MailboxEntryInput,
  type MultiPopConfig,
  type MultiPopConfigInput,
  mailboxEntrySchema,
  multipopConfigSchema,
  type ServerSettings,
  type ServerSettingsInput,
  serverSettingsSchema,
  type UserSettings,
  type UserSettingsInput,
  userSettingsSchema,
} from './schemas.js';

/**
 * Validates `input` against `schema`. On failure throws `CONFIG_INVALID` whose message lists
 * every problem by field path (`z.prettifyError`) and whose `context.field` names the first.
 * Submitted values are never echoed (they may be passwords).
 */
export function parseWith<S extends z.ZodType>(schema: S, input: unknown, what: string): z.output<S> {
  const result = schema.safeParse(input, { reportInput: false });
  if (result.success) return result.data;
  const first = result.error.issues[0];
  const field = first ? issueField(first) : undefined;
  throw new MultiPopError('CONFIG_INVALID', `Invalid ${what}:\n${z.prettifyError(result.error)}`, {
    ...(field === undefined ? {} : { field }),
    issues: result.error.issues.map((issue) => ({ field: issueField(issue), message: issue.message })),
  });
}

/** The field an issue is about; for an unknown key that is the key itself, not its parent. */
function issueField(issue: z.core.$ZodIssue): string {
  if (issue.code === 'unrecognized_keys' && issue.keys.length > 0)
    return formatPath([...issue.path, issue.keys[0]!]);
  return formatPath(issue.path);
}

/** `users[0].entries[1].id`; keys that are not identifiers (domains) in brackets: `redirectUris["example.com"]`. */
function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else if (typeof key === 'string' && !/^[A-Za-z_$][\w$]*$/.test(key)) out += `[${JSON.stringify(key)}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out;
}

/**
 * Validates server-wide settings, applying defaults.
 *
 * @example
 * ```ts
 * const settings = parseServerSettings({ schedule: { mode: 'interval', minutes: 10 }, deleteOversized: true });
 * ```
 * @throws MultiPopError `CONFIG_INVALID`
 */
export function parseServerSettings(input: ServerSettingsInput | unknown): ServerSettings {
  return parseWith(serverSettingsSchema, input, 'server settings');
}

/**
 * Validates one remote mailbox entry, applying defaults.
 *
 * @example
 * ```ts
 * const entry = parseMailboxEntry({ id: 'ann-gmx', server: 'pop.gmx.net:995', username: 'ann', password: 's3cret' });
 * ```
 * @throws MultiPopError `CONFIG_INVALID`
 */
export function parseMailboxEntry(input: MailboxEntryInput | unknown): MailboxEntry {
  return parseWith(mailboxEntrySchema, input, 'mailbox entry');
}

/**
 * Validates a local user's settings (`user.enabled`, `user.mayEditSettings`) and entries, applying defaults.
 *
 * @example
 * ```ts
 * const user = parseUserSettings({ id: 'ann@example.com', entries: [] });
 * ```
 * @throws MultiPopError `CONFIG_INVALID`
 */
export function parseUserSettings(input: UserSettingsInput | unknown): UserSettings {
  return parseWith(userSettingsSchema, input, 'user settings');
}

/**
 * Validates a whole installation (settings + users), including cross-checks: unique ids,
 * OAuth entries only where the provider's app is configured.
 *
 * @example
 * ```ts
 * const config = parseConfig({
 *   settings: { schedule: { mode: 'interval', minutes: 5 } },
 *   users: [{ id: 'ann@example.com', entries: [{ id: 'ann-gmx', server: 'pop.gmx.net:995', username: 'ann', password: 's3cret' }] }],
 * });
 * ```
 * @throws MultiPopError `CONFIG_INVALID`
 */
export function parseConfig(input: MultiPopConfigInput | unknown): MultiPopConfig {
  return parseWith(multipopConfigSchema, input, 'configuration');
}
