import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { afterAll, describe, expect, it } from 'vitest'
import { loadConfig } from '../../common/config.ts'
import { waitForKafka } from '../../common/connect.ts'
import { until } from '../../test/until.ts'
import { KafkaTransport } from './transport.ts'

// The engine on real Kafka: instances are separate processes (engine-instance.fixture.ts), each
// with its own state dir, in one application id. A windowed count (10 s windows, 1 day grace so
// nothing is late) must give, per key and window, the count a model computes from the input.

const cfg = loadConfig()
const run = `${Date.now().toString(36)}${process.pid}`
const WINDOW_MS = 10_000
const KEYS = 12
const N = 24_000
const BASE = 1_700_000_040_000 // multiple of WINDOW_MS
const dir = mkdtempSync(join(tmpdir(), 'cs-kafka-engine-'))
const transport = new KafkaTransport({ brokers: cfg.kafkaBrokers, clientId: `ke-${run}` })
const children = new Set<ChildProcess>()
afterAll(async () => {
  for (const c of children) c.kill('SIGKILL')
  await transport.close()
  rmSync(dir, { recursive: true, force: true })
})

// Timestamps are a permutation over 300 s, so each half of the input touches every window.
const ts = (i: number) => BASE + ((i * 7919) % 30_000) * 10
const keyOf = (i: number) => `S${i % KEYS}`

function model(from: number, to: number): Map<string, number> {
  const m = new Map<string, number>()
  for (let i = from; i < to; i++) {
    const k = `${keyOf(i)}@${Math.floor(ts(i) / WINDOW_MS) * WINDOW_MS}`
    m.set(k, (m.get(k) ?? 0) + 1)
  }
  return m
}

async function produce(topic: string, from: number, to: number, batch = 4000, pauseMs = 0): Promise<void> {
  const p = transport.producer()
  for (let i = from; i < to; i += batch) {
    const recs = []
    for (let j = i; j < Math.min(to, i + batch); j++)
      recs.push({ topic, key: keyOf(j), value: JSON.stringify({ i: j }), timestamp: ts(j) })
    await p.send(recs)
    if (pauseMs) await new Promise((r) => setTimeout(r, pauseMs))
  }
  await p.close()
}

/** Last value per key and window in the sink topic (offset order within a partition). */
async function finalOutput(topic: string): Promise<Map<string, number>> {
  const out = new Map<string, number>()
  for (let partition = 0; partition < 6; partition++)
    for await (const batch of transport.read({ topic, partition }, 0))
      for (const r of batch) {
        const v = JSON.parse(r.value) as { start: number; count: number }
        out.set(`${r.key}@${v.start}`, v.count)
      }
  return out
}

async function waitForOutput(topic: string, expected: Map<string, number>, ms = 60_000) {
  const deadline = Date.now() + ms
  let got = new Map<string, number>()
  while (Date.now() < deadline) {
    got = await finalOutput(topic)
    if (same(got, expected)) break
    await new Promise((r) => setTimeout(r, 1000))
  }
  return got
}

const same = (a: Map<string, number>, b: Map<string, number>) =>
  a.size === b.size && [...a].every(([k, v]) => b.get(k) === v)

/** Differences by key: missing windows and differing values, for a readable failure. */
function diff(got: Map<string, number>, expected: Map<string, number>) {
  const missing = [...expected.keys()].filter((k) => !got.has(k))
  const differing = [...expected].filter(([k, v]) => got.has(k) && got.get(k) !== v).map(([k]) => k)
  const extra = [...got.keys()].filter((k) => !expected.has(k))
  return { missing: missing.slice(0, 5), differing: differing.slice(0, 5), extra: extra.slice(0, 5) }
}

interface Instance {
  proc: ChildProcess
  tasks: Set<string>
  closed: Promise<void>
}

async function startInstance(
  appId: string,
  input: string,
  output: string,
  stateDir: string,
  guarantee: 'at_least_once' | 'exactly_once' = 'at_least_once',
): Promise<Instance> {
  const proc = spawn(
    process.execPath,
    [
      new URL('./engine-instance.fixture.ts', import.meta.url).pathname,
      cfg.kafkaBrokers.join(','),
      appId,
      input,
      output,
      stateDir,
      guarantee,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, CS_LOG_LEVEL: 'info' } },
  )
  children.add(proc)
  const tasks = new Set<string>()
  let started: () => void = () => {}
  const ready = new Promise<void>((r) => {
    started = r
  })
  createInterface({ input: proc.stdout! }).on('line', (line) => {
    if (line.includes('"started"')) started()
  })
  createInterface({ input: proc.stderr! }).on('line', (line) => {
    if (line.includes('"msg":"assigned"')) for (const t of JSON.parse(line).tasks as string[]) tasks.add(t)
    else if (/"level":"(warn|error)"|failed/.test(line)) process.stderr.write(`[${proc.pid}] ${line}\n`)
  })
  const closed = new Promise<void>((r) => proc.once('exit', () => r()))
  const timeout = new Promise<never>((_, reject) =>
    setTimeout(() => reject(new Error(`instance ${proc.pid} did not start in 30 s`)), 30_000).unref(),
  )
  await Promise.race([
    ready,
    timeout,
    closed.then(() => Promise.reject(new Error('instance exited at start'))),
  ])
  return { proc, tasks, closed }
}

