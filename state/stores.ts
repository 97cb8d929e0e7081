import { StreamsError } from '../common/errors.ts'
import { type Serde, Serdes } from '../engine/serde.ts'
import type { KeyValueStoreSpec, WindowStoreSpec } from './types.ts'

// Factories for store specifications. Names are stable identifiers: they name the local
// directory and the changelog topic, so renaming a store means a fresh store.
const NAME = /^[A-Za-z0-9._-]{1,100}$/

function checkName(name: string): string {
  if (!NAME.test(name))
    throw new StreamsError(
      'STATE',
      'INVALID_NAME',
      `store name "${name}" must match ${NAME} (it names a topic)`,
    )
  return name
}

export const Stores = {
  keyValue<V>(name: string, options: { serde?: Serde<V>; changelog?: boolean } = {}): KeyValueStoreSpec<V> {
    return Object.freeze({
      kind: 'kv',
      name: checkName(name),
      serde: options.serde ?? Serdes.json<V>(),
      changelog: options.changelog ?? true,
    })
  },
  window<V>(
    name: string,
    options: { windowSizeMs: number; retentionMs?: number; serde?: Serde<V>; changelog?: boolean },
  ): WindowStoreSpec<V> {
    const retentionMs = options.retentionMs ?? 86_400_000
    if (retentionMs < options.windowSizeMs)
      throw new StreamsError('STATE', 'INVALID_RETENTION', `store ${name}: retention must be ≥ window size`)
    return Object.freeze({
      kind: 'window',
      name: checkName(name),
      serde: options.serde ?? Serdes.json<V>(),
      changelog: options.changelog ?? true,
      windowSizeMs: options.windowSizeMs,
      retentionMs,
    })
  },
} as const

export const changelogTopic = (applicationId: string, storeName: string): string =>
  `${applicationId}-${storeName}-changelog`
