import { describe, expect, it } from 'vitest';
import {
  entryOAuthProvider,
  inferOAuthProvider,
  parseConfig,
  parseMailboxEntry,
  parseServer,
  parseServerSettings,
  parseUserSettings,
} from '../../src/config/index.js';
import { isMultiPopError, MultiPopError } from '../../src/errors/index.js';

/** Present in every bad input below: no error message or context may ever show it. */
const PASSWORD = 'Pw-9f8e7d-never-echo';
const entry = (over: Record<string, unknown> = {}) => ({
  id: 'ann-remote',
  server: 'pop.example.com:995',
  username: 'ann',
  password: PASSWORD,
  ...over,
});
const oauthApp = {
  clientId: 'cid',
  clientSecret: 'csecret',
  redirectUris: { 'example.com': 'https://mail.example.com/cb' },
};

interface BadCase {
  name: string;
  parse: () => unknown;
  field: string;
  reason: string | RegExp;
}

const badCases: BadCase[] = [
  {
    name: 'empty host',
    parse: () => parseMailboxEntry(entry({ server: '' })),
    field: 'server',
    reason: 'host is empty',
  },
  {
    name: 'port 0',
    parse: () => parseMailboxEntry(entry({ server: 'pop.example.com:0' })),
    field: 'server',
    reason: 'port 0 is outside 1–65535',
  },
  {
    name: 'port 70000',
    parse: () => parseMailboxEntry(entry({ server: 'pop.example.com:70000' })),
    field: 'server',
    reason: 'port 70000 is outside 1–65535',
  },
  {
    name: 'port not a number',
    parse: () => parseMailboxEntry(entry({ server: 'pop.example.com:abc' })),
    field: 'server',
    reason: 'port "abc" is not a number',
  },
  {
    name: 'bad host name',
    parse: () => parseMailboxEntry(entry({ server: 'pop_example!.com' })),
    field: 'server',
    reason: 'is not a valid host name',
  },
  {
    name: 'host label starting with "-"',
    parse: () => parseMailboxEntry(entry({ server: '-pop.example.com' })),
    field: 'server',
    reason: 'is not a valid host name',
  },
  {
    name: 'IPv6 without brackets',
    parse: () => parseMailboxEntry(entry({ server: '::1:995' })),
    field: 'server',
    reason: 'in brackets',
  },
  {
    name: 'IPv6 missing "]"',
    parse: () => parseMailboxEntry(entry({ server: '[::1:995' })),
    field: 'server',
    reason: 'closing "]"',
  },
  {
    name: 'unknown tls mode',
    parse: () => parseMailboxEntry(entry({ tls: 'ssl' })),
    field: 'tls',
    reason: 'Invalid option',
  },
  {
    name: 'negative deleteAfterDays',
    parse: () => parseMailboxEntry(entry({ deleteAfterDays: -1 })),
    field: 'deleteAfterDays',
    reason: 'must be 0 (never) or a positive number of days',
  },
  {
    name: 'non-integer size',
    parse: () => parseMailboxEntry(entry({ maxMessageSizeKb: 1.5 })),
    field: 'maxMessageSizeKb',
    reason: 'expected int',
  },
  {
    name: 'negative size',
    parse: () => parseMailboxEntry(entry({ maxMessageSizeKb: -5 })),
    field: 'maxMessageSizeKb',
    reason: 'must be 0 (no limit)',
  },
  {
    name: 'unknown oauthProvider',
    parse: () => parseMailboxEntry(entry({ auth: 'oauth', password: undefined, oauthProvider: 'yahoo' })),
    field: 'oauthProvider',
    reason: 'expected one of "gmail"|"microsoft"|"generic"',
  },
  {
    name: 'unknown auth',
    parse: () => parseMailboxEntry(entry({ auth: 'kerberos' })),
    field: 'auth',
    reason: 'expected one of "password"|"apop"|"oauth"',
  },
  {
    name: 'OAuth on a host whose provider cannot be inferred',
    parse: () => parseMailboxEntry(entry({ auth: 'oauth', password: undefined })),
    field: 'oauthProvider',
    reason: 'cannot infer the OAuth provider',
  },
  {
    name: 'OAuth entry with a password',
    parse: () => parseMailboxEntry(entry({ server: 'pop.gmail.com:995', auth: 'oauth' })),
    field: 'password',
    reason: 'an OAuth entry stores no password',
  },
  {
    name: 'OAuth entry whose provider app is not configured',
    parse: () =>
      parseConfig({
        settings: { oauth: { gmail: oauthApp } },
        users: [
          {
            id: 'ann@example.com',
            entries: [
              entry(),
              {
                id: 'ann-ms',
                server: 'outlook.office365.com:995',
                username: 'ann@contoso.com',
                auth: 'oauth',
              },
            ],
          },
        ],
      }),
    field: 'users[0].entries[1].auth',
    reason: 'no microsoft OAuth app is configured',
  },
  {
    name: 'password with CR/LF',
    parse: () => parseMailboxEntry(entry({ password: `${PASSWORD}\r\nDELE 1` })),
    field: 'password',
    reason: 'password must not contain CR, LF or NUL',
  },
  {
    name: 'password with NUL',
    parse: () => parseMailboxEntry(entry({ password: `${PASSWORD}\0` })),
    field: 'password',
    reason: 'must not contain CR, LF or NUL',
  },
  {
    name: 'user name with LF',
    parse: () => parseMailboxEntry(entry({ username: 'ann\nDELE 1' })),
    field: 'username',
    reason: 'user name must not contain CR, LF or NUL',
  },
  {
    name: 'empty user name',
    parse: () => parseMailboxEntry(entry({ username: '' })),
    field: 'username',
    reason: 'user name is required',
  },
  {
    name: 'OAuth user name with \\x01 (a SASL field injection into XOAUTH2)',
    parse: () =>
      parseMailboxEntry(
        entry({
          server: 'pop.gmail.com:995',
          auth: 'oauth',
          password: undefined,
          username: 'ann@remote.example\x01auth=Bearer INJECTED',
        }),
      ),
    field: 'username',
    reason: 'user name must not contain control characters',
  },
  {
    name: 'OAuth user name with a tab or DEL',
    parse: () =>
      parseMailboxEntry(
        entry({
          server: 'pop.gmail.com:995',
          auth: 'oauth',
          password: undefined,
          username: 'ann\t\x7f@gmail.com',
        }),
      ),
    field: 'username',
    reason: 'user name must not contain control characters',
  },
  {
    name: 'http:// issuer on a host that is not loopback',
    parse: () =>
      parseServerSettings({
        oauth: { generic: { ...oauthApp, issuer: 'http://id.example.net', scopes: ['pop'] } },
      }),
    field: 'oauth.generic.issuer',
    reason: 'http:// is only allowed for loopback hosts',
  },
  {
    name: 'http:// redirect URI on a host that is not loopback',
    parse: () =>
      parseServerSettings({
        oauth: { gmail: { ...oauthApp, redirectUris: { 'example.com': 'http://mail.example.com/cb' } } },
      }),
    field: 'oauth.gmail.redirectUris["example.com"]',
    reason: 'http:// is only allowed for loopback hosts',
  },
  {
    name: 'missing password (password auth)',
    parse: () => parseMailboxEntry(entry({ password: undefined })),
    field: 'password',
    reason: 'a password is required for password logon',
  },
  {
    name: 'empty password (password auth)',
    parse: () => parseMailboxEntry(entry({ password: '' })),
    field: 'password',
    reason: 'a password is required for password logon',
  },
  {
    name: 'missing password (apop auth)',
    parse: () => parseMailboxEntry(entry({ auth: 'apop', password: undefined })),
    field: 'password',
    reason: 'a password is required for apop logon',
  },
  {
    name: 'bad entry id',
    parse: () => parseMailboxEntry(entry({ id: '../etc' })),
    field: 'id',
    reason: 'must be 1–128 letters',
  },
  {
    name: 'duplicate entry ids in one user',
    parse: () => parseUserSettings({ id: 'ann@example.com', entries: [entry(), entry()] }),
    field: 'entries[1].id',
    reason: 'duplicate entry id "ann-remote"',
  },
  {
    name: 'duplicate entry ids across users',
    parse: () =>
      parseConfig({
        users: [
          { id: 'ann@example.com', entries: [entry()] },
          { id: 'bob@example.com', entries: [entry({ username: 'bob' })] },
        ],
      }),
    field: 'users[1].entries[0].id',
    reason: 'ids are unique across users',
  },
  {
    name: 'duplicate users',
    parse: () => parseConfig({ users: [{ id: 'ann@example.com' }, { id: 'ann@example.com' }] }),
    field: 'users[1].id',
    reason: 'duplicate user "ann@example.com"',
  },
  {
    name: 'user id with CR',
    parse: () => parseUserSettings({ id: 'ann\r@example.com' }),
    field: 'id',
    reason: 'user id must not contain CR, LF or NUL',
  },
  {
    name: 'schedule with unknown mode',
    parse: () => parseServerSettings({ schedule: { mode: 'hourly' } }),
    field: 'schedule.mode',
    reason: "'remote-cycle' | 'on-user-check' | 'interval' | 'manual'",
  },
  {
    name: 'interval 0',
    parse: () => parseServerSettings({ schedule: { mode: 'interval', minutes: 0 } }),
    field: 'schedule.minutes',
    reason: 'must be at least 3 seconds',
  },
  {
    name: 'interval without minutes',
    parse: () => parseServerSettings({ schedule: { mode: 'interval' } }),
    field: 'schedule.minutes',
    reason: 'expected number',
  },
  {
    name: 'everyNth 0',
    parse: () => parseServerSettings({ schedule: { mode: 'remote-cycle', everyNth: 0 } }),
    field: 'schedule.everyNth',
    reason: 'must be 1 or more',
  },
  {
    name: 'unknown key in a schedule',
    parse: () => parseServerSettings({ schedule: { mode: 'manual', minutes: 5 } }),
    field: 'schedule.minutes',
    reason: 'Unrecognized key: "minutes"',
  },
  {
    name: 'unknown top-level key (settings)',
    parse: () => parseServerSettings({ enabled: true, colour: 'blue' }),
    field: 'colour',
    reason: 'Unrecognized key: "colour"',
  },
  {
    name: 'unknown top-level key (config)',
    parse: () => parseConfig({ settings: {}, password: PASSWORD }),
    field: 'password',
    reason: 'Unrecognized key: "password"',
  },
  {
    name: 'unknown key in an entry',
    parse: () => parseMailboxEntry(entry({ pasword: PASSWORD })),
    field: 'pasword',
    reason: 'Unrecognized key: "pasword"',
  },
  {
    name: 'invalid redirect URI',
    parse: () =>
      parseServerSettings({
        oauth: { gmail: { ...oauthApp, redirectUris: { 'example.com': 'not a url' } } },
      }),
    field: 'oauth.gmail.redirectUris["example.com"]',
    reason: 'Invalid URL',
  },
  {
    name: 'redirect URI that is not http(s)',
    parse: () =>
      parseServerSettings({
        oauth: { gmail: { ...oauthApp, redirectUris: { 'example.com': 'javascript://x/%0aalert(1)' } } },
      }),
    field: 'oauth.gmail.redirectUris["example.com"]',
    reason: 'Invalid URL',
  },
  {
    name: 'no redirect URI at all',
    parse: () => parseServerSettings({ oauth: { gmail: { ...oauthApp, redirectUris: {} } } }),
    field: 'oauth.gmail.redirectUris',
    reason: 'at least one domain → redirect URI is needed',
  },
  {
    name: 'OAuth app without client secret',
    parse: () => parseServerSettings({ oauth: { gmail: { ...oauthApp, clientSecret: '' } } }),
    field: 'oauth.gmail.clientSecret',
    reason: 'client secret is required',
  },
  {
    name: 'microsoft tenant garbage',
    parse: () => parseServerSettings({ oauth: { microsoft: { ...oauthApp, tenant: '../../evil?x=' } } }),
    field: 'oauth.microsoft.tenant',
    reason: 'tenant must be common, organizations, consumers, a tenant id or a domain',
  },
  {
    name: 'generic app without endpoints',
    parse: () => parseServerSettings({ oauth: { generic: { ...oauthApp, scopes: ['mail'] } } }),
    field: 'oauth.generic',
    reason: 'give either issuer (discovery) or both authorizationEndpoint and tokenEndpoint',
  },
  {
    name: 'settings that are not an object',
    parse: () => parseServerSettings('enabled'),
    field: '',
    reason: 'expected object',
  },
];

