// Seeded randomness. Every random choice is keyed by what it is about (seed, symbol, day or
// minute), so REST history and the WS stream compute the same values independently and runs
// are reproducible.

export type Rng = () => number

/** FNV-1a over the key parts: a 32-bit seed for mulberry32. */
export function hashKey(...parts: (string | number)[]): number {
  let h = 0x811c9dc5
  for (const p of parts) {
    const s = `${p}|`
    for (let i = 0; i < s.length; i++) {
      h ^= s.charCodeAt(i)
      h = Math.imul(h, 0x01000193)
    }
  }
  return h >>> 0
}

export function rng(...parts: (string | number)[]): Rng {
  let a = hashKey(...parts)
  return () => {
    a = (a + 0x6d2b79f5) | 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** Standard normal (Box-Muller). */
export function gauss(r: Rng): number {
  const u = Math.max(r(), 1e-12)
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * r())
}

export function int(r: Rng, lo: number, hi: number): number {
  return lo + Math.floor(r() * (hi - lo + 1))
}
