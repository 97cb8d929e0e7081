import { describe, expect, it } from 'vitest'
import { copartitionedAssigner, ownedMetadata } from './consumer.ts'

// The task assignor without a broker: co-partitioned topics together, balance, stickiness.

type Assigner = ReturnType<typeof copartitionedAssigner>
const metadata = (counts: Record<string, number>) =>
  ({
    topics: new Map(Object.entries(counts).map(([t, n]) => [t, { partitionsCount: n }])),
  }) as unknown as Parameters<Assigner>[3]
const members = (owned: Record<string, string[]>) =>
  new Map(
    Object.entries(owned).map(([id, o]) => [id, { memberId: id, topics: [], metadata: ownedMetadata(o) }]),
  ) as unknown as Parameters<Assigner>[1]

/** member → sorted "topic-partition" list */
function assign(a: Assigner, owned: Record<string, string[]>, counts: Record<string, number>) {
  const res = a('', members(owned), new Set(Object.keys(counts)), metadata(counts))
  return Object.fromEntries(
    res.map((m) => [
      m.memberId,
      [...m.assignments.values()].flatMap((x) => x.partitions.map((p) => `${x.topic}-${p}`)).sort(),
    ]),
  )
}

describe('copartitionedAssigner', () => {
  const a = copartitionedAssigner([['x', 'y'], ['z']])
  const counts = { x: 3, y: 3, z: 2, other: 1 }

  it('gives partition p of co-partitioned topics to one member and balances tasks', () => {
    const r = assign(a, { m1: [], m2: [] }, counts)
    for (const list of Object.values(r))
      for (const tp of list.filter((t) => t.startsWith('x-'))) expect(list).toContain(`y-${tp.slice(2)}`)
    // 3 (x,y) + 2 (z) + 1 (other) = 6 tasks: 3 each
    const tasks = (l: string[]) => l.filter((t) => !t.startsWith('y-')).length
    expect([tasks(r.m1!), tasks(r.m2!)]).toEqual([3, 3])
  })

  it('keeps tasks where they are while balanced, and moves only what a new member needs', () => {
    const first = assign(a, { m1: [], m2: [] }, counts)
    // m3 joins: m1 and m2 keep 2 of their 3 tasks each, m3 gets one from each
    const r = assign(a, { m1: first.m1!, m2: first.m2!, m3: [] }, counts)
    const kept = (id: 'm1' | 'm2') => r[id]!.filter((t) => first[id]!.includes(t)).length
    expect(r.m3!.length).toBeGreaterThan(0)
    expect(kept('m1')).toBe(r.m1!.length)
    expect(kept('m2')).toBe(r.m2!.length)
    // m3 leaves again: its tasks go back, nothing else moves
    const back = assign(a, { m1: r.m1!, m2: r.m2! }, counts)
    expect(r.m1!.every((t) => back.m1!.includes(t))).toBe(true)
    expect(r.m2!.every((t) => back.m2!.includes(t))).toBe(true)
  })
})

describe('copartitionedAssigner across sub-topologies', () => {
  it('gives every member a share of each sub-topology, even when the split was by sub-topology', () => {
    // two sub-topologies of 6 partitions; m1 had all of one, m2 all of the other (balanced in
    // total, but every symbol's candles on one member)
    const a = copartitionedAssigner([['k'], ['r']])
    const all = (t: string) => [0, 1, 2, 3, 4, 5].map((p) => `${t}-${p}`)
    const r = assign(a, { m1: all('k'), m2: all('r') }, { k: 6, r: 6 })
    for (const id of ['m1', 'm2'] as const) {
      expect(r[id]!.filter((t) => t.startsWith('k-'))).toHaveLength(3)
      expect(r[id]!.filter((t) => t.startsWith('r-'))).toHaveLength(3)
    }
    // sticky within each: m1 keeps 3 of its k partitions, m2 3 of its r partitions
    expect(r.m1!.filter((t) => all('k').includes(t))).toHaveLength(3)
    expect(r.m2!.filter((t) => all('r').includes(t))).toHaveLength(3)
  })
})
