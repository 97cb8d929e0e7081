import { LevelStore } from './level-store.ts'
import type { KeyValue, KeyValueStore, ScanOptions } from './types.ts'

// Key-value store: LevelDB key = store key.
export class LevelKeyValueStore<V> extends LevelStore<V> implements KeyValueStore<V> {
  get name(): string {
    return this.spec.name
  }

  get(key: string): V | undefined {
    return this.getDb(key)
  }

  put(key: string, value: V): void {
    this.putDb(key, value)
  }

  delete(key: string): void {
    this.deleteDb(key)
  }

  read(key: string): Promise<V | undefined> {
    return this.readDb(key)
  }

  async all(options: ScanOptions = {}): Promise<KeyValue<V>[]> {
    const p = options.prefix ?? ''
    const rows = await this.scanDb(p, `${p}\uffff`, options.limit)
    return rows.map(([key, value]) => ({ key, value }))
  }

  async count(): Promise<number> {
    return (await this.countKeys('', '\u0001')) + (await this.countKeys('\u0001\uffff', '\uffff'))
  }
}
