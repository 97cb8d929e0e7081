import { parseBook, parseKline, parseTrade } from '../../common/records.ts'
import { topics } from '../../common/topics.ts'
import type { ConsumedRecord } from '../../engine/transport.ts'
import { parsePrediction } from '../mongo/plan.ts'
import type { Rejected } from '../runner.ts'
import { supersedes } from '../version.ts'
import type { RedisKeys } from './keys.ts'

// Pure part of the Redis sink: a batch becomes the few writes it needs. Records are validated
// (malformed → rejected), then coalesced: the newest version per minute key, the last value per
// "latest" key, every trade (a sorted set member is its JSON, so a replayed trade is the same
// member). Values are the records' JSON as produced.

export interface MinuteWrite {
  symbol: string
  openTime: number
  json: string
  _v: number
  closed: boolean
}

export interface RedisPlan {
  /** 1m klines, newest version per (symbol, openTime). */
  minutes: Map<string, MinuteWrite>
  /** key → value of latest-wins string keys (order book, ranking, indicators, predictions). */
  latest: Map<string, string>
  /** trades key → [score, member] pairs. */
  trades: Map<string, [number, string][]>
  rejected: Rejected[]
}

const INTERVAL = /^(1m|5m|1h|4h|1d)$/

function parseIndicators(v: unknown): { symbol: string; interval: string } {
  const o = v as Record<string, unknown> | null
  if (
    typeof o !== 'object' ||
    o === null ||
    typeof o.symbol !== 'string' ||
    !/^[A-Z0-9]{2,20}$/.test(o.symbol)
  )
    throw new Error('indicators.symbol: invalid')
  if (typeof o.interval !== 'string' || !INTERVAL.test(o.interval))
    throw new Error('indicators.interval: invalid')
  return { symbol: o.symbol, interval: o.interval }
}

function parseRanking(v: unknown): { gainers: unknown[]; losers: unknown[] } {
  const o = v as Record<string, unknown> | null
  if (typeof o !== 'object' || o === null || !Array.isArray(o.gainers) || !Array.isArray(o.losers))
    throw new Error('ranking: expected gainers and losers arrays')
  return { gainers: o.gainers, losers: o.losers }
}

export const redisTopics = [
  topics.kline1m,
  topics.trades,
  topics.orderbook,
  topics.ranking,
  topics.indicators,
  topics.predictions,
] as const

/** `topicPrefix`: input topics are `<prefix><topic>` (benches, shared brokers). */
export function planBatch(records: ConsumedRecord[], keys: RedisKeys, topicPrefix = ''): RedisPlan {
  const plan: RedisPlan = { minutes: new Map(), latest: new Map(), trades: new Map(), rejected: [] }
  for (const r of records) {
    if (r.tombstone) continue
    try {
      const v: unknown = JSON.parse(r.value)
      switch (r.topic.slice(topicPrefix.length)) {
        case topics.kline1m: {
          const k = parseKline(v)
          const w = { symbol: k.symbol, openTime: k.openTime, json: r.value, _v: r.offset, closed: k.closed }
          const id = `${k.symbol}:${k.openTime}`
          if (supersedes(w, plan.minutes.get(id))) plan.minutes.set(id, w)
          break
        }
        case topics.trades: {
          const t = parseTrade(v)
          const key = keys.trades(t.symbol)
          const list = plan.trades.get(key) ?? []
          list.push([t.time, r.value])
          plan.trades.set(key, list)
          break
        }
        case topics.orderbook:
          plan.latest.set(keys.orderbookLatest(parseBook(v).symbol), r.value)
          break
        case topics.ranking: {
          const { gainers, losers } = parseRanking(v)
          plan.latest.set(keys.rankingGainers(), JSON.stringify(gainers))
          plan.latest.set(keys.rankingLosers(), JSON.stringify(losers))
          plan.latest.set(keys.rankingLatest(), r.value)
          break
        }
        case topics.indicators: {
          const { symbol, interval } = parseIndicators(v)
          plan.latest.set(keys.indicatorsLatest(symbol, interval), r.value)
          break
        }
        case topics.predictions:
          plan.latest.set(keys.prediction(parsePrediction(v).symbol as string), r.value)
          break
      }
    } catch (err) {
      plan.rejected.push({ record: r, error: (err as Error).message })
    }
  }
  return plan
}
