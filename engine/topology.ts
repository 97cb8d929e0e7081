import { StreamsError } from '../common/errors.ts'
import { changelogTopic } from '../state/stores.ts'
import type { StoreSpec } from '../state/types.ts'
import type { ProcessorSupplier } from './processor.ts'
import type { Serde } from './serde.ts'

// A topology is data: named sources, processors and sinks wired by parent names, plus the stores
// processors use. The DSL (dsl.ts) builds one; the low-level methods below can build one by hand.
// It describes itself and validates before it runs.

export class TopologyError extends StreamsError {
  constructor(code: string, message: string) {
    super('ENGINE', code, message)
    this.name = 'TopologyError'
  }
}

/** A topic name; internal topics get `<applicationId>-` in front at run time. */
export interface TopicRef {
  name: string
  internal?: 'repartition'
}

export interface SourceNode {
  kind: 'source'
  name: string
  topics: TopicRef[]
  serde: Serde<unknown>
  /** Event time of a record; default: the transport record's timestamp. */
  timestamp?: (value: unknown, recordTimestamp: number) => number
}

export interface ProcessorNode {
  kind: 'processor'
  name: string
  parents: string[]
  supplier: ProcessorSupplier<unknown, unknown, unknown, unknown>
  stores: string[]
}

export interface SinkNode {
  kind: 'sink'
  name: string
  parents: string[]
  topic: TopicRef
  serde: Serde<unknown>
  /** Turns the record key into the transport key (default: strings as is, Windowed → its key). */
  key?: (key: unknown, value: unknown) => string
}

export type TopologyNode = SourceNode | ProcessorNode | SinkNode

export interface SourceOptions {
  serde: Serde<unknown>
  timestamp?: (value: unknown, recordTimestamp: number) => number
}

export interface SinkOptions {
  serde: Serde<unknown>
  key?: (key: unknown, value: unknown) => string
}

export interface Subtopology {
  id: number
  nodes: TopologyNode[]
  sourceTopics: TopicRef[]
  sinkTopics: TopicRef[]
  stores: string[]
}

export const resolveTopic = (applicationId: string, t: TopicRef): string =>
  t.internal ? `${applicationId}-${t.name}` : t.name

export class Topology {
  readonly nodes = new Map<string, TopologyNode>()
  readonly stores = new Map<string, StoreSpec>()

  addSource(name: string, topics: (string | TopicRef)[], options: SourceOptions): this {
    this.checkNew(name)
    const refs = topics.map((t) => (typeof t === 'string' ? { name: t } : t))
    this.nodes.set(name, { kind: 'source', name, topics: refs, ...options })
    return this
  }

  addProcessor(
    name: string,
    supplier: ProcessorSupplier<never, never, unknown, unknown>,
    parents: string[],
    stores: string[] = [],
  ): this {
    this.checkNew(name)
    this.nodes.set(name, {
      kind: 'processor',
      name,
      parents: [...parents],
      supplier: supplier as ProcessorSupplier<unknown, unknown, unknown, unknown>,
      stores: [...stores],
    })
    return this
  }

  addSink(name: string, topic: string | TopicRef, parents: string[], options: SinkOptions): this {
    this.checkNew(name)
    const ref = typeof topic === 'string' ? { name: topic } : topic
    this.nodes.set(name, { kind: 'sink', name, parents: [...parents], topic: ref, ...options })
    return this
  }

  addStateStore(spec: StoreSpec, ...processorNames: string[]): this {
    const existing = this.stores.get(spec.name)
    if (existing && existing !== spec)
      throw new TopologyError('DUPLICATE_STORE', `store "${spec.name}" exists`)
    this.stores.set(spec.name, spec)
    for (const p of processorNames) {
      const node = this.nodes.get(p)
      if (node?.kind !== 'processor') throw new TopologyError('UNKNOWN_NODE', `no processor "${p}"`)
      if (!node.stores.includes(spec.name)) node.stores.push(spec.name)
    }
    return this
  }

