/**
 * The fake server's authentication commands: PASS (after USER), APOP, and AUTH with SASL
 * PLAIN, XOAUTH2 and OAUTHBEARER — including how Gmail and Microsoft differ in the XOAUTH2
 * forms they accept and in how they refuse a token.
 */
import { createHash } from 'node:crypto';
import type { Replies, ServerContext } from './context.js';

/**
 * How an authentication command ended: a user to log in (with the `+OK` text), `'answered'`
 * (refused, the `-ERR` is sent; the session goes on) or `'closed'` (the client went away).
 */
export type AuthOutcome = { user: string; text: string } | 'answered' | 'closed';

const LOGGED_IN = 'Logged in.';

/** PASS: the password of the user named by USER. */
export async function checkPassword(
  ctx: ServerContext,
  replies: Replies,
  userName: string | undefined,
  password: string,
): Promise<AuthOutcome> {
  if (userName === undefined) return refuse(replies, undefined, 'No user name given.');
  const user = ctx.store.user(userName);
  if (!user || user.password !== password) return refuse(replies, 'AUTH', 'Authentication failed.');
  return { user: user.name, text: LOGGED_IN };
}

/** APOP name digest: the MD5 of the greeting's timestamp and the shared secret (RFC 1939 §7). */
export async function checkApop(
  ctx: ServerContext,
  replies: Replies,
  timestamp: string,
  args: string[],
): Promise<AuthOutcome> {
  if (!ctx.capabilities.apop || args.length !== 2) return refuse(replies, undefined, 'APOP not available.');
  const [name = '', digest = ''] = args;
  const user = ctx.store.user(name);
  const expected = user
    ? createHash('md5')
        .update(timestamp + user.password)
        .digest('hex')
    : '';
  if (!user || digest.toLowerCase() !== expected) return refuse(replies, 'AUTH', 'Authentication failed.');
  return { user: user.name, text: LOGGED_IN };
}

/** AUTH mechanism [initial-response]: one SASL exchange (RFC 5034). */
export async function authenticateSasl(
  ctx: ServerContext,
  replies: Replies,
  args: string[],
): Promise<AuthOutcome> {
  const mechanism = (args[0] ?? '').toUpperCase();
  const offered = (ctx.capabilities.sasl ?? []).map((m) => m.toUpperCase());
  if (mechanism === '' || !offered.includes(mechanism))
    return refuse(replies, undefined, 'Unsupported authentication mechanism.');
  const personality = ctx.personality;
  const hasInitial = args.length > 1;
  if (mechanism === 'XOAUTH2' && personality === 'gmail' && !hasInitial)
    return refuse(replies, undefined, 'Invalid SASL argument.');
  if (mechanism === 'XOAUTH2' && personality === 'microsoft' && hasInitial)
    return refuse(replies, undefined, 'Protocol error.');
  let response = args[1];
  if (response === undefined) {
    await replies.send('+ \r\n');
    response = await replies.nextLine();
    if (response === undefined) return 'closed';
  }
  if (response === '*') return refuse(replies, undefined, 'Authentication cancelled.');
  const decoded = response === '=' ? '' : Buffer.from(response, 'base64').toString('utf8');
  ctx.recordSasl(decoded);
  if (mechanism === 'PLAIN') {
    const [, authcid = '', password = ''] = decoded.split('\u0000');
    const user = ctx.store.user(authcid);
    if (!user || user.password !== password) return refuse(replies, 'AUTH', 'Authentication failed.');
    return { user: user.name, text: LOGGED_IN };
  }
  const parsed = mechanism === 'XOAUTH2' ? parseXOAuth2(decoded) : parseOAuthBearer(decoded);
  if (!parsed) return refuse(replies, undefined, 'Invalid SASL argument.');
  if (await tokenValid(ctx, parsed.user, parsed.token)) {
    return {
      user: parsed.user,
      text: personality === 'microsoft' ? 'User successfully authenticated.' : 'Welcome.',
    };
  }
  if (personality === 'microsoft')
    return refuse(replies, undefined, 'Authentication failure: unknown user name or bad password.');
  // RFC 7628 §3.2.2 / Google: a JSON error as a challenge, then -ERR after the client's answer.
  const report = JSON.stringify({ status: '401', schemes: 'bearer', scope: 'https://mail.google.com/' });
  await replies.send(`+ ${Buffer.from(report).toString('base64')}\r\n`);
  if ((await replies.nextLine()) === undefined) return 'closed';
  return refuse(replies, 'AUTH', 'Authentication failed.');
}

async function refuse(replies: Replies, code: string | undefined, text: string): Promise<'answered'> {
  await replies.err(code, text);
  return 'answered';
}

async function tokenValid(ctx: ServerContext, user: string, token: string): Promise<boolean> {
  const check = ctx.options.checkToken;
  if (check) return check(user, token);
  const stored = ctx.store.user(user);
  return stored?.accessToken !== undefined && stored.accessToken === token;
}

function parseXOAuth2(decoded: string): { user: string; token: string } | undefined {
  const match = /^user=([^\u0001]+)\u0001auth=Bearer ([^\u0001]+)\u0001\u0001$/.exec(decoded);
  return match ? { user: match[1]!, token: match[2]! } : undefined;
}

/** RFC 7628 §3.1: `n,a=user,` GS2 header, then `key=value` pairs separated by ^A. */
function parseOAuthBearer(decoded: string): { user: string; token: string } | undefined {
  const match = /^n,a=([^,]*),\u0001(.*)\u0001\u0001$/s.exec(decoded);
  if (!match) return undefined;
  const user = match[1]!.replace(/=2C/g, ',').replace(/=3D/g, '=');
  const pairs = new Map(
    match[2]!
      .split('\u0001')
      .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)] as const),
  );
  const auth = pairs.get('auth');
  if (!auth?.startsWith('Bearer ') || !pairs.has('host') || !pairs.has('port')) return undefined;
  return { user, token: auth.slice('Bearer '.length) };
}
