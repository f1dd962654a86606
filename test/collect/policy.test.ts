import { describe, expect, it } from 'vitest';
import { effectivePolicy, isOversize, shouldDeleteAfterCollect } from '../../src/collect/policy.js';

const entry = { leaveOnServer: false, deleteAfterDays: 0, maxMessageSizeKb: 0 };
const settings = { alwaysDelete: false, deleteOversized: false };

describe('effectivePolicy', () => {
  it.each([
    { why: 'default: delete after collection', e: {}, s: {}, leaveOnServer: false },
    { why: 'M5 leaves a copy', e: { leaveOnServer: true }, s: {}, leaveOnServer: true },
    { why: 'S2 overrides M5', e: { leaveOnServer: true }, s: { alwaysDelete: true }, leaveOnServer: false },
    { why: 'S2 with delete mode stays delete', e: {}, s: { alwaysDelete: true }, leaveOnServer: false },
  ])('$why', ({ e, s, leaveOnServer }) => {
    expect(effectivePolicy({ ...entry, ...e }, { ...settings, ...s }).leaveOnServer).toBe(leaveOnServer);
  });

  it('converts M6 days to milliseconds when a copy is left', () => {
    expect(
      effectivePolicy({ ...entry, leaveOnServer: true, deleteAfterDays: 7 }, settings).deleteAfterMs,
    ).toBe(7 * 24 * 60 * 60 * 1000);
  });

  it('has no M6 expiry when messages are deleted at once (M5 off, or S2)', () => {
    expect(effectivePolicy({ ...entry, deleteAfterDays: 7 }, settings).deleteAfterMs).toBe(0);
    expect(
      effectivePolicy(
        { ...entry, leaveOnServer: true, deleteAfterDays: 7 },
        { ...settings, alwaysDelete: true },
      ).deleteAfterMs,
    ).toBe(0);
  });

  it('converts M7 KB to bytes (1 KB = 1024 bytes), 0 = no limit', () => {
    expect(effectivePolicy({ ...entry, maxMessageSizeKb: 10 }, settings).maxMessageSize).toBe(10_240);
    expect(effectivePolicy(entry, settings).maxMessageSize).toBe(0);
  });

  it('takes S7 from the server settings', () => {
    expect(effectivePolicy(entry, { ...settings, deleteOversized: true }).deleteOversized).toBe(true);
    expect(effectivePolicy(entry, settings).deleteOversized).toBe(false);
  });
});

describe('shouldDeleteAfterCollect', () => {
  it('is true only in delete mode', () => {
    expect(shouldDeleteAfterCollect({ leaveOnServer: false })).toBe(true);
    expect(shouldDeleteAfterCollect({ leaveOnServer: true })).toBe(false);
  });
});

describe('isOversize', () => {
  it('is strictly larger than the limit, and never with no limit', () => {
    expect(isOversize(1025, { maxMessageSize: 1024 })).toBe(true);
    expect(isOversize(1024, { maxMessageSize: 1024 })).toBe(false);
    expect(isOversize(Number.MAX_SAFE_INTEGER, { maxMessageSize: 0 })).toBe(false);
  });
});
