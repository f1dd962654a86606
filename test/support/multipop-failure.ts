import { isMultiPopError, type MultiPopError } from '../../src/errors/index.js';

/**
 * Awaits a call that must be refused and returns its typed error, so a test can assert the code
 * and context. Anything else fails the test: a success, or a rejection that is not a
 * MultiPopError (rethrown as is, so the real cause shows).
 *
 * @example
 * const err = await failure(service.getAccessToken('unknown'));
 * expect(err.code).toBe('OAUTH_NEEDS_PERMISSION');
 */
export async function failure(promise: Promise<unknown>): Promise<MultiPopError> {
  try {
    await promise;
  } catch (err) {
    if (isMultiPopError(err)) return err;
    throw err;
  }
  throw new Error('expected a MultiPopError, but the call succeeded');
}
