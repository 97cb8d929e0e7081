import { createHash } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { gunzipSync } from 'node:zlib'
import { zipSync } from 'fflate'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { binanceDataDir } from '../common/data.ts'
import { tempDirs } from '../test/tmpdirs.ts'
import { fetchArchives } from './data-fetch.ts'

// A local HTTP server with data.binance.vision's archive layout, built from the recorded sample:
// each real daily CSV zipped, with its CHECKSUM file as Binance publishes it.

const recorded = (s: string, iv: string, d: string) =>
  gunzipSync(readFileSync(join(binanceDataDir(), 'klines', 'spot', s, iv, `${s}-${iv}-${d}.csv.gz`)))

const files = new Map<string, Buffer>()
const hits = new Map<string, number>()
const failOnce = new Set<string>()
let server: Server
let base = ''
const tmp = tempDirs('cs-data-fetch-')

function publish(s: string, iv: string, d: string, corrupt = false) {
  const name = `${s}-${iv}-${d}`
  const zip = Buffer.from(zipSync({ [`${name}.csv`]: recorded(s, iv, d) }))
  const sum = createHash('sha256').update(zip).digest('hex')
  const path = `/data/spot/daily/klines/${s}/${iv}/${name}.zip`
  files.set(path, zip)
  files.set(`${path}.CHECKSUM`, Buffer.from(`${corrupt ? '0'.repeat(64) : sum}  ${name}.zip\n`))
}

beforeAll(async () => {
  for (const d of ['2024-01-01', '2024-01-02']) {
    publish('BTCUSDT', '1m', d)
    publish('PEPEUSDT', '1m', d)
    publish('ETHUSDT', '4h', d)
  }
  publish('SOLUSDT', '1m', '2024-01-01', true)
  server = createServer((req, res) => {
    const path = req.url ?? ''
    hits.set(path, (hits.get(path) ?? 0) + 1)
    if (failOnce.delete(path)) return res.writeHead(503).end()
    const body = files.get(path)
    if (!body) return res.writeHead(404).end()
    res.writeHead(200, { 'content-type': 'application/zip' }).end(body)
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})
afterAll(() => new Promise<void>((r) => server.close(() => r())))

describe('data fetch', () => {
  it('writes verified archives in the recorded layout, byte-equal CSVs; a rerun skips them', async () => {
    const out = tmp()
    failOnce.add('/data/spot/daily/klines/BTCUSDT/1m/BTCUSDT-1m-2024-01-02.zip') // a 503 is retried
    const opts = {
      symbols: ['BTCUSDT', 'PEPEUSDT'],
      intervals: ['1m'],
      from: '2024-01-01',
      to: '2024-01-03', // the 3rd is not published: reported missing
      baseUrl: base,
      out,
    }
    const r = await fetchArchives(opts)
    expect(r).toEqual({
      downloaded: 4,
      skipped: 0,
      missing: ['BTCUSDT-1m-2024-01-03', 'PEPEUSDT-1m-2024-01-03'],
    })
    for (const s of ['BTCUSDT', 'PEPEUSDT'])
      for (const d of ['2024-01-01', '2024-01-02']) {
        const f = join(out, 'klines', 'spot', s, '1m', `${s}-1m-${d}.csv.gz`)
        expect(gunzipSync(readFileSync(f)).equals(recorded(s, '1m', d))).toBe(true)
      }
    expect(hits.get('/data/spot/daily/klines/BTCUSDT/1m/BTCUSDT-1m-2024-01-02.zip')).toBe(2)
    const again = await fetchArchives(opts)
    expect(again).toEqual({ downloaded: 0, skipped: 4, missing: r.missing })
  })

  it('other intervals use the same layout', async () => {
    const out = tmp()
    const r = await fetchArchives({
      symbols: ['ETHUSDT'],
      intervals: ['4h'],
      from: '2024-01-01',
      to: '2024-01-02',
      baseUrl: base,
      out,
    })
    expect(r.downloaded).toBe(2)
    const rows = gunzipSync(readFileSync(join(out, 'klines/spot/ETHUSDT/4h/ETHUSDT-4h-2024-01-02.csv.gz')))
      .toString()
      .trim()
      .split('\n')
    expect(rows).toHaveLength(6)
  })

  it('a checksum mismatch fails with the file named and writes nothing', async () => {
    const out = tmp()
    const run = fetchArchives({
      symbols: ['SOLUSDT'],
      intervals: ['1m'],
      from: '2024-01-01',
      to: '2024-01-01',
      baseUrl: base,
      out,
    })
    await expect(run).rejects.toMatchObject({
      code: 'INGEST_DATA_CHECKSUM',
      message: /SOLUSDT-1m-2024-01-01\.zip/,
    })
    expect(existsSync(join(out, 'klines/spot/SOLUSDT/1m/SOLUSDT-1m-2024-01-01.csv.gz'))).toBe(false)
  })

  it('a reversed date range is a usage error', async () => {
    const run = fetchArchives({
      symbols: ['BTCUSDT'],
      intervals: ['1m'],
      from: '2024-01-02',
      to: '2024-01-01',
      baseUrl: base,
      out: tmp(),
    })
    await expect(run).rejects.toMatchObject({ code: 'CONFIG_INVALID' })
  })
})
