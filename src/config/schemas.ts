import { z } from 'zod';
import { oauthUrlProblem } from './loopback.js';
import { inferOAuthProvider, serverAddressProblem } from './server-address.js';

/** A value sent on a POP3 command line must never carry a line break (command injection). */
const noLineBreaks = (what: string) => (value: string) =>
  !/[\r\n\0]/.test(value) || `${what} must not contain CR, LF or NUL`;

const lineSafe = (what: string) =>
  z.string().check((ctx) => {
    const verdict = noLineBreaks(what)(ctx.value);
    if (verdict !== true) ctx.issues.push({ code: 'custom', message: verdict, input: ctx.value });
  });

const days = z.int().min(0, 'must be 0 (never) or a positive number of days').max(36_500);
const kilobytes = z
  .int()
  .min(0, 'must be 0 (no limit) or a positive size in KB')
  .max(100 * 1024 * 1024);
const httpsOrLoopbackUrl = z.url({ protocol: /^https?$/ }).check((ctx) => {
  const problem = oauthUrlProblem(ctx.value);
  if (problem) ctx.issues.push({ code: 'custom', message: problem, input: ctx.value });
});

/**
 * Control characters (C0 and DEL) in an OAuth user name would end a field of the SASL string
 * (XOAUTH2 separates its fields with \x01): `ann\x01auth=Bearer …` would inject a field.
 */
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f]/;

// ————— the OAuth apps (`settings.oauth`) —————

/**
 * Redirect URIs by the domain users sign in to webmail through (`redirectUris`), e.g.
 * `{ 'example.com': 'https://mail.example.com/oauth/callback' }`.
 */
export const redirectUrisSchema = z
  .record(z.string().min(1, 'domain must not be empty'), httpsOrLoopbackUrl)
  .refine((map) => Object.keys(map).length > 0, 'at least one domain → redirect URI is needed');

const oauthAppBase = {
  clientId: z.string().trim().min(1, 'client ID is required'),
  clientSecret: z.string().min(1, 'client secret is required'),
  redirectUris: redirectUrisSchema,
};

/** `settings.oauth.gmail`: the Gmail OAuth app. */
export const gmailAppSchema = z.strictObject({ ...oauthAppBase });

/** `settings.oauth.microsoft`: the Microsoft 365 OAuth app; `tenant` is `common`, `organizations`, `consumers` or a tenant id. */
export const microsoftAppSchema = z.strictObject({
  ...oauthAppBase,
  tenant: z
    .string()
    .regex(
      /^(common|organizations|consumers|[0-9a-fA-F-]{36}|[A-Za-z0-9.-]+\.[A-Za-z]{2,})$/,
      'tenant must be common, organizations, consumers, a tenant id or a domain',
    )
    .default('common'),
});

/** Any other OAuth 2.0 provider whose POP3 server takes XOAUTH2 or OAUTHBEARER. */
export const genericAppSchema = z
  .strictObject({
    ...oauthAppBase,
    issuer: httpsOrLoopbackUrl.optional(),
    authorizationEndpoint: httpsOrLoopbackUrl.optional(),
    tokenEndpoint: httpsOrLoopbackUrl.optional(),
    scopes: z.array(z.string().min(1)).min(1, 'at least one scope is needed'),
    sasl: z.enum(['xoauth2', 'oauthbearer']).default('xoauth2'),
    /** How the client authenticates at the token endpoint; `client_secret_post` when omitted. */
    tokenEndpointAuthMethod: z.enum(['client_secret_post', 'client_secret_basic']).optional(),
    /** Extra authorization-request parameters (e.g. `access_type: 'offline'`). */
    extraAuthorizationParams: z.record(z.string(), z.string()).default({}),
    /**
     * The OpenID Connect ID token claim that names the mailbox (`email`, `preferred_username`);
     * when given, the account that consents must be the entry's user name. Without it the
     * consenting account is not checked.
     */
    identityClaim: z
      .string()
      .regex(/^[A-Za-z0-9_.:-]{1,64}$/, 'must be a claim name')
      .optional(),
  })
  .refine(
    (app) =>
      app.issuer !== undefined ||
      (app.authorizationEndpoint !== undefined && app.tokenEndpoint !== undefined),
    {
      message: 'give either issuer (discovery) or both authorizationEndpoint and tokenEndpoint',
    },
  );

