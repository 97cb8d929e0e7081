import { createLogger } from '../common/log.ts'
import { topics } from '../common/topics.ts'
import type { Transport } from '../engine/transport.ts'
import { FEATURE_NAMES, LOOKBACK } from './features.ts'
import { type Model, POOLED } from './model.ts'

// Model store: the compacted topic crypto_models, key = symbol (or POOLED), value = the latest
// Model (version, coefficients, feature list, training window, metrics, created-at). Every engine
// instance and the gateway read the same topic, so they see the same version; it survives
// restarts on both transports. A model with another feature list or lookback than this code's
// is ignored (it could not be evaluated the same way it was trained).

const log = createLogger('models')

export async function ensureModelTopic(transport: Transport, topic: string = topics.models): Promise<void> {
  if ((await transport.partitions(topic)) === undefined)
    await transport.createTopics([{ name: topic, partitions: 1, compacted: true }])
}

export async function publishModels(
  transport: Transport,
  models: readonly Model[],
  topic: string = topics.models,
): Promise<void> {
  await ensureModelTopic(transport, topic)
  const producer = transport.producer()
  try {
    await producer.send(
      models.map((m) => ({
        topic,
        key: m.symbol,
        value: JSON.stringify(m),
        timestamp: Date.parse(m.createdAt),
      })),
    )
  } finally {
    await producer.close()
  }
}

export const compatible = (m: Model): boolean =>
  m.lookback === LOOKBACK &&
  m.features.length === FEATURE_NAMES.length &&
  m.features.every((f, i) => f === FEATURE_NAMES[i])

/** Latest model per key, read from a compacted topic (incrementally: `refresh()` reads what is new). */
export class ModelRegistry {
  readonly topic: string
  private readonly models = new Map<string, Model>()
  private readonly next = new Map<number, number>()
  private listeners: ((m: Model) => void)[] = []

  constructor(topic: string = topics.models) {
    this.topic = topic
  }

  /** The symbol's own model, else the pooled fallback. */
  get(symbol: string): Model | undefined {
    return this.models.get(symbol) ?? this.models.get(POOLED)
  }

  all(): Model[] {
    return [...this.models.values()]
  }

  /** Newest version present (versions sort by creation time). */
  latestVersion(): string | undefined {
    return this.all()
      .map((m) => m.version)
      .sort()
      .at(-1)
  }

  onModel(fn: (m: Model) => void): void {
    this.listeners.push(fn)
  }

  /** Adds models directly (tests, or right after training in this process). */
  put(models: readonly Model[]): void {
    for (const m of models) this.accept(m)
  }

  private accept(m: Model): void {
    if (!compatible(m)) {
      log.warn('model ignored: feature list or lookback differ from this build', {
        symbol: m.symbol,
        version: m.version,
      })
      return
    }
    const prev = this.models.get(m.symbol)
    if (prev && prev.createdAt > m.createdAt) return
    this.models.set(m.symbol, m)
    for (const fn of this.listeners) fn(m)
  }

  /** Reads records added to the topic since the last refresh. Returns how many models changed. */
  async refresh(transport: Transport): Promise<number> {
    const n = (await transport.partitions(this.topic)) ?? 0
    let changed = 0
    for (let p = 0; p < n; p++) {
      for await (const batch of transport.read({ topic: this.topic, partition: p }, this.next.get(p) ?? 0)) {
        for (const r of batch) {
          this.next.set(p, r.offset + 1)
          if (r.tombstone) {
            if (this.models.delete(r.key)) changed++
            continue
          }
          try {
            this.accept(JSON.parse(r.value) as Model)
            changed++
          } catch (e) {
            log.warn('unreadable model record skipped', {
              key: r.key,
              offset: r.offset,
              error: (e as Error).message,
            })
          }
        }
      }
    }
    return changed
  }

  /** Refreshes every `everyMs` until the returned stop() is called. */
  watch(transport: Transport, everyMs = 10_000): { stop(): void } {
    let busy = false
    const timer = setInterval(() => {
      if (busy) return
      busy = true
      this.refresh(transport)
        .catch((e: Error) => log.warn('model refresh failed', { error: e.message }))
        .finally(() => {
          busy = false
        })
    }, everyMs)
    timer.unref()
    return { stop: () => clearInterval(timer) }
  }
}

/** The latest model per symbol (and POOLED) in the model topic. */
export async function loadLatestModels(
  transport: Transport,
  topic: string = topics.models,
): Promise<Map<string, Model>> {
  const r = new ModelRegistry(topic)
  await r.refresh(transport)
  return new Map(r.all().map((m) => [m.symbol, m]))
}