function caught(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected the input to be rejected');
}

describe('bad settings are rejected with CONFIG_INVALID naming the field', () => {
  it.each(badCases)('$name → $field', ({ parse, field, reason }) => {
    const err = caught(parse);
    expect(err).toBeInstanceOf(MultiPopError);
    expect(isMultiPopError(err, 'CONFIG_INVALID')).toBe(true);
    const error = err as MultiPopError;
    expect(error.context.field).toBe(field);
    if (typeof reason === 'string') expect(error.message).toContain(reason);
    else expect(error.message).toMatch(reason);
    // The submitted password is never echoed: not in the message, not in the context.
    expect(error.message).not.toContain(PASSWORD);
    expect(JSON.stringify(error.context)).not.toContain(PASSWORD);
    expect(JSON.stringify(error)).not.toContain(PASSWORD);
  });

  it('lists every problem, not only the first', () => {
    const error = caught(() =>
      parseMailboxEntry(entry({ server: '', deleteAfterDays: -2, auth: 'kerberos' })),
    ) as MultiPopError;
    const fields = (error.context['issues'] as Array<{ field: string }>).map((issue) => issue.field);
    expect(fields).toEqual(expect.arrayContaining(['server', 'deleteAfterDays', 'auth']));
  });
});

describe('good settings', () => {
  it('a minimal mailbox entry gets every default', () => {
    const parsed = parseMailboxEntry({
      id: 'e1',
      server: 'pop.example.com',
      username: 'ann',
      password: 'pw',
    });
    expect(parsed).toEqual({
      id: 'e1',
      server: 'pop.example.com',
      username: 'ann',
      password: 'pw',
      auth: 'password',
      leaveOnServer: false,
      deleteAfterDays: 0,
      maxMessageSizeKb: 0,
      enabled: true,
    });
  });

  it('empty server settings get every default', () => {
    expect(parseServerSettings({})).toEqual({
      enabled: true,
      alwaysDelete: false,
      oauth: {},
      schedule: { mode: 'manual' },
      deleteOversized: false,
      logActivity: true,
      identity: { allowHeaderDigest: true, massChangeMinKnown: 10, massChangeShare: 0.5 },
    });
  });

  it('identity thresholds are validated', () => {
    for (const identity of [{ massChangeShare: 0 }, { massChangeShare: 1.5 }, { massChangeMinKnown: 0 }]) {
      expect(() => parseServerSettings({ identity })).toThrow(
        expect.objectContaining({ code: 'CONFIG_INVALID' }) as Error,
      );
    }
    expect(parseServerSettings({ identity: { massChangeShare: 0.8 } }).identity).toEqual({
      allowHeaderDigest: true,
      massChangeMinKnown: 10,
      massChangeShare: 0.8,
    });
  });

  it('an empty configuration is valid', () => {
    const config = parseConfig({});
    expect(config.users).toEqual([]);
    expect(config.settings.schedule).toEqual({ mode: 'manual' });
  });

  it('schedule defaults: everyNth 1, no per-hour limit', () => {
    expect(parseServerSettings({ schedule: { mode: 'remote-cycle' } }).schedule).toEqual({
      mode: 'remote-cycle',
      everyNth: 1,
    });
    expect(parseServerSettings({ schedule: { mode: 'on-user-check' } }).schedule).toEqual({
      mode: 'on-user-check',
      maxPerHour: 0,
      minMinutesBetween: 0,
    });
  });

  it('a Microsoft app defaults to the common tenant and accepts a tenant id or domain', () => {
    expect(parseServerSettings({ oauth: { microsoft: oauthApp } }).oauth.microsoft?.tenant).toBe('common');
    for (const tenant of [
      'organizations',
      'consumers',
      '72f988bf-86f1-41af-91ab-2d7cd011db47',
      'contoso.onmicrosoft.com',
    ]) {
      expect(
        parseServerSettings({ oauth: { microsoft: { ...oauthApp, tenant } } }).oauth.microsoft?.tenant,
      ).toBe(tenant);
    }
  });

  it('an OAuth entry may leave its user name empty (the grant fills it in)', () => {
    expect(
      parseMailboxEntry(
        entry({ server: 'pop.gmail.com:995', auth: 'oauth', password: undefined, username: '' }),
      ).username,
    ).toBe('');
  });

  it('http:// is accepted for loopback hosts only', () => {
    for (const issuer of [
      'http://127.0.0.1:4000',
      'http://localhost:4000',
      'http://[::1]:4000',
      'https://id.example.net',
    ]) {
      expect(
        parseServerSettings({ oauth: { generic: { ...oauthApp, issuer, scopes: ['pop'] } } }).oauth.generic
          ?.issuer,
      ).toBe(issuer);
    }
  });

  it('a generic app defaults to XOAUTH2 and no extra parameters', () => {
    const generic = parseServerSettings({
      oauth: { generic: { ...oauthApp, issuer: 'http://127.0.0.1:4000', scopes: ['mail'] } },
    }).oauth.generic;
    expect(generic?.sasl).toBe('xoauth2');
    expect(generic?.extraAuthorizationParams).toEqual({});
  });

  it('OAuth entries are valid when their app is configured; the provider is inferred from the host', () => {
    const config = parseConfig({
      settings: { oauth: { gmail: oauthApp } },
      users: [
        {
          id: 'ann@example.com',
          entries: [{ id: 'g', server: 'pop.gmail.com:995', username: 'ann@gmail.com', auth: 'oauth' }],
        },
      ],
    });
    const gmail = config.users[0]!.entries[0]!;
    expect(gmail.password).toBeUndefined();
    expect(entryOAuthProvider(gmail)).toBe('gmail');
    expect(entryOAuthProvider(parseMailboxEntry(entry()))).toBeUndefined();
  });
});

