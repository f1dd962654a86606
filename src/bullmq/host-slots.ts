import type { Redis } from 'ioredis';

// Every script reads the time from Redis (TIME), so the workers' clocks never matter; a member's
// score is the moment its slot expires. Expired members are dropped before each decision, which
// is how the slot of a worker that died (SIGKILL, a lost machine) comes back.
const TAKE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZSCORE', KEYS[1], ARGV[3]) or redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[1]) then
  redis.call('ZADD', KEYS[1], now + ttl, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], ttl)
  return 1
end
return 0`;

const RENEW = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZSCORE', KEYS[1], ARGV[2]) then
  redis.call('ZADD', KEYS[1], now + ttl, ARGV[2])
  redis.call('PEXPIRE', KEYS[1], ttl)
  return 1
end
return 0`;

/**
 * A counting semaphore per remote host, shared by the whole fleet: at most `limit` sessions
 * against one host at once over all workers. Each slot is a member of a sorted set with an
 * expiry; its holder renews it while the session runs, so a worker that died gives its slot
 * back after `ttlMs` at the latest.
 *
 * @example
 * ```ts
 * const slots = new FleetHostSlots(redis, 'multipop:collect:multipop:host-slots:', 2, 60_000);
 * if (await slots.take('pop.gmx.net', 'worker-1:job-7')) {
 *   try { await collect(); } finally { await slots.give('pop.gmx.net', 'worker-1:job-7'); }
 * }
 * ```
 */
export class FleetHostSlots {
  readonly #redis: Redis;
  readonly #prefix: string;
  readonly #limit: number;
  readonly #ttlMs: number;

  constructor(redis: Redis, prefix: string, limit: number, ttlMs: number) {
    this.#redis = redis;
    this.#prefix = prefix;
    this.#limit = limit;
    this.#ttlMs = Math.max(1, Math.round(ttlMs));
  }

  /** Takes a slot of `host` for `holder`; false when all `limit` slots are taken. */
  async take(host: string, holder: string): Promise<boolean> {
    const taken = await this.#redis.eval(TAKE, 1, this.#key(host), this.#limit, this.#ttlMs, holder);
    return taken === 1;
  }

  /** Extends `holder`'s slot by the slot time; false when it expired and is gone. */
  async renew(host: string, holder: string): Promise<boolean> {
    return (await this.#redis.eval(RENEW, 1, this.#key(host), this.#ttlMs, holder)) === 1;
  }

  /** Gives the slot back. */
  async give(host: string, holder: string): Promise<void> {
    await this.#redis.zrem(this.#key(host), holder);
  }

  /** Slots of `host` held now (expired ones not counted). */
  async held(host: string): Promise<number> {
    const now = await this.#redis.time();
    const ms = Number(now[0]) * 1000 + Math.floor(Number(now[1]) / 1000);
    return this.#redis.zcount(this.#key(host), ms + 1, '+inf');
  }

  #key(host: string): string {
    return `${this.#prefix}${host.toLowerCase()}`;
  }
}
