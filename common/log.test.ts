import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

// The logger writes to fd 2 synchronously, so what it prints is read from a child process.
const root = fileURLToPath(new URL('..', import.meta.url))
const script = `
import { createLogger } from './common/log.ts'
const engine = createLogger('engine')
const kafka = engine.child('kafka')
const ingest = createLogger('ingest.binance')
engine.debug('engine debug')
kafka.debug('kafka debug', { partition: 3 })
ingest.info('ingest info')
ingest.warn('ingest warn', { err: Object.assign(new Error('boom'), { code: 'E_X' }) })
`

function run(env: Record<string, string>): string[] {
  const r = spawnSync(`${root}node_modules/.bin/node`, ['--input-type=module', '-e', script], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', ...env },
    encoding: 'utf8',
  })
  expect(r.status).toBe(0)
  expect(r.stdout).toBe('')
  return r.stderr.split('\n').filter(Boolean)
}

describe('log', () => {
  it('JSON lines with t, level, component, msg and the fields; errors without stack', () => {
    const lines = run({ CS_LOG_FORMAT: 'json' }).map((l) => JSON.parse(l) as Record<string, unknown>)
    expect(lines).toEqual([
      {
        t: expect.stringMatching(/^\d{4}-\d\d-\d\dT.*Z$/),
        level: 'info',
        component: 'ingest.binance',
        msg: 'ingest info',
      },
      {
        t: expect.any(String),
        level: 'warn',
        component: 'ingest.binance',
        msg: 'ingest warn',
        err: { name: 'Error', message: 'boom', code: 'E_X' },
      },
    ])
  })

  it('levels per component: a name covers its children, the longest match wins', () => {
    const lines = run({ CS_LOG_FORMAT: 'json', CS_LOG_LEVEL: 'warn,engine=debug,engine.kafka=info' }).map(
      (l) => JSON.parse(l) as { msg: string },
    )
    expect(lines.map((l) => l.msg)).toEqual(['engine debug', 'ingest warn'])
    const all = run({ CS_LOG_FORMAT: 'json', CS_LOG_LEVEL: 'error,engine=debug' }).map(
      (l) => (JSON.parse(l) as { msg: string }).msg,
    )
    expect(all).toEqual(['engine debug', 'kafka debug'])
  })

  it('CS_LOG_FORMAT=pretty: one readable line per record', () => {
    const lines = run({ CS_LOG_FORMAT: 'pretty' })
    expect(lines[0]).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: ingest\.binance: ingest info$/)
    expect(lines[1]).toMatch(/WARN: ingest\.binance: ingest warn/)
    expect(() => JSON.parse(lines[0]!)).toThrow()
  })
})