  private checkNew(name: string): void {
    if (this.nodes.has(name)) throw new TopologyError('DUPLICATE_NODE', `node "${name}" already exists`)
  }

  /** Throws a TopologyError listing every problem found. */
  validate(): this {
    const problems: string[] = []
    const children = this.childrenOf()
    for (const node of this.nodes.values()) {
      if (node.kind !== 'source') {
        if (node.parents.length === 0) problems.push(`${node.kind} "${node.name}" has no parent`)
        for (const p of node.parents) {
          const parent = this.nodes.get(p)
          if (!parent) problems.push(`"${node.name}" has unknown parent "${p}"`)
          else if (parent.kind === 'sink') problems.push(`"${node.name}" cannot have sink "${p}" as parent`)
        }
      } else if (node.topics.length === 0) problems.push(`source "${node.name}" reads no topic`)
      if ((node.kind === 'source' || node.kind === 'sink') && !isSerde(node.serde))
        problems.push(`${node.kind} "${node.name}" has no serde`)
      if (node.kind === 'processor') {
        if (typeof node.supplier !== 'function') problems.push(`processor "${node.name}" has no supplier`)
        for (const s of node.stores)
          if (!this.stores.has(s)) problems.push(`processor "${node.name}" uses unknown store "${s}"`)
      }
    }
    for (const spec of this.stores.values()) {
      if (!isSerde(spec.serde)) problems.push(`store "${spec.name}" has no serde`)
    }
    const cycle = findCycle(this.nodes, children)
    if (cycle) problems.push(`cycle: ${cycle.join(' -> ')}`)
    const seenTopics = new Map<string, string>()
    for (const node of this.nodes.values()) {
      if (node.kind !== 'source') continue
      for (const t of node.topics) {
        const k = `${t.internal ?? ''}:${t.name}`
        const other = seenTopics.get(k)
        if (other) problems.push(`topic "${t.name}" is read by both "${other}" and "${node.name}"`)
        seenTopics.set(k, node.name)
      }
    }
    if (this.nodes.size === 0) problems.push('topology is empty')
    if (problems.length > 0)
      throw new TopologyError('INVALID_TOPOLOGY', `invalid topology:\n  - ${problems.join('\n  - ')}`)
    return this
  }

  childrenOf(): Map<string, string[]> {
    const children = new Map<string, string[]>()
    for (const n of this.nodes.values()) children.set(n.name, [])
    for (const n of this.nodes.values()) {
      if (n.kind === 'source') continue
      for (const p of n.parents) children.get(p)?.push(n.name)
    }
    return children
  }

  /** Connected parts of the graph; a repartition topic (sink → source) splits them. */
  subtopologies(): Subtopology[] {
    const parent = new Map<string, string>()
    const find = (x: string): string => {
      let r = x
      while (parent.get(r) !== r) r = parent.get(r)!
      parent.set(x, r)
      return r
    }
    for (const n of this.nodes.keys()) parent.set(n, n)
    for (const n of this.nodes.values()) {
      if (n.kind === 'source') continue
      for (const p of n.parents) if (this.nodes.has(p)) parent.set(find(n.name), find(p))
    }
    // Nodes sharing a store must run in the same task.
    const storeOwner = new Map<string, string>()
    for (const n of this.nodes.values()) {
      if (n.kind !== 'processor') continue
      for (const s of n.stores) {
        const o = storeOwner.get(s)
        if (o) parent.set(find(n.name), find(o))
        else storeOwner.set(s, n.name)
      }
    }
    const groups = new Map<string, TopologyNode[]>()
    for (const n of this.nodes.values()) {
      const r = find(n.name)
      groups.set(r, [...(groups.get(r) ?? []), n])
    }
    return [...groups.values()].map((nodes, id) => ({
      id,
      nodes,
      sourceTopics: nodes.flatMap((n) => (n.kind === 'source' ? n.topics : [])),
      sinkTopics: nodes.flatMap((n) => (n.kind === 'sink' ? [n.topic] : [])),
      stores: [...new Set(nodes.flatMap((n) => (n.kind === 'processor' ? n.stores : [])))],
    }))
  }

