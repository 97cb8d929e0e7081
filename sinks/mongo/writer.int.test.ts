import { MongoClient } from 'mongodb'
import { afterAll, describe, expect, it } from 'vitest'
import { loadConfig } from '../../common/config.ts'
import type { Kline } from '../../common/records.ts'
import { topics } from '../../common/topics.ts'
import type { ConsumedRecord } from '../../engine/transport.ts'
import { dropMongo } from '../dump.fixture.ts'
import { MongoWriter } from './writer.ts'

// One batch mixing a stale version (older than stored), an open update of a finalized candle, a
// newer version and a new document, on the real MongoDB-wire server: every document ends at
// its newest allowed version. (A guarded upsert would insert for the stale ones and hit the
// unique index; FerretDB then stops the unordered bulk write there and drops the rest.)

const MONGO_URL = loadConfig().mongoUrl
const DB = `sinks_writer_${process.pid}_${Date.now()}`
afterAll(() => dropMongo(MONGO_URL, DB))

const candle = (openTime: number, close: string, closed: boolean): Kline => ({
  symbol: 'BTCUSDT',
  interval: '1h',
  openTime,
  closeTime: openTime + 3_599_999,
  open: '1.0',
  high: '9.0',
  low: '0.5',
  close,
  volume: '1.0',
  quoteVolume: '1.0',
  trades: 1,
  takerBuyBase: '0',
  takerBuyQuote: '0',
  closed,
})
const rec = (offset: number, k: Kline): ConsumedRecord => ({
  topic: topics.kline1h,
  partition: 0,
  offset,
  key: k.symbol,
  value: JSON.stringify(k),
  timestamp: 0,
})
const H = 3_600_000

describe('MongoWriter', () => {
  it('applies the newer versions of a batch around stale ones', async () => {
    const w = new MongoWriter({ url: MONGO_URL, db: DB, topics: [topics.kline1h] })
    await w.write([
      rec(10, candle(0, '1.1', true)),
      rec(11, candle(H, '2.1', false)),
      rec(12, candle(2 * H, '3.1', false)),
    ])
    await w.write([
      rec(5, candle(0, '1.0', true)), // older offset than stored: stale
      rec(20, candle(H, '2.0', false)), // newer open update
      rec(21, candle(0, '1.9', false)), // open update of a final: ignored
      rec(22, candle(2 * H, '3.2', true)), // the final
      rec(23, candle(3 * H, '4.0', false)), // new
    ])
    const client = new MongoClient(MONGO_URL)
    const docs = await client.db(DB).collection('1h_kline').find({}).sort({ openTime: 1 }).toArray()
    await client.close()
    await w.close()
    expect(docs.map((d) => [d._id, d.close, d.closed, d._v])).toEqual([
      ['BTCUSDT:0', '1.1', true, 10],
      [`BTCUSDT:${H}`, '2.0', false, 20],
      [`BTCUSDT:${2 * H}`, '3.2', true, 22],
      [`BTCUSDT:${3 * H}`, '4.0', false, 23],
    ])
  })
})
