import { fdatasync } from 'node:fs'
import { afterEach, describe, expect, it } from 'vitest'
import type { Kline } from '../common/records.ts'
import { topics } from '../common/topics.ts'
import type { LogIO } from '../engine/embedded/io.ts'
import { EmbeddedTransport } from '../engine/embedded/transport.ts'
import { tempDirs } from '../test/tmpdirs.ts'
import { type FeedEvent, LiveFeed } from './feed.ts'

// The live feed on the embedded log pushes a record as soon as it is appended: a client's update
// does not wait for the log's fsync (held here until the test lets it go), which on a busy disk
// took the p99 of the platform's end-to-end latency (bench/platform.ts --stages).

const tmp = tempDirs('cs-feed-')

const kline: Kline = {
  symbol: 'BTCUSDT',
  interval: '1m',
  openTime: 1_704_067_200_000,
  closeTime: 1_704_067_259_999,
  open: '42283.58000000',
  high: '42298.62000000',
  low: '42261.02000000',
  close: '42298.61000000',
  volume: '35.92724000',
  quoteVolume: '1519520.11626950',
  trades: 1327,
  takerBuyBase: '21.66694000',
  takerBuyQuote: '916351.74025990',
  closed: false,
}

describe('LiveFeed on the embedded log', () => {
  let transport: EmbeddedTransport | undefined
  let feed: LiveFeed | undefined
  afterEach(async () => {
    await feed?.close()
    await transport?.close()
  })

  it('delivers a 1m kline before its fsync', async () => {
    const waiting: (() => void)[] = []
    const io: Partial<LogIO> = {
      fdatasync: (fd) =>
        new Promise((resolve, reject) =>
          waiting.push(() => fdatasync(fd, (err) => (err ? reject(err) : resolve()))),
        ),
    }
    transport = new EmbeddedTransport({ dir: tmp(), io })
    await transport.createTopics([{ name: topics.kline1m, partitions: 1 }])
    feed = new LiveFeed({ transport })
    const got = new Promise<FeedEvent>((resolve) => feed!.on(resolve))
    await feed.start()

    const sent = transport
      .producer()
      .send([
        { topic: topics.kline1m, key: kline.symbol, value: JSON.stringify(kline), timestamp: kline.openTime },
      ])
    const first = await Promise.race([got, sent.then(() => 'durable first' as const)])
    expect(first).toEqual({ stream: 'kline', symbol: 'BTCUSDT', interval: '1m', data: kline })
    expect(await transport.endOffset({ topic: topics.kline1m, partition: 0 })).toBe(0) // not durable yet

    let durable = false
    void sent.then(() => {
      durable = true
    })
    while (!durable) {
      for (const f of waiting.splice(0)) f()
      await new Promise((r) => setTimeout(r, 5))
    }
  })
})