  describe(applicationId = '<applicationId>'): TopologyDescription {
    return new TopologyDescription(this, applicationId)
  }
}

export class TopologyDescription {
  readonly subtopologies: Subtopology[]
  readonly sources: string[]
  readonly sinks: string[]
  readonly repartitionTopics: string[]
  readonly changelogTopics: string[]
  readonly stores: { name: string; kind: StoreSpec['kind']; changelog: string | null }[]
  private readonly topology: Topology
  private readonly applicationId: string

  constructor(topology: Topology, applicationId: string) {
    this.topology = topology
    this.applicationId = applicationId
    this.subtopologies = topology.subtopologies()
    const r = (t: TopicRef) => resolveTopic(applicationId, t)
    const all = this.subtopologies
    this.sources = [...new Set(all.flatMap((s) => s.sourceTopics.filter((t) => !t.internal).map(r)))]
    this.sinks = [...new Set(all.flatMap((s) => s.sinkTopics.filter((t) => !t.internal).map(r)))]
    this.repartitionTopics = [...new Set(all.flatMap((s) => s.sinkTopics.filter((t) => t.internal).map(r)))]
    this.stores = [...topology.stores.values()].map((s) => ({
      name: s.name,
      kind: s.kind,
      changelog: s.changelog ? changelogTopic(applicationId, s.name) : null,
    }))
    this.changelogTopics = this.stores.flatMap((s) => (s.changelog ? [s.changelog] : []))
  }

  toString(): string {
    const children = this.topology.childrenOf()
    const r = (t: TopicRef) => resolveTopic(this.applicationId, t)
    const lines = ['Topologies:']
    for (const sub of this.subtopologies) {
      lines.push(`  Sub-topology: ${sub.id}`)
      for (const n of sub.nodes) {
        if (n.kind === 'source') lines.push(`    Source: ${n.name} (topics: [${n.topics.map(r).join(', ')}])`)
        else if (n.kind === 'processor')
          lines.push(`    Processor: ${n.name} (stores: [${n.stores.join(', ')}])`)
        else lines.push(`    Sink: ${n.name} (topic: ${r(n.topic)})`)
        const out = children.get(n.name) ?? []
        if (out.length) lines.push(`      --> ${out.join(', ')}`)
        if (n.kind !== 'source') lines.push(`      <-- ${n.parents.join(', ')}`)
      }
    }
    lines.push('Stores:')
    for (const s of this.stores) lines.push(`  ${s.name} (${s.kind}, changelog: ${s.changelog ?? 'none'})`)
    if (this.repartitionTopics.length) lines.push(`Repartition topics: ${this.repartitionTopics.join(', ')}`)
    return `${lines.join('\n')}\n`
  }
}

function isSerde(s: unknown): boolean {
  return (
    typeof s === 'object' &&
    s !== null &&
    typeof (s as Serde<unknown>).serialize === 'function' &&
    typeof (s as Serde<unknown>).deserialize === 'function'
  )
}

function findCycle(nodes: Map<string, TopologyNode>, children: Map<string, string[]>): string[] | undefined {
  const state = new Map<string, 1 | 2>()
  const path: string[] = []
  const visit = (n: string): string[] | undefined => {
    state.set(n, 1)
    path.push(n)
    for (const c of children.get(n) ?? []) {
      if (state.get(c) === 1) return [...path.slice(path.indexOf(c)), c]
      if (!state.has(c)) {
        const found = visit(c)
        if (found) return found
      }
    }
    path.pop()
    state.set(n, 2)
    return undefined
  }
  for (const n of nodes.keys()) {
    if (!state.has(n)) {
      const found = visit(n)
      if (found) return found
    }
  }
  return undefined
}
