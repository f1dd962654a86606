/**
 * oidc-provider's storage for the test authorization servers: everything in one Map per
 * server, with expiry. Passing our own adapter (instead of none) keeps oidc-provider from
 * falling back to its quick-start in-memory adapter, which prints a development-mode warning
 * into the test output.
 */
import type { Adapter, AdapterPayload } from 'oidc-provider';

interface Stored {
  payload: AdapterPayload;
  /** ms since epoch; undefined: no expiry. */
  expiresAt: number | undefined;
}

/**
 * An adapter factory for one provider instance (a fresh store per server, so parallel test
 * servers never see each other's tokens).
 *
 * @example
 * ```ts
 * new Provider(issuer, { adapter: memoryOidcAdapter(), ... });
 * ```
 */
export function memoryOidcAdapter(): (model: string) => Adapter {
  const records = new Map<string, Stored>();
  const key = (model: string, id: string) => `${model}:${id}`;
  const live = (stored: Stored | undefined): AdapterPayload | undefined => {
    if (!stored) return undefined;
    if (stored.expiresAt !== undefined && stored.expiresAt <= Date.now()) return undefined;
    return stored.payload;
  };
  const findWhere = (model: string, test: (payload: AdapterPayload) => boolean) => {
    for (const [k, stored] of records) {
      if (!k.startsWith(`${model}:`)) continue;
      const payload = live(stored);
      if (payload && test(payload)) return payload;
    }
    return undefined;
  };

  return (model) => ({
    async upsert(id, payload, expiresIn) {
      records.set(key(model, id), {
        payload: { ...payload },
        expiresAt: expiresIn !== undefined && expiresIn > 0 ? Date.now() + expiresIn * 1000 : undefined,
      });
    },
    async find(id) {
      return live(records.get(key(model, id)));
    },
    async findByUserCode(userCode) {
      return findWhere(model, (payload) => payload.userCode === userCode);
    },
    async findByUid(uid) {
      return findWhere(model, (payload) => payload.uid === uid);
    },
    async consume(id) {
      const stored = records.get(key(model, id));
      if (stored) stored.payload = { ...stored.payload, consumed: Math.floor(Date.now() / 1000) };
    },
    async destroy(id) {
      records.delete(key(model, id));
    },
    async revokeByGrantId(grantId) {
      // A grant's tokens live under several models; revoking it removes all of them.
      for (const [k, stored] of records) if (stored.payload.grantId === grantId) records.delete(k);
    },
  });
}
