import { afterEach, describe, expect, it } from 'vitest'
import { tempDirs } from '../test/tmpdirs.ts'
import { LevelKeyValueStore } from './kv-store.ts'
import { Stores } from './stores.ts'
import { LevelWindowStore, windowDbKey } from './window-store.ts'

// registered first, so its afterEach runs after the one closing the stores (hooks run as a stack)
const dir = tempDirs('cs-store-')
const open: { close(): Promise<void> }[] = []
afterEach(async () => {
  for (const s of open.splice(0)) await s.close()
})

describe('key-value store', () => {
  it('stages writes, reads them back at once, and writes them to LevelDB at flush', async () => {
    const s = new LevelKeyValueStore<{ n: number }>(Stores.keyValue('kv'), dir())
    await s.open()
    open.push(s)
    s.put('b', { n: 1 })
    s.put('a', { n: 2 })
    s.put('b', { n: 3 })
    expect(s.get('b')).toEqual({ n: 3 })
    expect(s.pendingWrites).toBe(2)
    // One changelog record per key: last write wins.
    expect(s.changelogRecords('app-kv-changelog', 4, 7).map((r) => [r.key, r.value, r.partition])).toEqual([
      ['b', '{"n":3}', 4],
      ['a', '{"n":2}', 4],
    ])
    await s.flush()
    expect(s.pendingWrites).toBe(0)
    expect(s.get('b')).toEqual({ n: 3 })
    s.delete('a')
    s.put('c', { n: 5 })
    // Scans merge LevelDB with staged writes and deletes.
    expect(await s.all()).toEqual([
      { key: 'b', value: { n: 3 } },
      { key: 'c', value: { n: 5 } },
    ])
    expect(await s.all({ prefix: 'c' })).toEqual([{ key: 'c', value: { n: 5 } }])
    expect(s.changelogRecords('t', 0, 0).find((r) => r.key === 'a')?.value).toBeNull()
    await s.flush()
    expect(await s.read('a')).toBeUndefined()
    expect(await s.count()).toBe(2)
  })
})

describe('staged generation', () => {
  it('stays while a put object is staged (changes to it in place reach the commit), moves when a commit takes it', async () => {
    const s = new LevelKeyValueStore<{ n: number }>(Stores.keyValue('gen'), dir())
    await s.open()
    open.push(s)
    const g0 = s.stagedGeneration
    await s.flush() // nothing staged: nothing taken
    expect(s.stagedGeneration).toBe(g0)
    const v = { n: 1 }
    s.put('k', v)
    v.n = 2 // in place, no second put
    expect(s.stagedGeneration).toBe(g0)
    await s.flush()
    expect(await s.read('k')).toEqual({ n: 2 })
    expect(s.stagedGeneration).not.toBe(g0)
  })
})