describe('parseServer', () => {
  it.each([
    ['pop.gmail.com:995', undefined, { host: 'pop.gmail.com', port: 995, tls: 'implicit' }],
    ['mail.example.com:110', undefined, { host: 'mail.example.com', port: 110, tls: 'starttls' }],
    ['mail.example.com', undefined, { host: 'mail.example.com', port: 110, tls: 'starttls' }],
    ['mail.example.com:1110', undefined, { host: 'mail.example.com', port: 1110, tls: 'starttls' }],
    ['mail.example.com', 'implicit', { host: 'mail.example.com', port: 995, tls: 'implicit' }],
    ['mail.example.com:995', 'starttls', { host: 'mail.example.com', port: 995, tls: 'starttls' }],
    ['mail.example.com:110', 'implicit', { host: 'mail.example.com', port: 110, tls: 'implicit' }],
    ['localhost:1110', 'none', { host: 'localhost', port: 1110, tls: 'none' }],
    ['[::1]:995', undefined, { host: '::1', port: 995, tls: 'implicit' }],
    ['[2001:db8::1]', undefined, { host: '2001:db8::1', port: 110, tls: 'starttls' }],
    ['127.0.0.1:995', undefined, { host: '127.0.0.1', port: 995, tls: 'implicit' }],
    ['pop.example.com.:995', undefined, { host: 'pop.example.com.', port: 995, tls: 'implicit' }],
    ['  pop.example.com:995  ', undefined, { host: 'pop.example.com', port: 995, tls: 'implicit' }],
  ] as const)('%s (tls %s)', (input, tls, expected) => {
    expect(parseServer(input, tls)).toEqual(expected);
  });

  it.each([
    '',
    'host:',
    ':995',
    'a:b:c',
    '[::1]x',
    '[nothex]:995',
    `${'a'.repeat(64)}.example.com`,
    `${'a.'.repeat(127)}com`,
  ])('rejects %j', (input) => {
    expect(() => parseServer(input)).toThrow();
  });
});

describe('inferOAuthProvider', () => {
  it.each([
    ['pop.gmail.com', 'gmail'],
    ['POP.GMAIL.COM.', 'gmail'],
    ['pop.googlemail.com', 'gmail'],
    ['outlook.office365.com', 'microsoft'],
    ['pop-mail.outlook.com', 'microsoft'],
    ['pop3.live.com', 'microsoft'],
    ['pop.gmx.net', undefined],
    ['evilpop.gmail.com', undefined],
    ['pop.gmail.com.evil.example', undefined],
  ] as const)('%s → %s', (host, expected) => {
    expect(inferOAuthProvider(host)).toBe(expected);
  });
});
