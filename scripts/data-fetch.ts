import { createHash } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdir, rename, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { gzipSync } from 'node:zlib'
import { unzipSync } from 'fflate'
import { ConfigError, StreamsError } from '../common/errors.ts'
import { progress } from './backfill.ts'

// `data fetch`: downloads Binance's public daily spot kline archives (data.binance.vision,
// `<S>-<iv>-<date>.zip` + `.zip.CHECKSUM` with its SHA-256) into the layout the replay server,
// tests and benches read (data/binance/SOURCES.md): klines/spot/<S>/<iv>/<S>-<iv>-<date>.csv.gz.
// Every archive is checked against its checksum before anything is written; files already
// present are skipped, so an interrupted fetch resumes; a day Binance has not published (404)
// is reported, not fatal. Writes go to a temp name and are renamed, so no half file remains.

export interface FetchOptions {
  symbols: string[]
  intervals: string[]
  /** UTC dates, inclusive (YYYY-MM-DD). */
  from: string
  to: string
  /** Archive host; default https://data.binance.vision */
  baseUrl: string
  /** Data folder (klines/spot/... below it). */
  out: string
  concurrency?: number
  retries?: number
}

export interface FetchResult {
  downloaded: number
  skipped: number
  /** Archives the host does not have (404), as `<S>-<iv>-<date>`. */
  missing: string[]
}

export class DataFetchError extends StreamsError {
  constructor(code: string, message: string, options?: ErrorOptions) {
    super('INGEST', `DATA_${code}`, message, options)
    this.name = 'DataFetchError'
  }
}

const DAY = 86_400_000

function days(from: string, to: string): string[] {
  const a = Date.parse(`${from}T00:00:00Z`)
  const b = Date.parse(`${to}T00:00:00Z`)
  if (!(a <= b))
    throw new ConfigError('INVALID', `data fetch: bad date range ${from}..${to} (YYYY-MM-DD, from ≤ to)`)
  const out: string[] = []
  for (let t = a; t <= b; t += DAY) out.push(new Date(t).toISOString().slice(0, 10))
  return out
}

/** GET with bounded retries on network errors and 5xx; 404 → undefined. */
async function download(url: string, retries: number): Promise<Uint8Array | undefined> {
  for (let attempt = 0; ; attempt++) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(60_000) })
      if (res.status === 404) return undefined
      if (res.ok) return new Uint8Array(await res.arrayBuffer())
      if (res.status < 500 || attempt >= retries)
        throw new DataFetchError('HTTP', `GET ${url}: HTTP ${res.status}`)
    } catch (e) {
      if (e instanceof DataFetchError || attempt >= retries)
        throw e instanceof DataFetchError
          ? e
          : new DataFetchError('HTTP', `GET ${url} failed: ${(e as Error).message}`)
    }
    await sleep(200 * 2 ** attempt)
  }
}

/** The CSV inside a verified archive. */
export function unpackArchive(name: string, zip: Uint8Array, checksumFile: string): Uint8Array {
  const expected = checksumFile.trim().split(/\s+/)[0]?.toLowerCase()
  const actual = createHash('sha256').update(zip).digest('hex')
  if (expected !== actual)
    throw new DataFetchError(
      'CHECKSUM',
      `${name}.zip: SHA-256 ${actual} does not match its CHECKSUM file (${expected})`,
    )
  const csv = Object.entries(unzipSync(zip)).find(([n]) => n.endsWith('.csv'))
  if (!csv) throw new DataFetchError('ARCHIVE', `${name}.zip holds no .csv file`)
  return csv[1]
}

export async function fetchArchives(o: FetchOptions): Promise<FetchResult> {
  const jobs = o.symbols.flatMap((s) =>
    o.intervals.flatMap((iv) => days(o.from, o.to).map((d) => ({ s, iv, name: `${s}-${iv}-${d}` }))),
  )
  const result: FetchResult = { downloaded: 0, skipped: 0, missing: [] }
  const bar = progress('data fetch', jobs.length)
  let done = 0
  const base = o.baseUrl.replace(/\/$/, '')
  const one = async ({ s, iv, name }: (typeof jobs)[number]) => {
    const target = join(o.out, 'klines', 'spot', s, iv, `${name}.csv.gz`)
    if (existsSync(target)) {
      result.skipped++
      return
    }
    const url = `${base}/data/spot/daily/klines/${s}/${iv}/${name}.zip`
    const zip = await download(url, o.retries ?? 3)
    const sum = zip && (await download(`${url}.CHECKSUM`, o.retries ?? 3))
    if (!zip || !sum) {
      result.missing.push(name)
      return
    }
    const csv = unpackArchive(name, zip, Buffer.from(sum).toString('utf8'))
    await mkdir(dirname(target), { recursive: true })
    await writeFile(`${target}.tmp`, gzipSync(csv, { level: 9 }))
    await rename(`${target}.tmp`, target)
    result.downloaded++
  }
  const queue = [...jobs]
  const worker = async () => {
    for (let job = queue.shift(); job; job = queue.shift()) {
      try {
        await one(job)
      } catch (e) {
        queue.length = 0 // stop the other workers too: the first failure is the answer
        throw e
      }
      bar(++done)
    }
  }
  await Promise.all(Array.from({ length: Math.max(1, o.concurrency ?? 4) }, worker))
  result.missing.sort()
  return result
}
