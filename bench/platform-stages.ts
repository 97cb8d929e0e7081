import fs from 'node:fs'
import { syncBuiltinESMExports } from 'node:module'
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks'
import { WebSocket } from 'ws'
import { defaultIO } from '../engine/embedded/io.ts'
import { PartitionLog } from '../engine/embedded/partition.ts'
import { LiveFeed } from '../gateway/feed.ts'
import { Outbox } from '../gateway/outbox.ts'

// Where the platform bench's latency goes (`node bench/platform.ts --stages`): each 1m kline is
// stamped at every stage of its path, by wrapping the functions that carry it (bench only):
//   sent      replay server's WebSocket send
//   received  the ingest client's WebSocket 'message' event
//   appended  written to crypto_kline_1m (PartitionLog.append; not durable yet)
//   read      read by the gateway's feed consumer (durable: after the group-commit fdatasync)
//   fed       handed to the gateway's hub (parsed)
//   emitted   handed to Socket.IO by the client's outbox
// and the client's `update` (delivered). Beside it: event-loop delay, GC pauses, the fdatasync
// durations of the embedded log (libuv thread pool) and the gaps in a 10 ms timer (long tasks).

const STAGES = ['sent', 'received', 'appended', 'read', 'fed', 'emitted', 'delivered'] as const
type Stage = (typeof STAGES)[number]
const now = () => performance.timeOrigin + performance.now()

interface KlineLike {
  symbol?: string
  s?: string
  openTime?: number
  trades?: number
  close?: string
  volume?: string
}
const keyOfRecord = (k: KlineLike) => `${k.symbol}|${k.openTime}|${k.trades}|${k.close}|${k.volume}`
const keyOfFrame = (raw: string) => {
  const m = JSON.parse(raw) as { data: { s: string; k: { t: number; n: number; c: string; v: string } } }
  const k = m.data.k
  return `${m.data.s}|${k.t}|${k.n}|${k.c}|${k.v}`
}

export interface StageTracer {
  /** The client's receive of an update (the last stage). */
  delivered(k: KlineLike): void
  /** Forget stamps older than this (bounded memory). */
  prune(before: number): void
  report(fromTime: number): string
  stop(): void
}

