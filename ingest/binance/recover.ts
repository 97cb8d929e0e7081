import type { Transport } from '../../engine/transport.ts'

// At start, the last closed 1m openTime per symbol comes from the tail of crypto_kline_1m, so a
// restart neither duplicates nor skips a closed kline. Reads backwards in growing windows until
// every symbol is found or the topic start is reached.
export async function recoverLastClosed(
  transport: Transport,
  topic: string,
  symbols: ReadonlySet<string>,
): Promise<Map<string, number>> {
  const found = new Map<string, number>()
  const n = await transport.partitions(topic)
  for (let p = 0; p < (n ?? 0); p++) {
    const tp = { topic, partition: p }
    let to = await transport.endOffset(tp)
    let window = 4096
    while (to > 0) {
      const from = Math.max(0, to - window)
      scan: for await (const batch of transport.read(tp, from)) {
        for (const r of batch) {
          if (r.offset >= to) break scan
          if (r.tombstone || !symbols.has(r.key)) continue
          const k = JSON.parse(r.value) as { closed?: boolean; openTime?: number }
          if (k.closed && typeof k.openTime === 'number' && k.openTime > (found.get(r.key) ?? -1)) {
            found.set(r.key, k.openTime)
          }
        }
      }
      // Symbols hash to partitions: a symbol of another partition makes this one read to its start.
      if ([...symbols].every((s) => found.has(s))) break
      to = from
      window *= 4
    }
  }
  return found
}
