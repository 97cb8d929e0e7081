// Where a Kafka run spends its wall time: each broker round trip this module makes (fetch,
// produce, offset commit, heartbeat, transaction steps, …) adds its duration, and the records and
// bytes it carried, to one phase. Cheap (two clock reads per request, not per record), always on;
// benches print `summary()` per commit cycle. Phases overlap when requests run concurrently, so
// their sum can exceed the wall time.

export interface PhaseStats {
  calls: number
  ms: number
  records: number
  bytes: number
}

export class KafkaTrace {
  readonly phases = new Map<string, PhaseStats>()
  /** Set to [] to also keep every call as [phase, start, end] (performance.now() ms): a timeline. */
  spans: [string, number, number][] | undefined

  add(phase: string, ms: number, records = 0, bytes = 0): void {
    if (this.spans) {
      const end = performance.now()
      this.spans.push([phase, end - ms, end])
    }
    let s = this.phases.get(phase)
    if (!s) {
      s = { calls: 0, ms: 0, records: 0, bytes: 0 }
      this.phases.set(phase, s)
    }
    s.calls++
    s.ms += ms
    s.records += records
    s.bytes += bytes
  }

  /** Runs `op` as one call of `phase`; `count` gives the records and bytes it carried from its result. */
  async time<T>(phase: string, op: () => Promise<T>, count?: (r: T) => { records: number; bytes?: number }) {
    const t0 = performance.now()
    let result: T | undefined
    try {
      result = await op()
      return result
    } finally {
      const c = result !== undefined && count ? count(result) : undefined
      this.add(phase, performance.now() - t0, c?.records ?? 0, c?.bytes ?? 0)
    }
  }

  reset(): void {
    this.phases.clear()
  }

  /**
   * One line per phase, busiest first: calls, total ms and, per commit cycle (`cycles`), ms,
   * calls and records.
   */
  summary(cycles: number): string[] {
    const n = Math.max(1, cycles)
    const r = (x: number) => (x >= 100 ? Math.round(x) : Math.round(x * 10) / 10)
    return [...this.phases]
      .sort((a, b) => b[1].ms - a[1].ms)
      .map(
        ([phase, s]) =>
          `${phase}: ${s.calls} calls, ${Math.round(s.ms)} ms (${r(s.ms / s.calls)} ms each); per cycle ${r(s.ms / n)} ms, ${r(s.calls / n)} calls` +
          (s.records ? `, ${r(s.records / n)} records` : '') +
          (s.bytes ? `, ${r(s.bytes / n / 1024)} KiB` : ''),
      )
  }
}