describe('window store', () => {
  const spec = Stores.window<number>('w', { windowSizeMs: 60_000, retentionMs: 120_000 })
  /** A store opened in a fresh dir; `indexed`: its index loaded, as a task does after the restore. */
  const openStore = async (indexed = false): Promise<LevelWindowStore<number>> => {
    const s = new LevelWindowStore<number>(spec, dir())
    await s.open()
    open.push(s)
    if (indexed) await s.loadIndex()
    return s
  }

  it('ranges over a key’s windows in time order, staged and flushed alike', async () => {
    const s = await openStore()
    s.put('BTC', 120_000, 3)
    s.put('BTC', 0, 1)
    await s.flush()
    s.put('BTC', 60_000, 2)
    s.put('BTCX', 60_000, 9) // a key that extends another must not leak into its range
    expect((await s.range('BTC', 0, 120_000)).map((e) => [e.window.start, e.window.end, e.value])).toEqual([
      [0, 60_000, 1],
      [60_000, 120_000, 2],
      [120_000, 180_000, 3],
    ])
    expect((await s.range('BTC', 30_000, 90_000)).map((e) => e.value)).toEqual([2])
    expect((await s.latest('BTC'))?.value).toBe(3)
    s.delete('BTC', 120_000) // staged delete hides the newest flushed window
    expect((await s.latest('BTC'))?.window.start).toBe(60_000)
    await s.flush()
    expect((await s.latest('BTC'))?.window.start).toBe(60_000)
    s.put('BTC', 120_000, 3)
    expect((await s.all({ fromTime: 60_000, toTime: 60_000 })).map((e) => e.key)).toEqual(['BTC', 'BTCX'])
  })

  it('leaves no trace of a window made and deleted between two commits (a replay expires windows within one)', async () => {
    const s = await openStore(true)
    s.put('ETH', 0, 1)
    await s.flush() // committed: its delete must reach the changelog
    s.put('ETH', 60_000, 2) // made since the last commit
    s.put('ETH', 60_000, 3)
    s.delete('ETH', 60_000)
    s.delete('ETH', 0)
    expect(s.fetch('ETH', 60_000)).toBeUndefined()
    expect(s.changelogRecords('c', 0, 0).map((r) => [r.key, r.value])).toEqual([
      [windowDbKey('ETH', 0), null],
    ])
    await s.flush()
    expect(await s.count()).toBe(0)
    // deleted while the commit writing its delete is in flight, then made and deleted again
    s.put('ETH', 120_000, 4)
    await s.flush()
    s.delete('ETH', 120_000)
    expect(s.changelogRecords('c', 0, 0)).toHaveLength(1)
    const write = s.beginFlush()
    s.put('ETH', 120_000, 5)
    s.delete('ETH', 120_000)
    expect(s.changelogRecords('c', 0, 0)).toEqual([])
    await write()
    expect(s.fetch('ETH', 120_000)).toBeUndefined()
    expect(await s.count()).toBe(0)
  })

  it('a committed window deleted, made again and deleted between two commits is deleted (changelog and LevelDB)', async () => {
    // the rolling ticker does this to a bucket: emptied as the window passes it, a late minute
    // inside the window makes it again, the window passes that one too
    const s = await openStore(true)
    s.put('ETH', 0, 1)
    await s.flush()
    s.delete('ETH', 0)
    s.put('ETH', 0, 2)
    s.delete('ETH', 0)
    expect(s.fetch('ETH', 0)).toBeUndefined()
    expect(s.changelogRecords('c', 0, 0).map((r) => [r.key, r.value])).toEqual([
      [windowDbKey('ETH', 0), null],
    ])
    await s.flush()
    expect(await s.count()).toBe(0)
    await s.close()
    await s.open()
    await s.loadIndex()
    expect(s.fetch('ETH', 0)).toBeUndefined()
  })

  it('expires windows whose end is older than stream time - retention, through the changelog', async () => {
    const s = await openStore()
    for (let start = 0; start <= 300_000; start += 60_000) s.put('ETH', start, start / 60_000)
    s.putMeta('observedStreamTime', 300_000)
    await s.flush()
    s.expire(300_000) // keeps windows with end > 300s - 120s = 180s
    expect((await s.range('ETH', 0, 1e9)).map((e) => e.window.start)).toEqual([180_000, 240_000, 300_000])
    const tombstones = s.changelogRecords('c', 0, 0).filter((r) => r.value === null)
    expect(tombstones).toHaveLength(3)
    await s.flush()
    expect(await s.count()).toBe(3)
    // The index survives a reopen; metadata is not data.
    await s.close()
    await s.open()
    await s.loadIndex()
    expect(s.getMeta('observedStreamTime')).toBe(300_000)
    expect(s.windowsByStart(Number.NEGATIVE_INFINITY, 1e12)).toEqual([
      ['ETH', 180_000],
      ['ETH', 240_000],
      ['ETH', 300_000],
    ])
    expect((await s.all()).map((e) => e.value)).toEqual([3, 4, 5])
  })
})
