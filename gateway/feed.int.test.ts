import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadConfig } from '../common/config.ts'
import type { Kline } from '../common/records.ts'
import { topics } from '../common/topics.ts'
import { openTransport, type Transport } from '../engine/index.ts'
import { until } from '../test/until.ts'
import { type FeedEvent, LiveFeed } from './feed.ts'
import { recordedMarket } from './testing.ts'

// The live feed on the real Kafka broker: starts at the end (older records are not pushed),
// then delivers new records of the output topics in order, and follows a topic created after it
// started from that topic's first record.

const prefix = `gw${process.pid}${Date.now().toString(36)}.`
let transport: Transport
let feed: LiveFeed
const events: FeedEvent[] = []
const klines = recordedMarket('BTCUSDT', ['2024-01-09'], 1).klines.slice(0, 20)
const send = (topic: string, ks: Kline[]) =>
  transport.producer().send(
    ks.map((k) => ({
      topic: prefix + topic,
      key: k.symbol,
      value: JSON.stringify(k),
      timestamp: k.openTime,
    })),
  )

beforeAll(async () => {
  transport = await openTransport(loadConfig(process.env, { transport: 'kafka' }), 'gateway-feed-test')
  await transport.createTopics([{ name: prefix + topics.kline1m, partitions: 2 }])
  await send(topics.kline1m, klines.slice(0, 5))
  feed = new LiveFeed({ transport, topicPrefix: prefix, topicCheckMs: 500 })
  feed.on((e) => events.push(e))
  await feed.start()
}, 60_000)
afterAll(async () => {
  await feed?.close()
  await transport?.close()
})

describe('live feed on Kafka', () => {
  it('delivers records written after it started, in order, and none from before', async () => {
    // the group joins in the background: write one record every 500 ms until one arrives
    let last = 0
    await until('the feed to see a record', async () => {
      if (Date.now() - last > 500) {
        last = Date.now()
        await send(topics.kline1m, klines.slice(5, 6))
      }
      return events.length > 0
    })
    await send(topics.kline1m, klines.slice(6))
    const end = klines.at(-1)!.openTime
    await until('the last kline', () => events.some((e) => (e.data as Kline).openTime === end))
    const got = events.map((e) => e.data as Kline)
    expect(got.every((k) => k.openTime >= klines[5]!.openTime)).toBe(true)
    expect(got.filter((k) => k.openTime > klines[5]!.openTime)).toEqual(klines.slice(6))
    expect(events[0]).toMatchObject({ stream: 'kline', symbol: 'BTCUSDT', interval: '1m' })
  })

  it('follows a topic created later from its first record', async () => {
    await transport.createTopics([{ name: prefix + topics.kline1h, partitions: 1 }])
    const hour = { ...klines[0]!, interval: '1h' as const, closeTime: klines[0]!.openTime + 3_599_999 }
    // written before the feed found the topic: read from the topic's first record
    await send(topics.kline1h, [hour])
    await until('the new topic to be followed', () =>
      events.some((e) => e.stream === 'kline' && e.interval === '1h'),
    )
    expect(events.filter((e) => e.stream === 'kline' && e.interval === '1h').map((e) => e.data)).toEqual([
      hour,
    ])
    expect(feed.health().ok).toBe(true)
  })
})
