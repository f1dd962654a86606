/**
 * A small seeded pseudo-random generator (xoshiro128**, state spread by splitmix32), so every
 * benchmark run generates exactly the same messages and results can be compared across runs
 * and machines. Not for anything secret.
 */

/** A deterministic source of random numbers. */
export interface Prng {
  /** A float in [0, 1). */
  next(): number;
  /** An integer in [min, max] (both inclusive). */
  int(min: number, max: number): number;
  /** True with probability `p`. */
  chance(p: number): boolean;
}

/**
 * Creates a generator from a 32-bit seed. The same seed always yields the same sequence.
 *
 * @example
 * ```ts
 * const rng = createPrng(42);
 * const size = rng.int(2_000, 20_000);
 * ```
 */
export function createPrng(seed: number): Prng {
  // Four 32-bit words of state, spread from the seed by splitmix32 so that nearby seeds
  // (1, 2, 3…) do not start with similar sequences.
  let s = seed >>> 0;
  const splitmix = () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
  let a = splitmix();
  let b = splitmix();
  let c = splitmix();
  let d = splitmix() | 1;
  // xoshiro128** — fast, good enough statistically for choosing sizes and bytes.
  const next32 = () => {
    const result = Math.imul(rotl(Math.imul(b, 5), 7), 9) >>> 0;
    const t = b << 9;
    c ^= a;
    d ^= b;
    b ^= c;
    a ^= d;
    c ^= t;
    d = rotl(d, 11);
    return result;
  };
  return {
    next: () => next32() / 0x1_0000_0000,
    int: (min, max) => min + Math.floor((next32() / 0x1_0000_0000) * (max - min + 1)),
    chance: (p) => next32() / 0x1_0000_0000 < p,
  };
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}
