import type { Redis } from 'ioredis';
import type { CollectorEventName, CollectorEvents } from '../collect/events.js';
import { type ErrorCode, MultiPopError } from '../errors/index.js';

/** One collector event as it travels between processes. */
export interface FleetEventMessage {
  name: CollectorEventName;
  payload: unknown;
  /** The worker that emitted it. */
  worker: string;
}

/**
 * Per-message progress is left out of the fleet's channel: it fires for every chunk of every
 * body, which would cost more Redis commands than the collection itself.
 */
export const LOCAL_ONLY_EVENTS: ReadonlySet<CollectorEventName> = new Set(['message:progress']);

/**
 * The JSON text of an event. Errors cross the wire as `MultiPopError.toJSON()` makes them — name,
 * code, message and context (a MultiPopError's context never holds a secret) — and the
 * receiving side makes a MultiPopError of them again.
 */
export function encodeFleetEvent(message: FleetEventMessage): string {
  return JSON.stringify(message);
}

/** The event of a JSON text made by {@link encodeFleetEvent}; undefined for anything else. */
export function decodeFleetEvent(text: string): FleetEventMessage | undefined {
  try {
    const decoded = JSON.parse(text, (_key, value: unknown) => {
      const e = value as { name?: unknown; code?: ErrorCode; message: string; context?: unknown };
      if (typeof value === 'object' && value !== null && e.name === 'MultiPopError' && e.code) {
        return new MultiPopError(e.code, e.message, (e.context ?? {}) as MultiPopError['context']);
      }
      return value;
    }) as FleetEventMessage;
    return typeof decoded?.name === 'string' ? decoded : undefined;
  } catch {
    return undefined;
  }
}

/** Publishes a worker's collector events on the fleet's channel (fire and forget). */
export function fleetEventPublisher(
  redis: Redis,
  channel: string,
  worker: string,
  onError: (err: unknown) => void,
): <K extends CollectorEventName>(name: K, payload: CollectorEvents[K]) => void {
  return (name, payload) => {
    if (LOCAL_ONLY_EVENTS.has(name)) return;
    redis.publish(channel, encodeFleetEvent({ name, payload, worker })).catch(onError);
  };
}