// ————— the schedule (`settings.schedule`) —————

/**
 * When collection runs (`settings.schedule`).
 * - `remote-cycle`: each time the host's remote-mail cycle runs, or every `everyNth` time.
 * - `on-user-check`: when a user checks local mail, at most `maxPerHour` times an hour
 *   and at least `minMinutesBetween` minutes apart.
 * - `interval`: a stand-alone timer every `minutes`.
 * - `manual`: only `collectNow()`.
 */
export const scheduleSchema = z.discriminatedUnion('mode', [
  z.strictObject({
    mode: z.literal('remote-cycle'),
    everyNth: z.int().min(1, 'must be 1 or more').max(10_000).default(1),
  }),
  z.strictObject({
    mode: z.literal('on-user-check'),
    maxPerHour: z.int().min(0, 'must be 0 (no limit) or more').max(3600).default(0),
    minMinutesBetween: z
      .int()
      .min(0, 'must be 0 or more minutes')
      .max(24 * 60)
      .default(0),
  }),
  z.strictObject({
    mode: z.literal('interval'),
    minutes: z
      .number()
      .min(0.05, 'must be at least 3 seconds')
      .max(7 * 24 * 60),
  }),
  z.strictObject({ mode: z.literal('manual') }),
]);

// ————— message identity —————

/**
 * How sessions tell messages apart across sessions (see docs/crash-safety.md, "The identity
 * model"). A mass change of UIDLs is when at least `massChangeMinKnown` messages were collected,
 * at least `massChangeShare` of them are gone from the listing (or now name other messages), and
 * at least `massChangeShare` as many unknown UIDLs appear: the session then confirms each message
 * by size and header fingerprint and re-keys the ledger, and pauses the mailbox
 * (`IDENTITY_UNCERTAIN`) when it cannot confirm them all.
 */
export const identitySettingsSchema = z.strictObject({
  /** On servers without UIDL, identify messages by a digest of their header block (`TOP n 0`). */
  allowHeaderDigest: z.boolean().default(true),
  /** Below this many collected messages a mailbox is too small for "most UIDLs changed". */
  massChangeMinKnown: z.int().min(1, 'must be 1 or more').max(1_000_000_000).default(10),
  /** The share (0–1] of known UIDLs that must vanish, and of unknown ones that must appear. */
  massChangeShare: z.number().gt(0, 'must be more than 0').max(1, 'must be at most 1').default(0.5),
});

/** The defaults of {@link identitySettingsSchema}. */
export const DEFAULT_IDENTITY_SETTINGS = Object.freeze(identitySettingsSchema.parse({}));

// ————— server-wide settings —————

/** The server-wide MultiPOP settings. */
export const serverSettingsSchema = z.strictObject({
  /** `settings.enabled`: master switch. */
  enabled: z.boolean().default(true),
  /** `settings.alwaysDelete`: delete every collected message from its server, whatever the entry's leave-on-server says. */
  alwaysDelete: z.boolean().default(false),
  /** The OAuth apps, one per provider. */
  oauth: z
    .strictObject({
      gmail: gmailAppSchema.optional(),
      microsoft: microsoftAppSchema.optional(),
      generic: genericAppSchema.optional(),
    })
    .default({}),
  /** `settings.schedule`: the schedule. */
  schedule: scheduleSchema.default({ mode: 'manual' }),
  /** `settings.deleteOversized`: delete messages over an entry's size limit without downloading them. */
  deleteOversized: z.boolean().default(false),
  /** `settings.logActivity`: log every collection session (never secrets). */
  logActivity: z.boolean().default(true),
  /** How messages are identified across sessions, and what counts as a mass change of UIDLs. */
  identity: identitySettingsSchema.default({ ...DEFAULT_IDENTITY_SETTINGS }),
});

// ————— a remote mailbox entry —————

