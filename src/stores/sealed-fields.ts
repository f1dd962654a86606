import { createHash } from 'node:crypto';
import type { ServerSettings } from '../config/index.js';

/**
 * Which field a sealed secret belongs to, bound into its tag by the secret box: a value copied
 * into another row or field does not open there. Shared by every store that encrypts at rest
 * (SQLite, PostgreSQL), so a secret is sealed the same way whichever store holds it.
 */
export const sealingContext = {
  entryPassword: (entryId: string) => `entry:${entryId}:password`,
  clientSecret: (provider: string) => `settings:oauth.${provider}.clientSecret`,
  token: (mailboxId: string, kind: 'access' | 'refresh') => `tokens:${mailboxId}:${kind}`,
  grantVerifier: (stateHash: string) => `grant:${stateHash}:verifier`,
} as const;

type OAuthApps = Record<string, { clientSecret?: string } | undefined>;

/**
 * Seals or opens every `oauth.<provider>.clientSecret` of the settings in place (the only
 * secrets the settings hold).
 *
 * @example
 * ```ts
 * mapClientSecrets(structuredClone(settings), (secret, at) => box.seal(secret, at));
 * ```
 */
export function mapClientSecrets(
  settings: ServerSettings,
  map: (secret: string, context: string) => string,
): ServerSettings {
  const apps = (settings.oauth ?? {}) as OAuthApps;
  for (const [provider, app] of Object.entries(apps)) {
    if (app && typeof app.clientSecret === 'string')
      app.clientSecret = map(app.clientSecret, sealingContext.clientSecret(provider));
  }
  return settings;
}

/** A pending grant is stored under a hash of its `state`: the store alone hands out no usable state. */
export function hashGrantState(state: string): string {
  return createHash('sha256').update(state, 'utf8').digest('hex');
}
