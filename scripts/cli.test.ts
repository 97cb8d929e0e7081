import { spawn, spawnSync } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { settings } from '../common/config.ts'
import { program } from './cli.ts'

// The CLI as an operator meets it: child processes of `node scripts/cli.ts` (Node 24 from
// node_modules/.bin), a clean environment plus the variables under test.
const root = fileURLToPath(new URL('..', import.meta.url))
const node = `${root}node_modules/.bin/node`
const BOUND_MS = 15_000
// Never the clone's .data: a command that gets further than planned writes into a temp folder.
const dataDir = mkdtempSync(join(tmpdir(), 'cs-cli-'))
afterAll(() => rmSync(dataDir, { recursive: true, force: true }))

interface Run {
  code: number | null
  stdout: string
  stderr: string
  /** stderr lines, empty ones dropped. */
  lines: string[]
  killed: boolean
}

async function cli(args: string[], env: Record<string, string> = {}, boundMs = BOUND_MS): Promise<Run> {
  const child = spawn(node, ['scripts/cli.ts', ...args], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', CS_DATA_DIR: dataDir, ...env },
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d) => (stdout += d))
  child.stderr.on('data', (d) => (stderr += d))
  let killed = false
  const timer = setTimeout(() => {
    killed = true
    child.kill('SIGKILL')
  }, boundMs)
  const [code] = (await once(child, 'close')) as [number | null]
  clearTimeout(timer)
  return { code, stdout, stderr, lines: stderr.split('\n').filter((l) => l.trim() !== ''), killed }
}