/** An entry id: stable, URL- and file-safe. */
export const entryIdSchema = z
  .string()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/,
    'must be 1–128 letters, digits, ".", "_" or "-", starting with a letter or digit',
  );

/** A remote POP3 mailbox of a local user. */
export const mailboxEntrySchema = z
  .strictObject({
    /** Stable id of the entry (the ledger and token store key on it). */
    id: entryIdSchema,
    /** `entry.server`: `host` or `host:port`. */
    server: z.string().check((ctx) => {
      const problem = serverAddressProblem(ctx.value);
      if (problem) ctx.issues.push({ code: 'custom', message: problem, input: ctx.value });
    }),
    /** `entry.tls`: explicit TLS mode; otherwise 995 → implicit, else STARTTLS. */
    tls: z.enum(['implicit', 'starttls', 'none']).optional(),
    /** `entry.username`: the logon name. */
    username: lineSafe('user name').pipe(z.string().max(512)),
    /** `entry.password`: the POP3 or APOP password (not with OAuth). */
    password: lineSafe('password').pipe(z.string().max(1024)).optional(),
    /** `entry.auth`: `password` (USER/PASS or SASL PLAIN), `apop`, or `oauth`. */
    auth: z.enum(['password', 'apop', 'oauth']).default('password'),
    /** `entry.oauthProvider`: which OAuth app; inferred from the host for Gmail and Microsoft 365. */
    oauthProvider: z.enum(['gmail', 'microsoft', 'generic']).optional(),
    /** `entry.leaveOnServer`: leave a copy on the server (subject to `settings.alwaysDelete`). */
    leaveOnServer: z.boolean().default(false),
    /** `entry.deleteAfterDays`: with `entry.leaveOnServer`, delete from the server N days after first collection (0 = never). */
    deleteAfterDays: days.default(0),
    /** `entry.maxMessageSizeKb`: don't download messages larger than N KB (0 = no limit). */
    maxMessageSizeKb: kilobytes.default(0),
    /** `entry.enabled`: disabled entries are kept but not collected. */
    enabled: z.boolean().default(true),
  })
  .superRefine((entry, ctx) => {
    // An OAuth entry may leave it empty: the grant fills in the account that consented.
    if (entry.auth !== 'oauth' && entry.username.length === 0) {
      ctx.addIssue({ code: 'custom', path: ['username'], message: 'user name is required' });
    }
    if (entry.auth === 'oauth' && CONTROL_CHARACTERS.test(entry.username)) {
      ctx.addIssue({
        code: 'custom',
        path: ['username'],
        message: 'user name must not contain control characters (they would end a SASL field)',
      });
    }
    if (entry.auth !== 'oauth' && (entry.password === undefined || entry.password.length === 0)) {
      ctx.addIssue({
        code: 'custom',
        path: ['password'],
        message: `a password is required for ${entry.auth} logon`,
      });
    }
    if (entry.auth === 'oauth' && entry.password !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['password'], message: 'an OAuth entry stores no password' });
    }
    if (entry.auth === 'oauth' && entry.oauthProvider === undefined) {
      const host = entry.server.split(':')[0] ?? '';
      if (inferOAuthProvider(host) === undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['oauthProvider'],
          message: 'cannot infer the OAuth provider from the host: set oauthProvider',
        });
      }
    }
  });

// ————— a local user —————

/** A local user's MultiPOP settings (`user.enabled`, `user.mayEditSettings`) and entries. */
export const userSettingsSchema = z
  .strictObject({
    /** The local recipient, e.g. `ann@example.com`. */
    id: lineSafe('user id').pipe(z.string().min(1, 'user id is required').max(320)),
    /** `user.enabled`: off, none of the user's entries is collected. */
    enabled: z.boolean().default(true),
    /** `user.mayEditSettings`: may add, edit, enable and disable entries from webmail. */
    mayEditSettings: z.boolean().default(false),
    entries: z.array(mailboxEntrySchema).default([]),
  })
  .superRefine((user, ctx) => {
    const seen = new Set<string>();
    user.entries.forEach((entry, i) => {
      if (seen.has(entry.id))
        ctx.addIssue({
          code: 'custom',
          path: ['entries', i, 'id'],
          message: `duplicate entry id "${entry.id}"`,
        });
      seen.add(entry.id);
    });
  });

