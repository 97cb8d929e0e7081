import type { ProducedRecord, Producer } from '../../engine/transport.ts'
import { recordsOut } from './metrics.ts'

// Batches records into few Producer.send() calls (one in flight, so order is kept) and tells
// each caller when its records are durable.
export class BatchSink {
  private readonly producer: Producer
  private queue: ProducedRecord[] = []
  private waiters: { resolve: () => void; reject: (e: unknown) => void }[] = []
  private running: Promise<void> | undefined
  private readonly maxBatch: number

  private readonly onError: (e: unknown) => void

  /** `onError` hears about failed sends of records nobody awaits (`fire`). */
  constructor(producer: Producer, onError: (e: unknown) => void, maxBatch = 2000) {
    this.producer = producer
    this.onError = onError
    this.maxBatch = maxBatch
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
      try {
        for (let i = 0; i < batch.length; i += this.maxBatch)
          await this.producer.send(batch.slice(i, i + this.maxBatch))
        const counts = new Map<string, number>()
        for (const r of batch) counts.set(r.topic, (counts.get(r.topic) ?? 0) + 1)
        for (const [topic, n] of counts) recordsOut.inc({ topic }, n)
        for (const w of waiters) w.resolve()
      } catch (e) {
        this.onError(e)
        for (const w of waiters) w.reject(e)
      }
    }
    this.running = undefined
  }

  async flush(): Promise<void> {
    while (this.running) await this.running
  }
}
