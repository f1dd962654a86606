/**
 * Authentication of POP3 sessions: password (USER/PASS or SASL PLAIN), APOP, and OAuth 2.0
 * (Gmail, Microsoft 365, any OAuth 2.0 provider) with the "Grant permission" flow.
 */
export { type ApopAuthOptions, apopAuth } from './apop.js';
export { assertCredentialsMaySend } from './credentials-guard.js';
export type { OAuthCallbackInput } from './oauth/callback.js';
export { classifyOAuthError, type OAuthOperation } from './oauth/errors.js';
export type { OAuthEvent, OAuthEventListener } from './oauth/events.js';
export {
  type BeginGrantInput,
  type BeginGrantResult,
  type CompleteGrantResult,
  DEFAULT_GRANT_TTL_MS,
  type GrantCompleter,
  redirectUriFor,
} from './oauth/grant-flow.js';
export { DEFAULT_OAUTH_TIMEOUT_MS, type OAuthFetch, type OAuthHttpOptions } from './oauth/http.js';
export {
  type ClientAuthMethod,
  GMAIL_OAUTH,
  genericOAuth,
  gmailOAuth,
  MICROSOFT_OAUTH,
  microsoftOAuth,
  type OAuthIdentityCheck,
  type OAuthProfile,
  type OAuthProfileOverrides,
  type OAuthSaslForm,
} from './oauth/profiles.js';
export { saslMechanismOf, saslTokenLogin } from './oauth/sasl-login.js';
export { OAuthService, type OAuthServiceOptions } from './oauth/service.js';
export { DEFAULT_REFRESH_SKEW_MS, type GetAccessTokenOptions } from './oauth/token-keeper.js';
export {
  choosePasswordMechanism,
  type PasswordAuthOptions,
  type PasswordMechanism,
  passwordAuth,
} from './password.js';
export type { AuthProvider, AuthRequest } from './provider.js';
