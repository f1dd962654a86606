import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWithRedis, type RedisServer, startRedis } from '../helpers/redis.js';

describeWithRedis('the private Redis harness', () => {
  let server: RedisServer;
  let client: Redis;
  beforeAll(async () => {
    server = await startRedis();
    client = new Redis(server.url, { maxRetriesPerRequest: null, lazyConnect: true });
    client.on('error', () => undefined); // the restart below drops the connection on purpose
    await client.connect();
  });
  afterAll(async () => {
    client?.disconnect();
    await server?.stop();
  });

  it('serves on its own loopback port and keeps nothing on disk', async () => {
    await client.set('k', 'v');
    expect(await client.get('k')).toBe('v');
    expect(await client.config('GET', 'save')).toEqual(['save', '']);
    expect(await client.config('GET', 'appendonly')).toEqual(['appendonly', 'no']);
  });

  it('restart() comes back on the same port, empty, and a client reconnects', async () => {
    await client.set('before', '1');
    await server.restart();
    expect(await client.get('before')).toBeNull();
    await client.set('after', '2');
    expect(await client.get('after')).toBe('2');
  });
});
