import { describe, expect, it } from 'vitest'
import { murmur2, partitionFor } from './partitioner.ts'

const enc = (s: string) => new TextEncoder().encode(s)

describe('murmur2', () => {
  // Vectors from Kafka's UtilsTest.testMurmur2.
  it.each([
    ['21', -973932308],
    ['foobar', -790332482],
    ['a-little-bit-long-string', -985981536],
    ['a-little-bit-longer-string', -1486304829],
    ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
    ['abc', 479470107],
  ])('matches Kafka for %s', (s, h) => {
    expect(murmur2(enc(s))).toBe(h)
  })

  it('partitions like the default partitioner (positive hash mod n)', () => {
    expect(partitionFor('foobar', 7)).toBe((-790332482 & 0x7fffffff) % 7)
    for (const k of ['BTCUSDT', 'ETHUSDT', 'x']) {
      const p = partitionFor(k, 12)
      expect(p).toBeGreaterThanOrEqual(0)
      expect(p).toBeLessThan(12)
      expect(partitionFor(k, 12)).toBe(p)
    }
  })
})
