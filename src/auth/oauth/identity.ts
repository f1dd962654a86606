import type * as oauth from 'oauth4webapi';
import { MultiPopError } from '../../errors/index.js';
import type { OAuthIdentityCheck } from './profiles.js';

/** The tenant id of personal Microsoft accounts (outlook.com, hotmail.com, live.com). */
export const MICROSOFT_CONSUMERS_TENANT = '9188040d-6c67-4c5b-b112-36a304b66dad';

/** Who consented, as the validated ID token says. */
export interface ConsentingAccount {
  /** The account to report and to fill into an empty user name (the first claim present). */
  account: string;
  /** Every name the token gives for the account (all of `check.claims` present). */
  names: string[];
}

/**
 * The issuer the ID token of a token response must carry. For Microsoft's `{tid}` template the
 * token's own `tid` is read from the unvalidated payload first; oauth4webapi then validates the
 * token against the issuer built from it, and {@link tenantProblem} checks the tenant is allowed.
 * The response itself is not consumed (a clone is read).
 *
 * @example
 * ```ts
 * const issuer = await expectedIdTokenIssuer(profile.identity, response, server.issuer);
 * ```
 */
export async function expectedIdTokenIssuer(
  check: OAuthIdentityCheck,
  response: Response,
  serverIssuer: string,
): Promise<string> {
  if (check.issuer === undefined) return serverIssuer;
  if (!check.issuer.includes('{tid}')) return check.issuer;
  const tid = await unvalidatedTenantOf(response.clone());
  return tid === undefined ? check.issuer : check.issuer.replace('{tid}', tid);
}

/**
 * The account named by a validated ID token, per the identity check's claims.
 *
 * @throws MultiPopError `OAUTH_PROVIDER_ERROR` (none of the claims is present),
 *   `OAUTH_ACCOUNT_MISMATCH` (a tenant the app's tenant setting does not allow)
 */
export function consentingAccount(
  claims: oauth.IDToken,
  check: OAuthIdentityCheck,
  context: Record<string, string>,
): ConsentingAccount {
  const names: string[] = [];
  for (const claim of check.claims) {
    const value = claims[claim];
    if (typeof value !== 'string' || value.trim() === '') continue;
    // An unverified address proves nothing about who owns it.
    if (claim === 'email' && claims['email_verified'] === false) continue;
    names.push(value.trim());
  }
  const account = names[0];
  if (account === undefined) {
    throw new MultiPopError(
      'OAUTH_PROVIDER_ERROR',
      `The provider's ID token names no account (expected the claim ${check.claims.join(' or ')}): check the app's scopes`,
      { ...context, claims: [...check.claims] },
    );
  }
  const problem = tenantProblem(check.tenant, claims['tid']);
  if (problem !== undefined) {
    throw new MultiPopError(
      'OAUTH_ACCOUNT_MISMATCH',
      `Permission was granted by ${truncate(account)}, ${problem}: nothing was stored`,
      { ...context, signedInAs: truncate(account), reason: 'tenant' },
    );
  }
  return { account, names };
}

/**
 * Whether the entry's user name is one of the names of the consenting account: compared
 * case-insensitively, without Gmail's `recent:` POP mode prefix.
 *
 * @example
 * ```ts
 * isSameAccount('recent:Ann@Gmail.com', { account: 'ann@gmail.com', names: ['ann@gmail.com'] }); // true
 * ```
 */
export function isSameAccount(username: string, consenting: ConsentingAccount): boolean {
  const wanted = normalizeAccount(username);
  return consenting.names.some((name) => normalizeAccount(name) === wanted);
}

/**
 * Why a Microsoft tenant id may not consent under the app's tenant setting, or undefined.
 * Without a tenant setting (not Microsoft), or a tenant named by domain (the endpoints
 * already restrict it), nothing is checked.
 */
export function tenantProblem(setting: string | undefined, tid: unknown): string | undefined {
  if (setting === undefined) return undefined;
  const mode = setting.toLowerCase();
  if (mode === 'common' || mode.includes('.')) return undefined;
  if (typeof tid !== 'string') return 'but the ID token names no tenant (tid)';
  const tenant = tid.toLowerCase();
  if (mode === 'organizations') {
    return tenant === MICROSOFT_CONSUMERS_TENANT
      ? 'a personal Microsoft account, but the app accepts work or school accounts only (tenant "organizations")'
      : undefined;
  }
  if (mode === 'consumers') {
    return tenant === MICROSOFT_CONSUMERS_TENANT
      ? undefined
      : 'a work or school account, but the app accepts personal Microsoft accounts only (tenant "consumers")';
  }
  return tenant === mode ? undefined : `an account of another tenant (${truncate(tid)}) than the app's`;
}

function normalizeAccount(name: string): string {
  return name
    .trim()
    .replace(/^recent:/i, '')
    .toLowerCase();
}

async function unvalidatedTenantOf(response: Response): Promise<string | undefined> {
  try {
    const body = (await response.json()) as { id_token?: unknown };
    if (typeof body?.id_token !== 'string') return undefined;
    const payload = body.id_token.split('.')[1] ?? '';
    const tid = (JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { tid?: unknown }).tid;
    // Only a plain tenant id may go into the issuer URL.
    return typeof tid === 'string' && /^[A-Za-z0-9-]{1,64}$/.test(tid) ? tid : undefined;
  } catch {
    // Not JSON, or no readable token: oauth4webapi reports the real problem.
    return undefined;
  }
}

function truncate(text: string): string {
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}
