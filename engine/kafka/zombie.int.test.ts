import { type ChildProcess, spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { afterAll, describe, expect, it } from 'vitest'
import { loadConfig } from '../../common/config.ts'
import { waitForKafka } from '../../common/connect.ts'
import type { ConsumedRecord } from '../transport.ts'
import { KafkaTransport } from './transport.ts'

// Issue #13 defect 3: a member paused past its session timeout (SIGSTOP) resumes. In the engine it
// would first write its outputs and changelog records, then commit the position it reached before
// the pause. The group has moved on (another member read everything and committed 100): the
// membership check before the writes and the stale commit must both fail with
// ENGINE_TASK_MIGRATED, and the committed offset stay at 100. Before the fix the client rejoined and
// retried the commit in the new generation, and the committed offset went back to 40.

const cfg = loadConfig()
const run = `${Date.now().toString(36)}-${process.pid}`
const children = new Set<ChildProcess>()
const transports: KafkaTransport[] = []
afterAll(async () => {
  for (const c of children) {
    c.kill('SIGCONT')
    c.kill('SIGKILL')
  }
  for (const t of transports) await t.close()
})

/** A manual member.fixture.ts: send commands, await the answers (one JSON line each). */
function member(groupId: string, topic: string) {
  const proc = spawn(
    process.execPath,
    [
      new URL('./member.fixture.ts', import.meta.url).pathname,
      cfg.kafkaBrokers.join(','),
      groupId,
      topic,
      'manual',
    ],
    { stdio: ['pipe', 'pipe', 'inherit'], env: { ...process.env, CS_LOG_LEVEL: 'warn' } },
  )
  children.add(proc)
  const lines: Record<string, unknown>[] = []
  let wake: () => void = () => {}
  createInterface({ input: proc.stdout! }).on('line', (l) => {
    lines.push(JSON.parse(l) as Record<string, unknown>)
    wake()
  })
  const next = async (pred: (o: Record<string, unknown>) => boolean, ms = 30_000) => {
    const deadline = Date.now() + ms
    for (;;) {
      const i = lines.findIndex(pred)
      if (i >= 0) return lines.splice(i, 1)[0]!
      if (Date.now() > deadline) throw new Error(`member: no answer (saw ${JSON.stringify(lines)})`)
      await new Promise<void>((r) => {
        wake = r
        setTimeout(r, 200)
      })
    }
  }
  return { proc, next, send: (cmd: string) => proc.stdin!.write(`${cmd}\n`) }
}

describe('zombie member (real broker)', () => {
  it('a member paused past its session timeout cannot commit its stale position after it resumes', async () => {
    await waitForKafka(cfg.kafkaBrokers)
    const t = new KafkaTransport({
      brokers: cfg.kafkaBrokers,
      clientId: `zombie-${run}`,
      sessionTimeoutMs: 6000,
    })
    transports.push(t)
    const topic = `zombie-${run}`
    const groupId = `zombie-g-${run}`
    await t.createTopics([{ name: topic, partitions: 1 }])
    const p = t.producer()
    await p.send(Array.from({ length: 100 }, (_, i) => ({ topic, key: `k${i}`, value: String(i) })))
    await p.close()

    const a = member(groupId, topic)
    await a.next((o) => 'ready' in o)
    a.send('poll 40')
    expect((await a.next((o) => 'polled' in o)).next).toBe(40)
    a.proc.kill('SIGSTOP')

    // b joins once a's session expired, reads everything and commits 100.
    const b = await t.consumer({ groupId, topics: [topic], from: 'earliest' })
    const seen: ConsumedRecord[] = []
    const deadline = Date.now() + 40_000
    while (seen.length < 100 && Date.now() < deadline) seen.push(...(await b.poll(100, 300)))
    expect(seen.length).toBe(100)
    await b.commit([{ topic, partition: 0, offset: 100 }])

    a.proc.kill('SIGCONT')
    // Before writing outputs and changelog records the engine checks membership: refused.
    a.send('active')
    const active = await a.next((o) => 'active' in o || 'error' in o)
    expect(active.code).toBe('ENGINE_TASK_MIGRATED')
    a.send('commit')
    const answer = await a.next((o) => 'committed' in o || 'error' in o)
    // b keeps its membership while a rejoins; a retried commit would land within this time.
    const until = Date.now() + 8000
    while (Date.now() < until) await b.poll(100, 300).catch(() => [])
    const committed = await b.committed([{ topic, partition: 0 }])
    expect(committed.get(`${topic}-0`)).toBe(100)
    expect(answer.code).toBe('ENGINE_TASK_MIGRATED')
    await b.close()
  })
})