/** A whole installation: server-wide settings and users. */
export const multipopConfigSchema = z
  .strictObject({
    settings: serverSettingsSchema.default(serverSettingsSchema.parse({})),
    users: z.array(userSettingsSchema).default([]),
  })
  .superRefine((config, ctx) => {
    const users = new Set<string>();
    const entries = new Set<string>();
    config.users.forEach((user, u) => {
      if (users.has(user.id))
        ctx.addIssue({ code: 'custom', path: ['users', u, 'id'], message: `duplicate user "${user.id}"` });
      users.add(user.id);
      user.entries.forEach((entry, e) => {
        if (entries.has(entry.id)) {
          ctx.addIssue({
            code: 'custom',
            path: ['users', u, 'entries', e, 'id'],
            message: `entry id "${entry.id}" is used twice; ids are unique across users`,
          });
        }
        entries.add(entry.id);
        const problem = oauthAppProblem(entry, config.settings);
        if (problem)
          ctx.addIssue({ code: 'custom', path: ['users', u, 'entries', e, 'auth'], message: problem });
      });
    });
  });

/** Server-wide settings as validated (defaults applied). */
export type ServerSettings = z.output<typeof serverSettingsSchema>;
/** Server-wide settings as a host writes them (defaults optional). */
export type ServerSettingsInput = z.input<typeof serverSettingsSchema>;
/** When collection runs (`settings.schedule`), as validated. */
export type Schedule = z.output<typeof scheduleSchema>;
/** Message identity settings, as validated. */
export type IdentitySettings = z.output<typeof identitySettingsSchema>;
/** The Gmail OAuth app (`settings.oauth.gmail`), as validated. */
export type GmailApp = z.output<typeof gmailAppSchema>;
/** The Microsoft 365 OAuth app (`settings.oauth.microsoft`), as validated. */
export type MicrosoftApp = z.output<typeof microsoftAppSchema>;
/** An OAuth app for any other provider, as validated. */
export type GenericApp = z.output<typeof genericAppSchema>;
/** A remote mailbox entry as validated. */
export type MailboxEntry = z.output<typeof mailboxEntrySchema>;
/** A remote mailbox entry as a host or user writes it. */
export type MailboxEntryInput = z.input<typeof mailboxEntrySchema>;
/** A local user's settings (`user.enabled`, `user.mayEditSettings`) and entries, as validated. */
export type UserSettings = z.output<typeof userSettingsSchema>;
/** A local user as a host writes it (defaults optional). */
export type UserSettingsInput = z.input<typeof userSettingsSchema>;
/** A whole installation (settings and users), as validated. */
export type MultiPopConfig = z.output<typeof multipopConfigSchema>;
/** A whole installation as a host writes it (defaults optional). */
export type MultiPopConfigInput = z.input<typeof multipopConfigSchema>;
/** Which OAuth app an entry uses. */
export type OAuthProviderName = 'gmail' | 'microsoft' | 'generic';

/** The OAuth provider an entry uses: explicit, or inferred from the host. */
export function entryOAuthProvider(
  entry: Pick<MailboxEntry, 'auth' | 'oauthProvider' | 'server'>,
): OAuthProviderName | undefined {
  if (entry.auth !== 'oauth') return undefined;
  return entry.oauthProvider ?? inferOAuthProvider(entry.server.split(':')[0] ?? '');
}

/** Why an OAuth entry cannot work with these settings (no app configured), or undefined. */
export function oauthAppProblem(entry: MailboxEntry, settings: ServerSettings): string | undefined {
  const provider = entryOAuthProvider(entry);
  if (provider === undefined) return undefined;
  if (settings.oauth[provider] === undefined) {
    return `uses OAuth with ${provider}, but no ${provider} OAuth app is configured in settings.oauth.${provider}`;
  }
  return undefined;
}