async function stop(i: Instance, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  i.proc.kill(signal)
  await i.closed
  children.delete(i.proc)
}

const bothAssigned = (a: Instance, b: Instance) =>
  until('both instances to get tasks', () => a.tasks.size > 0 && b.tasks.size > 0, 30_000, 100)

async function topics(name: string): Promise<{ input: string; output: string }> {
  const input = `ke-${name}-in-${run}`
  const output = `ke-${name}-out-${run}`
  await transport.createTopics([
    { name: input, partitions: 6 },
    { name: output, partitions: 6 },
  ])
  return { input, output }
}

describe('engine on Kafka (instances in separate processes)', () => {
  it('two instances in one application split 6 partitions and give the same counts as one instance', async () => {
    await waitForKafka(cfg.kafkaBrokers)
    const { input, output } = await topics('split')
    const single = `ke-single-out-${run}`
    await transport.createTopics([{ name: single, partitions: 6 }])
    await produce(input, 0, N)
    const expected = model(0, N)

    const one = await startInstance(`ke-one-${run}`, input, single, join(dir, 'one'))
    const oneOut = await waitForOutput(single, expected)
    await stop(one)
    expect(diff(oneOut, expected)).toEqual({ missing: [], differing: [], extra: [] })

    // The second application reads a copy of the input that is written once both instances hold tasks.
    const input2 = `${input}-2`
    await transport.createTopics([{ name: input2, partitions: 6 }])
    const a = await startInstance(`ke-two-${run}`, input2, output, join(dir, 'two-a'))
    const b = await startInstance(`ke-two-${run}`, input2, output, join(dir, 'two-b'))
    await bothAssigned(a, b)
    await produce(input2, 0, N)
    const twoOut = await waitForOutput(output, expected)
    expect(diff(twoOut, oneOut)).toEqual({ missing: [], differing: [], extra: [] })
    // Both held tasks, and together all six.
    expect(a.tasks.size).toBeGreaterThan(0)
    expect(b.tasks.size).toBeGreaterThan(0)
    expect(new Set([...a.tasks, ...b.tasks]).size).toBe(6)
    await Promise.all([stop(a), stop(b)])
  })

  // Exactly once: at least once, a kill between a commit's send and its offsets counts the
  // replayed records twice (the changelog already has them), so exact counts are not promised.
  it('an instance killed with SIGKILL mid-stream (exactly once): the other takes over and the final counts equal an uninterrupted run', async () => {
    const { input, output } = await topics('kill')
    const app = `ke-kill-${run}`
    const a = await startInstance(app, input, output, join(dir, 'kill-a'), 'exactly_once')
    const b = await startInstance(app, input, output, join(dir, 'kill-b'), 'exactly_once')
    // Input arrives over a few seconds; A dies halfway through.
    await bothAssigned(a, b)
    await produce(input, 0, N / 2, 1000, 100)
    await stop(a, 'SIGKILL')
    await produce(input, N / 2, N, 1000, 100)
    const expected = model(0, N)
    const got = await waitForOutput(output, expected, 90_000)
    expect(diff(got, expected)).toEqual({ missing: [], differing: [], extra: [] })
    expect(b.tasks.size).toBe(6)
    await stop(b)
  })

  it('restores local state from the changelog after the state dir is deleted; output unchanged', async () => {
    const { input, output } = await topics('restore')
    const app = `ke-restore-${run}`
    const stateDir = join(dir, 'restore')
    await produce(input, 0, N / 2)
    const first = await startInstance(app, input, output, stateDir)
    const half = await waitForOutput(output, model(0, N / 2))
    expect(diff(half, model(0, N / 2))).toEqual({ missing: [], differing: [], extra: [] })
    await stop(first)
    rmSync(stateDir, { recursive: true, force: true })

    // Every window gets records in both halves: counts are right only if the first half's state came back.
    await produce(input, N / 2, N)
    const second = await startInstance(app, input, output, stateDir)
    const expected = model(0, N)
    const got = await waitForOutput(output, expected)
    expect(diff(got, expected)).toEqual({ missing: [], differing: [], extra: [] })
    await stop(second)
  })
})
