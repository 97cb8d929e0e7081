import { spawn } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { describe, expect, it } from 'vitest'
import { tempDirs } from '../../test/tmpdirs.ts'
import { EmbeddedTransport } from './transport.ts'

// Exactly-once on the embedded log: a writer committing transactions in a loop (txn-writer.fixture.ts)
// is SIGKILLed at random points, ten times. After each crash the log must show whole transactions
// only: every committed one (the group offset says how many) with all its records, in order, and
// nothing of the one a kill cut short.

const tmp = tempDirs('cs-txn-')

async function runUntilKilled(dir: string, ms: number): Promise<void> {
  const child = spawn(process.execPath, [new URL('./txn-writer.fixture.ts', import.meta.url).pathname, dir], {
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  await new Promise<void>((resolve) =>
    createInterface({ input: child.stdout! }).once('line', () => resolve()),
  )
  await new Promise((r) => setTimeout(r, ms))
  child.kill('SIGKILL')
  await new Promise((r) => child.on('exit', r))
}

describe('embedded exactly-once commits', () => {
  it('a writer SIGKILLed mid-commit leaves whole transactions: committed ones complete, the cut one invisible', async () => {
    const dir = tmp()
    for (let k = 0; k < 10; k++) await runUntilKilled(dir, 30 + Math.random() * 200)
    const t = new EmbeddedTransport({ dir })
    try {
      const consumer = await t.consumer({ groupId: 'g', topics: ['in'] })
      const n = (await consumer.committed([{ topic: 'in', partition: 0 }])).get('in-0') ?? 0
      await consumer.close()
      expect(n).toBeGreaterThan(10)
      for (const partition of [0, 1]) {
        const values: number[] = []
        for await (const b of t.read({ topic: 'out', partition }, 0))
          for (const r of b) values.push(Number(r.value))
        const expected = Array.from({ length: n }, (_, i) => Array(40).fill(i + 1)).flat()
        expect(values.length).toBe(expected.length)
        expect(values).toEqual(expected)
      }
      const aborted = join(dir, 'txn', 'aborted.json')
      console.log(
        'transactions committed',
        n,
        'aborted ranges',
        existsSync(aborted) ? readFileSync(aborted, 'utf8') : 'none',
      )
    } finally {
      await t.close()
    }
  })
})
