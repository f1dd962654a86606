import { Redis } from 'ioredis';

/**
 * A Redis connection for BullMQ and multipop's own keys. `maxRetriesPerRequest: null` is what
 * BullMQ asks of its connections: commands wait through a reconnect (a Redis restart) instead
 * of failing after a few tries.
 */
export function connectRedis(url: string, name: string): Redis {
  return new Redis(url, { maxRetriesPerRequest: null, connectionName: name });
}