export function traceStages(warmupMs = 0): StageTracer {
  const stamps = new Map<string, Partial<Record<Stage, number>>>()
  const done: Record<Stage, number>[] = []
  const mark = (key: string, stage: Stage, at = now()) => {
    const s = stamps.get(key) ?? {}
    if (s[stage] === undefined) s[stage] = at
    stamps.set(key, s)
    return s
  }

  const restore: (() => void)[] = []
  const wrap = <T extends object, K extends keyof T>(obj: T, name: K, make: (orig: T[K]) => T[K]) => {
    const orig = obj[name]
    obj[name] = make(orig)
    restore.push(() => {
      obj[name] = orig
    })
  }

  // sent: the replay server's frames (server-side sockets are ws WebSockets too)
  wrap(
    WebSocket.prototype,
    'send',
    (orig) =>
      function (this: WebSocket, data: unknown, ...rest: unknown[]) {
        if (typeof data === 'string' && data.includes('@kline_1m')) mark(keyOfFrame(data), 'sent')
        return (orig as (...a: unknown[]) => void).call(this, data, ...rest)
      } as never,
  )
  // received: the ingest client's 'message' event (ws emits it per frame)
  wrap(
    WebSocket.prototype,
    'emit',
    (orig) =>
      function (this: WebSocket, event: string | symbol, ...args: unknown[]) {
        if (event === 'message') {
          const raw = String(args[0])
          if (raw.includes('@kline_1m')) mark(keyOfFrame(raw), 'received')
        }
        return (orig as (...a: unknown[]) => boolean).call(this, event, ...args)
      } as never,
  )
  // appended / read: crypto_kline_1m records in the embedded log
  const p = PartitionLog.prototype as unknown as {
    append(records: { value: string | null }[]): number
    read(from: number, max: number, unsynced?: boolean): { value: string | null }[]
  }
  const topicOf = (log: unknown) => (log as { topic: string }).topic
  wrap(
    p,
    'append',
    (orig) =>
      function (this: PartitionLog, records: { value: string | null }[]) {
        const out = orig.call(this, records)
        if (topicOf(this).endsWith('crypto_kline_1m')) {
          const at = now()
          for (const r of records) if (r.value) mark(keyOfRecord(JSON.parse(r.value)), 'appended', at)
        }
        return out
      },
  )
  wrap(
    p,
    'read',
    (orig) =>
      function (this: PartitionLog, from: number, max: number, unsynced?: boolean) {
        const out = orig.call(this, from, max, unsynced)
        if (topicOf(this).endsWith('crypto_kline_1m') && out.length > 0) {
          const at = now()
          for (const r of out) {
            if (!r.value) continue
            const k = keyOfRecord(JSON.parse(r.value))
            // the engine reads the topic too: only the gateway's first read after the append counts
            const s = stamps.get(k)
            if (s?.appended !== undefined) mark(k, 'read', at)
          }
        }
        return out
      },
  )
  // fed: the feed hands a parsed event to the hub
  const feed = LiveFeed.prototype as unknown as {
    deliver(l: unknown, e: { stream: string; data: KlineLike }): void
  }
  wrap(
    feed,
    'deliver',
    (orig) =>
      function (this: LiveFeed, l: unknown, e: { stream: string; data: KlineLike }) {
        if (e.stream === 'kline') mark(keyOfRecord(e.data), 'fed')
        return orig.call(this, l, e)
      },
  )
  // emitted: the client's outbox hands the update to Socket.IO (pre-encoded, not via emit)
  const outbox = Outbox.prototype as unknown as { out(event: string, stream: string, payload: unknown): void }
  wrap(
    outbox,
    'out',
    (orig) =>
      function (this: Outbox, event: string, stream: string, payload: unknown) {
        const m = payload as { data?: KlineLike }
        if (event === 'update' && stream === 'kline' && m?.data) mark(keyOfRecord(m.data), 'emitted')
        return orig.call(this, event, stream, payload)
      },
  )

  // the embedded log's fdatasync: duration including the wait for a thread-pool thread
  const syncs: number[] = []
  let inflight = 0
  let maxInflight = 0
  wrap(defaultIO, 'fdatasync', (orig) => (fd: number) => {
    const t = now()
    inflight++
    maxInflight = Math.max(maxInflight, inflight)
    return orig(fd).finally(() => {
      inflight--
      syncs.push(now() - t)
    })
  })

  // synchronous fsyncs on the event loop (group files, directory syncs, segment rolls)
  const blocking: { at: number; ms: number }[] = []
  wrap(fs, 'fsyncSync', (orig) => (fd: number) => {
    const t = now()
    try {
      orig(fd)
    } finally {
      blocking.push({ at: t, ms: now() - t })
    }
  })
  syncBuiltinESMExports()
  restore.push(() => syncBuiltinESMExports())

  // event loop: delay histogram, GC pauses, gaps of a 10 ms timer
  const loop = monitorEventLoopDelay({ resolution: 5 })
  loop.enable()
  const resetLoop = setTimeout(() => loop.reset(), warmupMs) // start-up (training, backfill) is not measured
  const gcs: { at: number; ms: number; kind: number }[] = []
  const gcObs = new PerformanceObserver((list) => {
    for (const e of list.getEntries())
      gcs.push({
        at: performance.timeOrigin + e.startTime,
        ms: e.duration,
        kind: (e as unknown as { detail: { kind: number } }).detail.kind,
      })
  })
  gcObs.observe({ entryTypes: ['gc'] })
  // a gap: the timer ran > 20 ms late; cpuMs = the event-loop thread's own CPU time in it (the
  // rest: waiting for a core on a loaded machine, or for GC helper threads)
  // and waitMs = its time runnable but waiting for a core (Linux schedstat; the remainder: blocked
  // in a synchronous system call, or idle waiting for GC helper threads)
  const gaps: { at: number; ms: number; cpuMs: number; waitMs: number }[] = []
  const cpu = () => {
    const u = process.threadCpuUsage()
    return (u.user + u.system) / 1000
  }
  const stat = `/proc/self/task/${process.pid}/schedstat`
  const runWait = () => {
    try {
      return Number(fs.readFileSync(stat, 'utf8').split(' ')[1]) / 1e6
    } catch {
      return Number.NaN
    }
  }
  let last = now()
  let lastCpu = cpu()
  let lastWait = runWait()
  const ticker = setInterval(() => {
    const t = now()
    const c = cpu()
    const w = runWait()
    if (t - last > 30) gaps.push({ at: last, ms: t - last - 10, cpuMs: c - lastCpu, waitMs: w - lastWait })
    last = t
    lastCpu = c
    lastWait = w
  }, 10)

  return {
    delivered(k) {
      const s = mark(keyOfRecord(k), 'delivered')
      if (STAGES.every((st) => s[st] !== undefined)) done.push(s as Record<Stage, number>)
    },
    prune(before) {
      for (const [k, s] of stamps) if ((s.sent ?? s.received ?? 0) < before) stamps.delete(k)
    },
    stop() {
      clearInterval(ticker)
      clearTimeout(resetLoop)
      loop.disable()
      gcObs.disconnect()
      for (const r of restore.reverse()) r()
    },
    report(from) {
      const rows = done.filter((s) => s.sent >= from)
      const pct = (xs: number[], q: number) => {
        const a = [...xs].sort((x, y) => x - y)
        return a[Math.min(a.length - 1, Math.floor(q * a.length))] ?? Number.NaN
      }
      const f = (x: number) => x.toFixed(1).padStart(7)
      const lines: string[] = []
      const total = rows.map((s) => s.delivered - s.sent)
      const p99 = pct(total, 0.99)
      const slow = rows.filter((s) => s.delivered - s.sent >= p99)
      lines.push(
        `stages of ${rows.length} fully traced 1m updates (ms): p50 p90 p99 max | mean over the slowest 1% (total ≥ ${p99.toFixed(1)} ms)`,
      )
      for (let i = 1; i < STAGES.length; i++) {
        const a = STAGES[i - 1]!
        const b = STAGES[i]!
        const d = rows.map((s) => s[b] - s[a])
        const sd = slow.map((s) => s[b] - s[a])
        const mean = sd.reduce((x, y) => x + y, 0) / Math.max(1, sd.length)
        lines.push(
          `  ${`${a} → ${b}`.padEnd(22)} ${f(pct(d, 0.5))} ${f(pct(d, 0.9))} ${f(pct(d, 0.99))} ${f(pct(d, 1))} | ${f(mean)}`,
        )
      }
      lines.push(
        `  ${'total'.padEnd(22)} ${f(pct(total, 0.5))} ${f(pct(total, 0.9))} ${f(p99)} ${f(pct(total, 1))}`,
      )
      const ms = (ns: number) => ns / 1e6
      lines.push(
        `event-loop delay after warm-up (5 ms resolution): p50 ${ms(loop.percentile(50)).toFixed(1)} ms, p99 ${ms(loop.percentile(99)).toFixed(1)} ms, max ${ms(loop.max).toFixed(1)} ms`,
      )
      const g = gcs.filter((x) => x.at >= from)
      const gms = g.map((x) => x.ms)
      lines.push(
        `GC: ${g.length} pauses, ${gms.reduce((x, y) => x + y, 0).toFixed(0)} ms in all, p99 ${pct(gms, 0.99).toFixed(1)} ms, max ${pct(gms, 1).toFixed(1)} ms (kinds of those > 20 ms: ${[
          ...new Set(g.filter((x) => x.ms > 20).map((x) => x.kind)),
        ].join(',')})`,
      )
      lines.push(
        `fdatasync: ${syncs.length}, p50 ${pct(syncs, 0.5).toFixed(1)} ms, p99 ${pct(syncs, 0.99).toFixed(1)} ms, max ${pct(syncs, 1).toFixed(1)} ms, up to ${maxInflight} at once`,
      )
      const bl = blocking.filter((x) => x.at >= from).map((x) => x.ms)
      lines.push(
        `fsyncSync on the event loop: ${bl.length}, ${bl.reduce((x, y) => x + y, 0).toFixed(0)} ms in all, p50 ${pct(bl, 0.5).toFixed(1)} ms, p99 ${pct(bl, 0.99).toFixed(1)} ms, max ${pct(bl, 1).toFixed(1)} ms`,
      )
      const gp = gaps.filter((x) => x.at >= from)
      lines.push(
        `10 ms timer late by > 20 ms: ${gp.length} times, p50 ${pct(
          gp.map((x) => x.ms),
          0.5,
        ).toFixed(1)} ms, max ${pct(
          gp.map((x) => x.ms),
          1,
        ).toFixed(1)} ms`,
      )
      const gw = gp.reduce((x, y) => x + y.ms, 0)
      const gc = gp.reduce((x, y) => x + y.cpuMs, 0)
      const gwait = gp.reduce((x, y) => x + y.waitMs, 0)
      const share = (x: number) => `${((100 * x) / Math.max(1, gw + 10 * gp.length)).toFixed(0)} %`
      lines.push(
        `  in those gaps (${(gw + 10 * gp.length).toFixed(0)} ms) the event-loop thread ran ${share(gc)}, waited for a core ${share(gwait)}, the rest blocked or waiting on GC threads; gaps where it ran ≥ 80 %: ${gp.filter((x) => x.cpuMs >= 0.8 * (x.ms + 10)).length}`,
      )
      // the slowest 1%: how many had a GC pause or a late timer (a long task) inside their path
      const within = (xs: { at: number; ms: number }[], s: Record<Stage, number>) =>
        xs.some((x) => x.at + x.ms >= s.sent && x.at <= s.delivered)
      const bigGc = g.filter((x) => x.ms > 10)
      lines.push(
        `slowest 1%: ${slow.filter((s) => within(bigGc, s)).length}/${slow.length} had a GC pause > 10 ms in their path, ${
          slow.filter((s) =>
            within(
              blocking.filter((x) => x.ms > 10),
              s,
            ),
          ).length
        }/${slow.length} an fsyncSync > 10 ms, ${slow.filter((s) => within(gp, s)).length}/${slow.length} a late timer`,
      )
      const kinds = new Map<number, number[]>()
      for (const x of g) kinds.set(x.kind, [...(kinds.get(x.kind) ?? []), x.ms])
      lines.push(
        `GC by kind (1 scavenge, 2 minor mark-sweep, 4 mark-sweep-compact, 8 incremental, 16 weak callbacks): ${[
          ...kinds,
        ]
          .map(([k, xs]) => `${k}: ${xs.length}× max ${pct(xs, 1).toFixed(0)} ms`)
          .join(', ')}`,
      )
      return lines.join('\n')
    },
  }
}
