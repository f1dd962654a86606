/**
 * Every case of the TokenStore contract can fail: the memory token store passes the whole suite,
 * and each broken wrapper around it — one defect apiece, the mistakes a vault- or database-backed
 * store makes (a read-then-delete "take", a lease without expiry, …) — fails the case written for
 * that defect. Together the defects fail every case.
 */
import { memoryTokenStore, tokenStoreContract } from 'multipop/testing';
import { describe, it } from 'vitest';
import type { OAuthTokenSet, PendingGrant, TokenStore } from '../../../src/ports/index.js';
import { expectEveryCaseCanFail } from './mutants.js';

type Defect =
  | 'an empty set for an unknown mailbox'
  | 'a save merges into the old set'
  | 'delete removes every mailbox'
  | 'token sets kept by reference'
  | 'take does not use the grant up'
  | 'the store sets its own expiry'
  | 'a miss clears every grant'
  | 'take reads, then deletes'
  | 'take hides expired grants'
  | 'the first grant under a state wins'
  | 'grants kept by reference'
  | 'only the role of who started it'
  | 'find uses the grant up'
  | 'purge includes the edge'
  | 'conditional delete deletes anyway'
  | 'every lease request succeeds'
  | 'leases never expire'
  | 'lease checked, then taken'
  | 'forgets everything on reopen';

const tick = () => new Promise((done) => setImmediate(done));

/** The memory token store, with `defect` added around it. */
function brokenStore(defect?: Defect): TokenStore {
  const base = memoryTokenStore();
  const byReference = new Map<string, OAuthTokenSet>();
  const grants = new Map<string, PendingGrant>();
  const leases = new Map<string, string>();
  const store: TokenStore = {
    async getTokens(id) {
      if (defect === 'token sets kept by reference') return byReference.get(id);
      return (
        (await base.getTokens(id)) ??
        (defect === 'an empty set for an unknown mailbox' ? ({} as OAuthTokenSet) : undefined)
      );
    },
    async setTokens(id, tokens) {
      if (defect === 'token sets kept by reference') byReference.set(id, tokens);
      const old = defect === 'a save merges into the old set' ? await base.getTokens(id) : undefined;
      await base.setTokens(id, { ...old, ...tokens });
    },
    async deleteTokens(id) {
      if (defect === 'delete removes every mailbox')
        for (const other of ['m1', 'm2', id]) await base.deleteTokens(other);
      else await base.deleteTokens(id);
      byReference.delete(id);
    },
    async putPendingGrant(grant) {
      if (defect === 'grants kept by reference') grants.set(grant.state, grant);
      if (defect === 'the first grant under a state wins' && (await base.findPendingGrant(grant.state)))
        return;
      let saved = grant;
      if (defect === 'the store sets its own expiry') saved = { ...grant, expiresAt: Date.now() + 600_000 };
      if (defect === 'only the role of who started it') {
        const by = grant.startedBy;
        saved = { ...grant, startedBy: by.role === 'admin' ? { role: 'admin' } : by };
      }
      await base.putPendingGrant(saved);
    },
    async takePendingGrant(state) {
      if (defect === 'grants kept by reference' && grants.has(state)) {
        const grant = grants.get(state);
        grants.delete(state);
        await base.takePendingGrant(state);
        return grant;
      }
      if (defect === 'take does not use the grant up') return base.findPendingGrant(state);
      if (defect === 'take reads, then deletes') {
        const found = await base.findPendingGrant(state);
        await tick();
        await base.takePendingGrant(state);
        return found;
      }
      const taken = await base.takePendingGrant(state);
      if (defect === 'a miss clears every grant' && !taken)
        await base.purgeExpiredGrants(Number.MAX_SAFE_INTEGER);
      if (defect === 'take hides expired grants' && taken && taken.expiresAt < Date.now()) return undefined;
      return taken;
    },
    async findPendingGrant(state) {
      return defect === 'find uses the grant up'
        ? base.takePendingGrant(state)
        : base.findPendingGrant(state);
    },
    async purgeExpiredGrants(now) {
      return base.purgeExpiredGrants(defect === 'purge includes the edge' ? now + 1 : now);
    },
    async deleteTokensIfRefreshToken(id, refreshToken) {
      if (defect !== 'conditional delete deletes anyway')
        return base.deleteTokensIfRefreshToken(id, refreshToken);
      const had = (await base.getTokens(id)) !== undefined;
      await base.deleteTokens(id);
      return had;
    },
    async acquireRefreshLease(id, holder, now, ttlMs) {
      if (defect === 'every lease request succeeds') return true;
      if (defect === 'leases never expire') {
        const current = leases.get(id);
        if (current && current !== holder) return false;
        leases.set(id, holder);
        return true;
      }
      if (defect === 'lease checked, then taken') {
        const current = leases.get(id);
        await tick();
        if (current && current !== holder) return false;
        leases.set(id, holder);
        return base.acquireRefreshLease(id, holder, now, ttlMs).then(() => true);
      }
      return base.acquireRefreshLease(id, holder, now, ttlMs);
    },
    async releaseRefreshLease(id, holder) {
      if (leases.get(id) === holder) leases.delete(id);
      await base.releaseRefreshLease(id, holder);
    },
  };
  return store;
}

const contract = (defect?: Defect) =>
  tokenStoreContract(defect ?? 'correct', {
    create: () => brokenStore(defect),
    reopen: (store) => (defect === 'forgets everything on reopen' ? brokenStore() : store),
  });

describe('the TokenStore contract fails each defect at its case', () => {
  it('passes the memory token store, fails every broken one, and every case fails for some defect', async () => {
    await expectEveryCaseCanFail(contract, {
      'an empty set for an unknown mailbox': 'returns undefined for a mailbox without tokens',
      'a save merges into the old set': 'saves, replaces and deletes the token set of a mailbox',
      'delete removes every mailbox': 'keeps mailboxes apart',
      'token sets kept by reference': 'copies token sets both ways',
      'take does not use the grant up': 'hands out a pending grant once',
      'the store sets its own expiry': 'returns the grant exactly as saved',
      'a miss clears every grant': 'returns undefined for an unknown state, and does not touch other grants',
      'take reads, then deletes': 'gives a grant to only one of two concurrent takers',
      'take hides expired grants': 'still returns an expired grant',
      'the first grant under a state wins': 'replaces a grant saved again under the same state',
      'grants kept by reference': 'copies grants in',
      'only the role of who started it': 'keeps who started a grant, a user or an administrator',
      'find uses the grant up': 'reads a pending grant without using it up',
      'purge includes the edge': 'purges the grants that expired before now, and only those',
      'conditional delete deletes anyway': 'deletes tokens conditionally',
      'every lease request succeeds': 'gives the refresh lease of an entry to one holder at a time',
      'leases never expire': 'lets a lease whose holder vanished be taken over once it expired',
      'lease checked, then taken': 'gives a lease to only one of two concurrent holders',
      'forgets everything on reopen': 'keeps tokens and pending grants across a reopen',
    });
  });
});