const noStack = (r: Run) => expect(r.stderr).not.toMatch(/^\s+at .+[(:]\d+/m)

// One invalid value per setting; a new setting needs a row here (the first test says which).
const invalid: Record<string, string> = {
  CS_TRANSPORT: 'kafkaa',
  CS_DATA_DIR: 'package.json',
  CS_PROCESSING_GUARANTEE: 'exactly-once',
  CS_PARTITIONS: '0',
  KAFKA_BROKERS: 'localhost',
  REDIS_URL: 'http://127.0.0.1:6379',
  MONGO_URL: 'localhost:27017',
  MONGO_DB: 'my.db',
  REDIS_TTL_SECONDS: '0',
  REDIS_KLINE_1M_KEEP: '-5',
  REDIS_TRADES_KEEP: '1e3x',
  CS_SYMBOLS: 'BTC-USDT',
  BINANCE_WS_URL: 'https://stream.binance.com',
  BINANCE_REST_URL: 'ftp://api.binance.com',
  CS_SOURCE: 'live',
  CS_REPLAY_FROM: '2019-01-01T00:00:00Z',
  CS_REPLAY_PORT: '70000',
  CS_REPLAY_SPEED: 'abc',
  CS_GATEWAY_PORT: 'http',
  CS_GATEWAY_READER: 'mongo',
  CORS_ORIGINS: 'example.com',
  CS_LOG_LEVEL: 'verbose',
  CS_LOG_FORMAT: 'xml',
  CS_BINANCE_DATA: 'no/such/folder',
}

describe('configuration errors', () => {
  it('has an invalid example for every setting', () => {
    const missing = Object.values(settings)
      .map((s) => s.env)
      .filter((env) => !(env in invalid))
    expect(missing, 'add an invalid value for these to scripts/cli.test.ts').toEqual([])
  })

  it.concurrent.each(Object.entries(invalid))(
    '%s=%j: exit 2, one line naming it, no stack',
    async (env, value) => {
      const r = await cli(['config'], { [env]: value })
      expect(r.killed).toBe(false)
      expect(r.code).toBe(2)
      expect(r.lines).toHaveLength(1)
      expect(r.lines[0]).toContain(`${env}=${JSON.stringify(value)}`)
      expect(r.lines[0]).toContain('expected ')
      noStack(r)
    },
  )

  it('reports several invalid settings together, one line each', async () => {
    const bad = { CS_REPLAY_SPEED: 'abc', CS_TRANSPORT: 'kafkaa', CS_GATEWAY_PORT: '-1', MONGO_URI: 'nope' }
    const r = await cli(['platform'], bad)
    expect(r.code).toBe(2)
    expect(r.lines).toHaveLength(4)
    for (const name of Object.keys(bad)) expect(r.stderr).toContain(`${name}=`)
    noStack(r)
  })

  it('names the flag and its variable for a bad flag value', async () => {
    const r = await cli(['replay', '--speed', 'fast'])
    expect(r.code).toBe(2)
    expect(r.lines).toEqual([
      'error: --speed (CS_REPLAY_SPEED)="fast" is not allowed: expected a number > 0 or max',
    ])
  })

  it('an unknown replay symbol lists the valid ones', async () => {
    const r = await cli(['platform'], { CS_SYMBOLS: 'BTCUSDT,ETHUSD' })
    expect(r.code).toBe(2)
    expect(r.lines).toHaveLength(1)
    expect(r.lines[0]).toMatch(
      /CS_SYMBOLS: unknown symbol ETHUSD \(ETHUSD: did you mean ETHUSDT\?\); the replay server serves BTCUSDT, ETHUSDT/,
    )
    noStack(r)
  })
})

describe('aliases and unknown variables', () => {
  const show = async (env: Record<string, string>) => {
    const r = await cli(['config', '--json'], env)
    expect(r.code).toBe(0)
    return { rows: JSON.parse(r.stdout) as { variable: string; value: string; source: string }[], r }
  }
  const row = (rows: { variable: string; value: string; source: string }[], v: string) =>
    rows.find((x) => x.variable === v)!

  it('accepts the original design names', async () => {
    const { rows } = await show({
      MONGO_URI: 'mongodb://db.example:27017/market',
      KAFKA_BOOTSTRAP: 'k1:9092,k2:9092',
      REDIS_HOST: 'cache.example',
      REDIS_PORT: '6380',
      REDIS_PASSWORD: 'pw',
      MONGO_DB: 'MARKET',
      CORS_ORIGINS: 'https://app.example',
    })
    expect(row(rows, 'MONGO_URL')).toEqual({
      variable: 'MONGO_URL',
      value: 'mongodb://db.example:27017/market',
      source: 'MONGO_URI',
    })
    expect(row(rows, 'KAFKA_BROKERS')).toMatchObject({ value: 'k1:9092,k2:9092', source: 'KAFKA_BOOTSTRAP' })
    expect(row(rows, 'REDIS_URL')).toMatchObject({ value: 'redis://:***@cache.example:6380' })
    expect(row(rows, 'MONGO_DB')).toMatchObject({ value: 'MARKET', source: 'MONGO_DB' })
    expect(row(rows, 'CORS_ORIGINS')).toMatchObject({ value: 'https://app.example', source: 'CORS_ORIGINS' })
  })

  it('the primary name wins over an alias, with a warning', async () => {
    const { rows, r } = await show({ MONGO_URL: 'mongodb://a/x', MONGO_URI: 'mongodb://b/y' })
    expect(row(rows, 'MONGO_URL')).toMatchObject({ value: 'mongodb://a/x', source: 'MONGO_URL' })
    expect(r.stderr).toContain('MONGO_URI is ignored: MONGO_URL is set')
  })

  it('warns about an unknown CS_ variable with the nearest name, and goes on', async () => {
    const { rows, r } = await show({ CS_TRANSPROT: 'kafka', CS_WHATEVER_ELSE: '1' })
    expect(row(rows, 'CS_TRANSPORT').value).toBe('embedded')
    const warnings = r.lines.map((l) => JSON.parse(l) as { level: string; msg: string })
    expect(warnings).toEqual([
      expect.objectContaining({
        level: 'warn',
        msg: 'unknown variable CS_TRANSPROT is ignored; did you mean CS_TRANSPORT?',
      }),
      expect.objectContaining({ level: 'warn', msg: 'unknown variable CS_WHATEVER_ELSE is ignored' }),
    ])
  })
})

describe('help, version, usage errors', () => {
  // Every command path of the program, e.g. ['data', 'fetch'].
  const paths: string[][] = []
  const walk = (cmd: ReturnType<typeof program>, prefix: string[]) => {
    for (const c of cmd.commands) {
      if (c.name() === 'help') continue
      paths.push([...prefix, c.name()])
      walk(c, [...prefix, c.name()])
    }
  }
  walk(program(), [])

  it('lists every command in the program help', async () => {
    const r = await cli(['--help'])
    expect(r.code).toBe(0)
    for (const p of paths.filter((x) => x.length === 1))
      expect(r.stdout).toMatch(new RegExp(`^  ${p[0]} `, 'm'))
    for (const role of [
      'platform',
      'ingest',
      'process',
      'sink',
      'gateway',
      'backfill',
      'train',
      'retention',
      'replay',
      'data',
    ])
      expect(paths).toContainEqual([role])
    expect(paths).toContainEqual(['data', 'fetch'])
  })

  it.concurrent.each(paths.map((p) => [p.join(' '), p]))(
    '%s --help: options with default and env',
    async (_, p) => {
      const r = await cli([...(p as string[]), '--help'])
      expect(r.code).toBe(0)
      expect(r.stdout).toContain(`Usage: node scripts/cli.ts ${(p as string[]).join(' ')}`)
      const cmd = (p as string[]).reduce((c, name) => c.commands.find((x) => x.name() === name)!, program())
      for (const o of cmd.options) expect(r.stdout).toContain(o.long!)
      // every flag that stands for a setting shows the setting's default and variable
      for (const m of r.stdout.matchAll(/env: ([A-Z_0-9]+)\)/g)) {
        const s = Object.values(settings).find((x) => x.env === m[1])!
        expect(s, m[1]).toBeDefined()
      }
    },
  )

  it('replay --help shows the defaults and variables of its settings', async () => {
    const r = await cli(['replay', '--help'])
    const flat = r.stdout.replace(/\s+/g, ' ')
    expect(flat).toContain('(default: 9443, env: CS_REPLAY_PORT)')
    expect(flat).toContain('(default: 60, env: CS_REPLAY_SPEED)')
  })

  it('--version prints the package version', async () => {
    const { version } = JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as { version: string }
    const r = await cli(['--version'])
    expect(r.code).toBe(0)
    expect(r.stdout.trim()).toBe(version)
  })

  it.each([
    [['nope'], /unknown command 'nope'/],
    [['platform', '--bogus'], /unknown option '--bogus'/],
    [['backfill', '--symbol', 'BTCUSDT'], /required option '--from <date>' not specified/],
    [['backfill', '--symbol', 'BTCUSDT', '--from', '2024-01-01', '--to', '2024-02-30'], /UTC date/],
    [
      ['backfill', '--symbol', 'BTCUSDT', '--from', 'x', '--to', '2024-01-02', '--source', 'web'],
      /UTC date|Allowed choices/,
    ],
  ])('usage error %j → exit 2', async (args, message) => {
    const r = await cli(args as string[])
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(message as RegExp)
    noStack(r)
  })
})

