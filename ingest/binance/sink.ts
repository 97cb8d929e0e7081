import type { ProducedRecord, Producer } from '../../engine/transport.ts'
import { recordsOut } from './metrics.ts'

// Batches records into few Producer.send() calls and tells each caller when its records are
// durable. Order is kept: by default one send is in flight at a time and what arrives meanwhile
// goes in the next one. `pipelined` (for a producer that keeps the order of its sends, the
// embedded log's) does not wait for a send to be durable before the next: each turn's records
// are handed over at once, so a live record does not wait for the previous batch's fsync too.

export interface BatchSinkOptions {
  /** Records per send (default 2000). */
  maxBatch?: number
  /** Send without waiting for the previous send (only for producers that keep their sends' order). */
  pipelined?: boolean
}

interface Waiter {
  resolve: () => void
  reject: (e: unknown) => void
}

export class BatchSink {
  private readonly producer: Producer
  private queue: ProducedRecord[] = []
  private waiters: Waiter[] = []
  private running: Promise<void> | undefined
  private readonly inflight = new Set<Promise<void>>()
  private readonly maxBatch: number
  private readonly pipelined: boolean

  private readonly onError: (e: unknown) => void

  /** `onError` hears about failed sends of records nobody awaits (`fire`). */
  constructor(producer: Producer, onError: (e: unknown) => void, o: BatchSinkOptions = {}) {
    this.producer = producer
    this.onError = onError
    this.maxBatch = o.maxBatch ?? 2000
    this.pipelined = o.pipelined ?? false
  }

  push(records: ProducedRecord[]): Promise<void> {
    for (const r of records) this.queue.push(r)
    const p = new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }))
    if (!this.running) this.running = this.drain()
    return p
  }

  /** Like push, for callers that do not wait (stream records): errors go to `onError`. */
  fire(record: ProducedRecord): void {
    this.queue.push(record)
    if (!this.running) this.running = this.drain()
  }

  private async drain(): Promise<void> {
    await new Promise((r) => setImmediate(r)) // gather what arrives in this turn
    while (this.queue.length > 0) {
      const batch = this.queue
      const waiters = this.waiters
      this.queue = []
      this.waiters = []
      const sent = this.send(batch, waiters)
      if (!this.pipelined) await sent
      else {
        this.inflight.add(sent)
        void sent.finally(() => this.inflight.delete(sent))
      }
    }
    this.running = undefined
  }

  private async send(batch: ProducedRecord[], waiters: Waiter[]): Promise<void> {
    try {
      const sends: Promise<void>[] = []
      for (let i = 0; i < batch.length; i += this.maxBatch) {
        const s = this.producer.send(batch.slice(i, i + this.maxBatch))
        if (this.pipelined) sends.push(s)
        else await s
      }
      await Promise.all(sends)
      const counts = new Map<string, number>()
      for (const r of batch) counts.set(r.topic, (counts.get(r.topic) ?? 0) + 1)
      for (const [topic, n] of counts) recordsOut.inc({ topic }, n)
      for (const w of waiters) w.resolve()
    } catch (e) {
      this.onError(e)
      for (const w of waiters) w.reject(e)
    }
  }

  async flush(): Promise<void> {
    while (this.running || this.inflight.size > 0) {
      if (this.running) await this.running
      await Promise.all(this.inflight)
    }
  }
}
