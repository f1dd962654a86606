import { describe, expect, it } from 'vitest';
import { TypedEmitter } from '../../src/fetcher/typed-emitter.js';

type Events = { a: { n: number }; b: string };

describe('TypedEmitter', () => {
  it('calls listeners in order; off() and the returned remover detach them', () => {
    const errors: unknown[] = [];
    const events = new TypedEmitter<Events>((e) => errors.push(e));
    const seen: string[] = [];
    const first = ({ n }: { n: number }) => seen.push(`first ${n}`);
    events.on('a', first);
    const remove = events.on('a', ({ n }) => seen.push(`second ${n}`));
    events.emit('a', { n: 1 });
    events.off('a', first);
    events.emit('a', { n: 2 });
    remove();
    events.emit('a', { n: 3 });
    expect(seen).toEqual(['first 1', 'second 1', 'second 2']);
    expect(events.listenerCount('a')).toBe(0);
    expect(errors).toEqual([]);
  });

  it('once() fires once and can be removed with off() before it fires', () => {
    const events = new TypedEmitter<Events>(() => {});
    const seen: string[] = [];
    events.once('b', (s) => seen.push(s));
    const never = (s: string) => seen.push(`never ${s}`);
    events.once('b', never);
    events.off('b', never);
    events.emit('b', 'x');
    events.emit('b', 'y');
    expect(seen).toEqual(['x']);
    expect(events.listenerCount('b')).toBe(0);
  });

  it('a throwing listener is reported with the event name; the others still run', () => {
    const errors: [unknown, string][] = [];
    const events = new TypedEmitter<Events>((e, name) => errors.push([e, String(name)]));
    const seen: number[] = [];
    const boom = new Error('boom');
    events.on('a', () => {
      throw boom;
    });
    events.on('a', ({ n }) => seen.push(n));
    expect(() => events.emit('a', { n: 7 })).not.toThrow();
    expect(seen).toEqual([7]);
    expect(errors).toEqual([[boom, 'a']]);
  });
});