describe('runtime failures say what to do', () => {
  it('Kafka unreachable: exit 1 within the bound, naming the address and how to start a broker', async () => {
    const r = await cli(['process'], { CS_TRANSPORT: 'kafka', KAFKA_BROKERS: '127.0.0.1:1' })
    expect(r.killed).toBe(false)
    expect(r.code).toBe(1)
    expect(r.lines).toHaveLength(1)
    const line = JSON.parse(r.lines[0]!) as { code: string; msg: string }
    expect(line.code).toBe('SERVICE_KAFKA_UNREACHABLE')
    expect(line.msg).toContain('127.0.0.1:1')
    expect(line.msg).toContain('npm run services -- start kafka')
    expect(line.msg).toContain('CS_TRANSPORT=embedded')
  })

  it('Binance unreachable in live mode: suggests CS_SOURCE=replay', async () => {
    const r = await cli(['ingest'], { CS_SOURCE: 'binance', BINANCE_REST_URL: 'http://127.0.0.1:1' })
    expect(r.code).toBe(1)
    expect(r.lines).toHaveLength(1)
    const line = JSON.parse(r.lines[0]!) as { code: string; msg: string }
    expect(line.code).toBe('INGEST_BINANCE_UNREACHABLE')
    expect(line.msg).toContain('CS_SOURCE=replay')
  })

  it('a port in use names the port and its variable', async () => {
    const taken = createServer()
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve))
    const port = (taken.address() as { port: number }).port
    try {
      const r = await cli(['replay', '--port', String(port)])
      expect(r.code).toBe(1)
      const line = JSON.parse(r.lines.at(-1)!) as { code: string; msg: string }
      expect(line.code).toBe('CONFIG_PORT_IN_USE')
      expect(line.msg).toContain(`127.0.0.1:${port}`)
      expect(line.msg).toContain('CS_REPLAY_PORT')
      noStack(r)
    } finally {
      taken.close()
    }
  })
})

describe('failures by kind', () => {
  // A throwaway command through the real entry point (main), in a child process.
  const failing = (body: string) => {
    const script = `
      import { main } from './scripts/cli.ts'
      import { StreamsError } from './common/errors.ts'
      await main(['node', 'cli', 'boom'], [{ name: 'boom', description: 'fails', action: async () => { ${body} } }])`
    const r = spawnSync(node, ['--input-type=module', '-e', script], {
      cwd: root,
      env: { PATH: process.env.PATH ?? '', CS_DATA_DIR: dataDir },
      encoding: 'utf8',
    })
    return { code: r.status, lines: r.stderr.split('\n').filter(Boolean), stderr: r.stderr }
  }

  it('our own runtime error: exit 1, one line with its code', () => {
    const r = failing(`throw new StreamsError('SINK', 'DOWN', 'MongoDB went away; start it again')`)
    expect(r.code).toBe(1)
    expect(r.lines).toHaveLength(1)
    expect(JSON.parse(r.lines[0]!)).toMatchObject({ level: 'error', code: 'SINK_DOWN' })
  })

  it('a bug: exit 1 with its stack trace', () => {
    const r = failing(`const o = undefined; o.field = 1`)
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('TypeError')
    expect(r.stderr).toMatch(/^\s+at .+/m)
  })

  it('a failure in the background after start is reported the same way', () => {
    const r = failing(
      `setTimeout(() => Promise.reject(new StreamsError('INGEST', 'LOST', 'feed lost')), 10); await new Promise(() => {})`,
    )
    expect(r.code).toBe(1)
    expect(JSON.parse(r.lines[0]!)).toMatchObject({ code: 'INGEST_LOST' })
  })
})
