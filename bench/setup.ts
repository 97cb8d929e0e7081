import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PerformanceObserver } from 'node:perf_hooks'
import { type Config, loadConfig } from '../common/config.ts'
import { setLogLevel } from '../common/log.ts'
import type { KafkaStreams } from '../engine/index.ts'
import { openTransport } from '../engine/open.ts'
import type { Transport } from '../engine/transport.ts'

/** What every bench needs: a run id (unique topic names on a shared broker), a temp dir, the transport. */
export interface Bench {
  run: string
  dir: string
  config: Config
  transport: Transport
  out(line: string): void
  /** Closes the transport and removes the temp dir. */
  done(): Promise<void>
}

export async function openBench(transportArg: string | undefined, prefix: string): Promise<Bench> {
  setLogLevel('warn')
  const kind = transportArg === 'kafka' ? 'kafka' : 'embedded'
  const run = `bench${Date.now().toString(36)}`
  const dir = mkdtempSync(join(tmpdir(), prefix))
  const config = loadConfig(process.env, { transport: kind, dataDir: dir })
  const transport = await openTransport(config, run)
  return {
    run,
    dir,
    config,
    transport,
    out: (line) => process.stdout.write(`${line}\n`),
    async done() {
      await transport.close()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

/** The middle element of `xs` by `by` (the upper one of an even count). */
export const median = <T>(xs: readonly T[], by: (x: T) => number): T =>
  [...xs].sort((a, b) => by(a) - by(b))[xs.length >> 1]!

/** `n` events in `ms` as a rate per second, e.g. "12,345". */
export const perSecond = (n: number, ms: number): string =>
  Math.round((n / ms) * 1000).toLocaleString('en-US')

/** Writes klines to `topic` keyed by symbol, with their open time, `batch` per send. */
export async function produceKlines(
  transport: Transport,
  topic: string,
  klines: { symbol: string; openTime: number }[],
  batch: number,
): Promise<void> {
  const producer = transport.producer()
  for (let i = 0; i < klines.length; i += batch)
    await producer.send(
      klines.slice(i, i + batch).map((k) => ({
        topic,
        key: k.symbol,
        value: JSON.stringify(k),
        timestamp: k.openTime,
      })),
    )
  await producer.close()
}

/**
 * Starts `streams` and waits until it has processed its whole input: wall and CPU time (ms) — the
 * process's, and the stream thread's own (steadier on a shared machine: GC helpers and the disk
 * threads are not in it) — and the time the thread stood in GC pauses.
 */
export async function runToEnd(
  streams: KafkaStreams,
): Promise<{ ms: number; cpuMs: number; mainCpuMs: number; gcMs: number }> {
  let gcMs = 0
  const gc = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) gcMs += e.duration
  })
  gc.observe({ entryTypes: ['gc'] })
  const t0 = performance.now()
  const cpu0 = process.cpuUsage()
  const main0 = process.threadCpuUsage()
  await streams.start()
  await streams.flush(600_000)
  const ms = performance.now() - t0
  const cpu = process.cpuUsage(cpu0)
  const main = process.threadCpuUsage(main0)
  gc.disconnect()
  return { ms, cpuMs: (cpu.user + cpu.system) / 1000, mainCpuMs: (main.user + main.system) / 1000, gcMs }
}

/** Set by bench/all.ts: each figure is also printed as one machine-readable line. */
export const FIGURE_ENV = 'CS_BENCH_FIGURES'
export const FIGURE_MARK = '@figure '

/**
 * Reports one benchmark figure (a rate, a latency, a size). A bench prints its own lines for
 * people; under the table runner (`npm run bench`) this adds `@figure {"name","value","unit"}`
 * so the runner collects every bench's figures into one table.
 */
export function figure(name: string, value: number, unit: string): void {
  if (!process.env[FIGURE_ENV]) return
  process.stdout.write(`${FIGURE_MARK}${JSON.stringify({ name, value, unit })}\n`)
}

/** Wall time spent awaiting each transport call (poll, send, commit, …): where a run waits. */
export interface TransportTrace {
  transport: Transport
  waits: Map<string, number>
}

/** Wraps `t` so every awaited consumer/producer call adds its wall time to `waits` (benches only). */
export function traceTransport(t: Transport): TransportTrace {
  const waits = new Map<string, number>()
  const wrap = <T extends object>(o: T, prefix: string): T =>
    new Proxy(o, {
      get(target, p, recv) {
        const v = Reflect.get(target, p, recv)
        if (typeof v !== 'function') return v
        return (...a: unknown[]) => {
          const r = v.apply(target, a)
          if (!(r instanceof Promise)) return r
          const t0 = performance.now()
          const name = `${prefix}.${String(p)}`
          return r.finally(() => waits.set(name, (waits.get(name) ?? 0) + performance.now() - t0))
        }
      },
    })
  const transport = new Proxy(t, {
    get(target, p, recv) {
      const v = Reflect.get(target, p, recv)
      if (p === 'producer') return () => wrap(target.producer(), 'producer')
      if (p === 'consumer')
        return async (...a: Parameters<Transport['consumer']>) =>
          wrap(await target.consumer(...a), 'consumer')
      return typeof v === 'function' ? v.bind(target) : v
    },
  })
  return { transport, waits }
}
