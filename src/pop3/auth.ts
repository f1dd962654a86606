import { isMultiPopError, MultiPopError } from '../errors/index.js';
import { apopDigest } from './apop.js';
import type { SaslExchange } from './command.js';
import type { Pop3Connection } from './connection.js';
import { MAX_COMMAND_LENGTH } from './limits.js';
import { oauthBearerResponse, plainResponse, xoauth2Response } from './sasl.js';
import { Pop3State } from './state.js';
import { checkArgument } from './validate.js';

const REDACTED_ARG = '[REDACTED]';

/** `onSuccess` of every authentication command: the maildrop is ours. */
function authenticated(connection: Pop3Connection): () => void {
  return () => {
    connection.state = Pop3State.TRANSACTION;
    connection.log.debug({ state: connection.state }, 'pop3 authenticated');
  };
}

/**
 * USER + PASS (RFC 1939 §7). PASS is queued by USER's success handler, ahead of anything the
 * caller issued since: it is never sent after a failed USER, and nothing slips in between.
 *
 * @example
 * ```ts
 * await login(connection, 'ann', 'secret');
 * ```
 */
export function login(connection: Pop3Connection, user: string, password: string): Promise<void> {
  checkArgument(user, 'user', false);
  checkArgument(password, 'password', true);
  connection.secrets.add(password);
  return new Promise<void>((resolve, reject) => {
    connection
      .enqueue({
        verb: 'USER',
        args: [user],
        onSuccess: () => {
          connection
            .enqueueNext({
              verb: 'PASS',
              args: [password],
              logArgs: [REDACTED_ARG],
              onSuccess: authenticated(connection),
            })
            .then(() => resolve(), reject);
        },
      })
      .catch(reject);
  });
}

/**
 * APOP (RFC 1939 §7) with the greeting's timestamp; `UNSUPPORTED` (nothing sent) without one.
 *
 * @example
 * ```ts
 * await apop(connection, '<1896.697170952@dbc.mtview.ca.us>', 'mrose', 'tanstaaf');
 * ```
 */
export async function apop(
  connection: Pop3Connection,
  timestamp: string | undefined,
  user: string,
  secret: string,
): Promise<void> {
  checkArgument(user, 'user', false);
  checkArgument(secret, 'secret', true);
  if (timestamp === undefined) {
    throw new MultiPopError('UNSUPPORTED', 'The greeting carries no APOP timestamp', { command: 'APOP' });
  }
  connection.secrets.add(secret);
  const digest = apopDigest(timestamp, secret);
  // Not the secret itself, but a replayable proof for this greeting: keep it out of logs too.
  connection.secrets.add(digest);
  await connection.enqueue({
    verb: 'APOP',
    args: [user, digest],
    logArgs: [user, REDACTED_ARG],
    onSuccess: authenticated(connection),
  });
}

/** How the SASL client response travels: with the command, after `+`, or whichever fits. */
export type SaslForm = 'initial-response' | 'continuation' | 'auto';

/**
 * AUTH PLAIN (RFC 4616) with the initial response when it fits in 255 octets.
 *
 * @example
 * ```ts
 * await authPlain(connection, 'ann', 'secret');
 * ```
 */
export async function authPlain(
  connection: Pop3Connection,
  user: string,
  password: string,
  authzid = '',
): Promise<void> {
  checkArgument(user, 'user', false);
  checkArgument(password, 'password', true);
  checkArgument(authzid, 'authzid', true);
  connection.secrets.add(password);
  // `*` cancels an exchange the server answered with an unexpected challenge (RFC 5034 §4).
  await authenticate(connection, 'PLAIN', plainResponse(user, password, authzid), 'auto', '*');
}

/**
 * AUTH XOAUTH2 in Gmail's one-line form or Microsoft's two-line form.
 *
 * @example
 * ```ts
 * await authXOAuth2(connection, 'ann@example.com', accessToken, 'continuation');
 * ```
 */
export async function authXOAuth2(
  connection: Pop3Connection,
  user: string,
  accessToken: string,
  form: 'initial-response' | 'continuation',
): Promise<void> {
  checkArgument(user, 'user', false);
  checkArgument(accessToken, 'accessToken', false);
  if (form !== 'initial-response' && form !== 'continuation') {
    throw new MultiPopError('CONFIG_INVALID', 'XOAUTH2 form must be initial-response or continuation', {
      field: 'form',
    });
  }
  connection.secrets.add(accessToken);
  // Google and Microsoft expect an empty line in answer to the failure challenge.
  await authenticate(connection, 'XOAUTH2', xoauth2Response(user, accessToken), form, '');
}

/**
 * AUTH OAUTHBEARER (RFC 7628), host and port taken from the connection.
 *
 * @example
 * ```ts
 * await authOAuthBearer(connection, 'ann@example.com', accessToken);
 * ```
 */
export async function authOAuthBearer(
  connection: Pop3Connection,
  user: string,
  accessToken: string,
): Promise<void> {
  checkArgument(user, 'user', false);
  checkArgument(accessToken, 'accessToken', false);
  connection.secrets.add(accessToken);
  // RFC 7628 §3.2.3: the client answers an error challenge with the dummy response %x01.
  const dummy = Buffer.from([1]).toString('base64');
  const response = oauthBearerResponse(user, accessToken, connection.host, connection.port);
  await authenticate(connection, 'OAUTHBEARER', response, 'auto', dummy);
}

async function authenticate(
  connection: Pop3Connection,
  mechanism: string,
  response: string,
  form: SaslForm,
  abortLine: string,
): Promise<void> {
  connection.secrets.add(response);
  // RFC 5034 §4: an initial response that would make the command longer than 255 octets is
  // sent after the server's `+` instead. Gmail wants XOAUTH2 in one line regardless.
  const initial =
    form === 'initial-response' ||
    (form === 'auto' && `AUTH ${mechanism} ${response}\r\n`.length <= MAX_COMMAND_LENGTH);
  const sasl: SaslExchange = {
    mechanism,
    response,
    stage: initial ? 'initial-sent' : 'awaiting-ready',
    abortLine,
  };
  try {
    await connection.enqueue({
      verb: 'AUTH',
      args: initial ? [mechanism, response] : [mechanism],
      logArgs: initial ? [mechanism, REDACTED_ARG] : [mechanism],
      sasl,
      onSuccess: authenticated(connection),
    });
  } catch (err) {
    if (isMultiPopError(err)) {
      err.context['mechanism'] = mechanism;
      if (sasl.challenge !== undefined) err.context['saslError'] = sasl.challenge.json ?? sasl.challenge.text;
    }
    throw err;
  }
}
