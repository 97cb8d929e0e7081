import type { Serde } from '../engine/serde.ts'
import type { Window } from '../engine/window.ts'

// Store specifications (what a topology declares) and the two store views: the read-write one a
// processor uses inside its task (synchronous get, staged put), and the read-only one for
// interactive queries from outside the running engine (async, across all local tasks).

export interface KeyValueStoreSpec<V = unknown> {
  readonly kind: 'kv'
  readonly name: string
  readonly serde: Serde<V>
  /** Back the store by `<applicationId>-<name>-changelog` (default true). */
  readonly changelog: boolean
}

export interface WindowStoreSpec<V = unknown> {
  readonly kind: 'window'
  readonly name: string
  readonly serde: Serde<V>
  readonly changelog: boolean
  readonly windowSizeMs: number
  /** Windows whose end is older than stream time - retention are deleted. */
  readonly retentionMs: number
}

export type StoreSpec = KeyValueStoreSpec | WindowStoreSpec

export interface KeyValue<V> {
  key: string
  value: V
}

export interface WindowEntry<V> {
  key: string
  window: Window
  value: V
}

export interface ScanOptions {
  /** Only keys starting with this string. */
  prefix?: string
  limit?: number
}

/**
 * Read-write view inside a task. A put stages the object itself (no copy, not serialized until
 * the commit), so changes made to it until a commit takes the staged writes (`stagedGeneration`
 * changes) are what that commit writes.
 */
export interface KeyValueStore<V> {
  readonly name: string
  /** Changes when a commit takes the staged writes: an object put since is still staged while it holds. */
  readonly stagedGeneration: number
  get(key: string): V | undefined
  put(key: string, value: V): void
  delete(key: string): void
  /** Committed and staged entries, in key order. */
  all(options?: ScanOptions): Promise<KeyValue<V>[]>
}

/** Read-write view inside a task. Windows are identified by key and start; puts stage as in KeyValueStore. */
export interface WindowStore<V> {
  readonly name: string
  /** As KeyValueStore.stagedGeneration. */
  readonly stagedGeneration: number
  readonly windowSizeMs: number
  fetch(key: string, windowStart: number): V | undefined
  put(key: string, windowStart: number, value: V): void
  delete(key: string, windowStart: number): void
  /** Windows of `key` whose start is in [fromTime, toTime], oldest first. */
  range(key: string, fromTime: number, toTime: number): Promise<WindowEntry<V>[]>
}

/** Interactive queries: reads across every task of this instance while the engine runs. */
export interface ReadOnlyKeyValueStore<V> {
  readonly kind: 'kv'
  readonly name: string
  get(key: string): Promise<V | undefined>
  all(options?: ScanOptions): Promise<KeyValue<V>[]>
  /** Entries of this instance (approximate while writes are staged). */
  approximateCount(): Promise<number>
}

export interface ReadOnlyWindowStore<V> {
  readonly kind: 'window'
  readonly name: string
  readonly windowSizeMs: number
  fetch(key: string, windowStart: number): Promise<V | undefined>
  /** The latest window of `key`. */
  get(key: string): Promise<WindowEntry<V> | undefined>
  range(key: string, fromTime: number, toTime: number): Promise<WindowEntry<V>[]>
  all(options?: ScanOptions & { fromTime?: number; toTime?: number }): Promise<WindowEntry<V>[]>
  approximateCount(): Promise<number>
}

export type ReadOnlyStore<V = unknown> = ReadOnlyKeyValueStore<V> | ReadOnlyWindowStore<V>
