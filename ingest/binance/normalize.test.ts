import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { binanceDataDir } from '../../common/data.ts'
import { normalize } from './normalize.ts'

const lines = readFileSync(join(binanceDataDir(), 'cryptofeed', 'BINANCE.ws.1.0'), 'utf8')
  .split('\n')
  .slice(1)
  .filter(Boolean)
  .map((l) => l.slice(l.indexOf(': ') + 2))

describe('normalize', () => {
  const known = new Set(['nknusdt@kline_1m', 'nknusdt@aggTrade', 'nknusdt@depth@100ms', 'btcusdt@trade'])

  it('maps the recorded Binance frames to records, decimals unchanged', () => {
    const kinds = new Map<string, number>()
    for (const raw of lines) {
      const stream = JSON.parse(raw).stream as string
      if (!known.has(stream)) continue
      const n = normalize(raw, known)
      expect(n.kind, raw.slice(0, 200)).not.toBe('error')
      kinds.set(n.kind, (kinds.get(n.kind) ?? 0) + 1)
      if (n.kind === 'kline')
        expect(n.record).toMatchObject({ symbol: 'NKNUSDT', interval: '1m', closed: false })
      if (n.kind === 'trade') expect(typeof n.record.price).toBe('string')
    }
    expect(Object.fromEntries(kinds)).toEqual({ depth: 150, kline: 1, trade: 1 })
  })

  it('maps a @trade frame', () => {
    const raw = JSON.stringify({
      stream: 'btcusdt@trade',
      data: {
        e: 'trade',
        E: 2,
        s: 'BTCUSDT',
        t: 12345,
        p: '42283.58000000',
        q: '0.00100000',
        T: 1,
        m: true,
        M: true,
      },
    })
    expect(normalize(raw, known)).toMatchObject({
      kind: 'trade',
      record: {
        symbol: 'BTCUSDT',
        id: 12345,
        price: '42283.58000000',
        qty: '0.00100000',
        time: 1,
        buyerIsMaker: true,
      },
    })
  })

  it.each([
    ['not_json', '{"stream":"btcusdt@trade","data":{'],
    ['bad_envelope', '[1,2]'],
    ['bad_envelope', '{"stream":5,"data":{}}'],
    ['unknown_stream', '{"stream":"evil@x","data":{}}'],
    [
      'invalid',
      '{"stream":"btcusdt@trade","data":{"e":"trade","s":"BTCUSDT","t":"1","p":"1","q":"1","T":1,"m":true}}',
    ],
    [
      'invalid',
      '{"stream":"btcusdt@trade","data":{"e":"trade","s":"BTCUSDT","t":1,"p":1.5,"q":"1","T":1,"m":true}}',
    ],
    ['invalid', '{"stream":"nknusdt@depth@100ms","data":{"s":"NKNUSDT","U":5,"u":4,"E":1,"b":[],"a":[]}}'],
    [
      'invalid',
      '{"stream":"nknusdt@depth@100ms","data":{"s":"NKNUSDT","U":1,"u":4,"E":1,"b":[["1e5","1"]],"a":[]}}',
    ],
    ['invalid', '{"stream":"nknusdt@kline_1m","data":{"k":{"t":1}}}'],
    ['too_large', `{"stream":"btcusdt@trade","data":{"p":"${'9'.repeat(1_100_000)}"}}`],
  ])('dead-letters %s: %#', (reason, raw) => {
    const n = normalize(raw, known)
    expect(n).toMatchObject({ kind: 'error', reason })
  })
})
