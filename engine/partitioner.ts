// Kafka's default partitioner, bit for bit: partition = toPositive(murmur2(utf8(key))) % n.
// The embedded log and the Kafka transport both use it, so a key lands on the same partition
// number on either transport and state built on one lines up with the other.

const encoder = new TextEncoder()

/** Kafka's murmur2 (org.apache.kafka.common.utils.Utils.murmur2), as a signed 32-bit int. */
export function murmur2(data: Uint8Array): number {
  const length = data.length
  const m = 0x5bd1e995
  const r = 24
  let h = (0x9747b28c ^ length) | 0
  const length4 = length >>> 2
  for (let i = 0; i < length4; i++) {
    const i4 = i * 4
    let k = data[i4]! | (data[i4 + 1]! << 8) | (data[i4 + 2]! << 16) | (data[i4 + 3]! << 24)
    k = Math.imul(k, m)
    k ^= k >>> r
    k = Math.imul(k, m)
    h = Math.imul(h, m)
    h ^= k
  }
  const tail = length & ~3
  switch (length % 4) {
    // biome-ignore lint/suspicious/noFallthroughSwitchClause: murmur2 falls through on purpose
    case 3:
      h ^= data[tail + 2]! << 16
    // biome-ignore lint/suspicious/noFallthroughSwitchClause: murmur2 falls through on purpose
    case 2:
      h ^= data[tail + 1]! << 8
    case 1:
      h ^= data[tail]!
      h = Math.imul(h, m)
  }
  h ^= h >>> 13
  h = Math.imul(h, m)
  h ^= h >>> 15
  return h | 0
}

// Keys repeat a lot (symbols, store keys): remember recent answers.
const cache = new Map<string, number>()
const CACHE_MAX = 50_000

/** The partition Kafka's default partitioner picks for a non-null key. */
export function partitionFor(key: string, partitions: number): number {
  let h = cache.get(key)
  if (h === undefined) {
    h = murmur2(encoder.encode(key)) & 0x7fffffff
    if (cache.size >= CACHE_MAX) cache.clear()
    cache.set(key, h)
  }
  return h % partitions
}
