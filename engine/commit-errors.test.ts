import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { StreamsError } from '../common/errors.ts'
import { type KafkaStreams, StreamsBuilder } from './index.ts'
import { TestBed } from './testing.ts'
import type { Consumer, Offsets, ProducedRecord, Transport } from './transport.ts'

// Issue #13 defect 9: a failed commit left flush() waiting forever (the waiters of the failed
// commit were neither resolved nor rejected) and any commit error stopped the engine for good.
// Now: retriable errors (here an injected EIO on the write) drop the uncommitted work and the
// engine carries on from the last commit; other errors stop it with state 'error' and reject flush().

let bed: TestBed
beforeEach(() => {
  bed = new TestBed()
})
afterEach(async () => {
  await bed.close()
})

/** The embedded log, whose next sends (or transactional commits) fail with the queued errors. */
function faulty(inner: Transport) {
  const failures: Error[] = []
  const pollFailures: Error[] = []
  const inners = new WeakMap<Consumer, Consumer>()
  const t: Transport = {
    kind: inner.kind,
    createTopics: (s) => inner.createTopics(s),
    partitions: (x) => inner.partitions(x),
    async consumer(o) {
      const c = await inner.consumer(o)
      const wrapped: Consumer = {
        async poll(max: number, wait: number) {
          const e = pollFailures.shift()
          if (e) throw e
          return c.poll(max, wait)
        },
        commit: (x) => c.commit(x),
        committed: (x) => c.committed(x),
        ensureActive: () => c.ensureActive(),
        rewind: () => c.rewind(),
        assignment: () => c.assignment(),
        close: () => c.close(),
      }
      inners.set(wrapped, c)
      return wrapped
    },
    endOffset: (tp) => inner.endOffset(tp),
    read: (tp, from) => inner.read(tp, from),
    close: () => inner.close(),
    producer() {
      const p = inner.producer()
      return {
        async send(records: ProducedRecord[]) {
          const e = failures.shift()
          if (e) throw e
          await p.send(records)
        },
        close: () => p.close(),
      }
    },
    transactionalProducer(id) {
      const p = inner.transactionalProducer(id)
      return {
        async commit(records: ProducedRecord[], consumer: Consumer, offsets: Offsets) {
          const e = failures.shift()
          if (e) throw e
          await p.commit(records, inners.get(consumer) ?? consumer, offsets)
        },
        close: () => p.close(),
      }
    },
  }
  return { t, failures, pollFailures }
}

function counting() {
  const b = new StreamsBuilder()
  b.stream<{ i: number }>('in').groupByKey().count({ name: 'counts' }).toStream().to('out')
  return b.build()
}

const eio = () => Object.assign(new Error('EIO: i/o error, write (injected)'), { code: 'EIO' })

/** Resolves to 'hung' if `p` has not settled within `ms` (flush() used to wait forever). */
const settled = (p: Promise<unknown>, ms: number) =>
  Promise.race([
    p.then(
      () => 'resolved',
      (err: Error) => err,
    ),
    new Promise((r) => setTimeout(() => r('hung'), ms)),
  ])

async function run(
  guarantee: 'at_least_once' | 'exactly_once',
  failures: Error[],
  pollFailures: Error[] = [],
) {
  await bed.topic('in')
  await bed.produce(
    'in',
    Array.from({ length: 100 }, (_, i) => ({ key: `k${i % 10}`, value: { i } })),
  )
  const f = faulty(bed.transport)
  f.failures.push(...failures)
  f.pollFailures.push(...pollFailures)
  // Commits only when flush() asks: the failing commit is the one flush() waits for.
  const streams: KafkaStreams = await bed.start(counting(), {
    applicationId: `errors-${guarantee}`,
    transport: f.t,
    commitIntervalMs: 3_600_000,
    processingGuarantee: guarantee,
  })
  return streams
}

describe('commit errors', () => {
  for (const guarantee of ['at_least_once', 'exactly_once'] as const)
    it(`${guarantee}: flush() settles after a failed commit, and a retriable error is recovered from`, async () => {
      const streams = await run(guarantee, [eio()])
      expect(await settled(streams.flush(15_000), 20_000)).toBe('resolved')
      expect(streams.state).toBe('running')
      const last = new Map<string, number>()
      for (const r of await bed.records('out')) last.set(r.key, JSON.parse(r.value) as number)
      expect([...last.values()]).toEqual(Array(10).fill(10))
      if (guarantee === 'exactly_once') {
        // Nothing of the failed commit is visible: each key's counts went out once each.
        const perKey = new Map<string, number[]>()
        for (const r of await bed.records('out'))
          perKey.set(r.key, [...(perKey.get(r.key) ?? []), JSON.parse(r.value)])
        for (const seq of perKey.values()) expect(seq).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
      }
    })

  it('a retriable poll error is retried: the engine keeps running', async () => {
    const streams = await run('at_least_once', [], [eio(), eio()])
    expect(await settled(streams.flush(15_000), 20_000)).toBe('resolved')
    expect(streams.state).toBe('running')
    const last = new Map<string, number>()
    for (const r of await bed.records('out')) last.set(r.key, JSON.parse(r.value) as number)
    expect([...last.values()]).toEqual(Array(10).fill(10))
  })

  it('a fatal commit error stops the engine: state error with the reason, flush() rejects', async () => {
    const streams = await run('at_least_once', [
      new StreamsError('ENGINE', 'INJECTED_FATAL', 'injected fatal error'),
    ])
    const outcome = await settled(streams.flush(15_000), 20_000)
    expect(outcome).toBeInstanceOf(Error)
    expect((outcome as StreamsError).code).toBe('ENGINE_INJECTED_FATAL')
    expect(streams.state).toBe('error')
    expect((streams.error as StreamsError).code).toBe('ENGINE_INJECTED_FATAL')
  })
})
