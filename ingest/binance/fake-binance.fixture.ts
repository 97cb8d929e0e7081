import { readFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { gunzipSync } from 'node:zlib'
import { WebSocketServer } from 'ws'
import { binanceDataDir } from '../../common/data.ts'

// A tiny stand-in for Binance (ws combined streams + the three REST calls) that plays recorded
// data.binance.vision 1m days as fast as asked, for tests until ingest/replay/ lands. It can drop
// client connections at random and inject malformed frames.

const KLINES = join(binanceDataDir(), 'klines', 'spot')

export interface FakeBinanceOptions {
  symbols: string[]
  day: string
  /** ms between minutes (the 1m candle of each symbol closes every tick). */
  tickMs: number
  /** Probability per tick of dropping every client connection. */
  dropRate?: number
  /** Probability per tick of sending a malformed frame. */
  junkRate?: number
  /** Probability per tick and symbol of not sending a depth diff (a sequence gap). */
  gapRate?: number
  seed?: number
}

type Row = string[]

export class FakeBinance {
  private http: Server | undefined
  private wss: WebSocketServer | undefined
  private timer: NodeJS.Timeout | undefined
  private readonly rows = new Map<string, Row[]>()
  private readonly o: FakeBinanceOptions
  /** Index of the currently open minute. */
  minute = 0
  drops = 0
  junk = 0
  private x: number
  /** Per symbol: the exact book (price in cents → qty) and its top 20 at each update id. */
  private readonly books = new Map<
    string,
    { id: number; bids: Map<number, string>; asks: Map<number, string> }
  >()
  readonly history = new Map<string, Map<number, { bids: [string, string][]; asks: [string, string][] }>>()
  gaps = 0

  constructor(o: FakeBinanceOptions) {
    this.o = o
    this.x = o.seed ?? 42
    for (const s of o.symbols) {
      this.initBook(s)
      const csv = gunzipSync(readFileSync(`${KLINES}/${s}/1m/${s}-1m-${o.day}.csv.gz`)).toString()
      this.rows.set(
        s,
        csv
          .trim()
          .split('\n')
          .map((l) => l.split(',')),
      )
    }
  }

  private initBook(s: string): void {
    const bids = new Map<number, string>()
    const asks = new Map<number, string>()
    for (let i = 1; i <= 30; i++) {
      bids.set(100_000 - i, '1.00000000')
      asks.set(100_000 + i, '1.00000000')
    }
    this.books.set(s, { id: 1000, bids, asks })
    this.history.set(s, new Map())
    this.remember(s)
  }

  private top(side: Map<number, string>, desc: boolean): [string, string][] {
    return [...side]
      .sort((a, b) => (desc ? b[0] - a[0] : a[0] - b[0]))
      .slice(0, 20)
      .map(([p, q]) => [(p / 100).toFixed(2), q])
  }

  private remember(s: string): void {
    const b = this.books.get(s)!
    this.history.get(s)!.set(b.id, { bids: this.top(b.bids, true), asks: this.top(b.asks, false) })
  }

  /** One diff event: two bid and two ask levels change (qty 0 deletes), never crossing. */
  private diff(s: string, E: number): string {
    const b = this.books.get(s)!
    const U = b.id + 1
    const bl: [string, string][] = []
    const al: [string, string][] = []
    for (let k = 0; k < 2; k++) {
      const bp = 100_000 - 1 - Math.floor(this.rand() * 40)
      const ap = 100_000 + 1 + Math.floor(this.rand() * 40)
      const bq = this.rand() < 0.3 ? '0.00000000' : `${1 + Math.floor(this.rand() * 9)}.50000000`
      const aq = this.rand() < 0.3 ? '0.00000000' : `${1 + Math.floor(this.rand() * 9)}.50000000`
      if (bq.startsWith('0.')) b.bids.delete(bp)
      else b.bids.set(bp, bq)
      if (aq.startsWith('0.')) b.asks.delete(ap)
      else b.asks.set(ap, aq)
      bl.push([(bp / 100).toFixed(2), bq])
      al.push([(ap / 100).toFixed(2), aq])
    }
    b.id += 3
    this.remember(s)
    return this.frame(`${s.toLowerCase()}@depth@100ms`, { e: 'depthUpdate', E, s, U, u: b.id, b: bl, a: al })
  }

  rowsOf(symbol: string): Row[] {
    return this.rows.get(symbol)!
  }

  private rand(): number {
    this.x ^= this.x << 13
    this.x ^= this.x >>> 17
    this.x ^= this.x << 5
    return (this.x >>> 0) / 2 ** 32
  }

  async start(): Promise<{ wsUrl: string; restUrl: string }> {
    this.http = createServer((req, res) => this.rest(req.url ?? '', res))
    this.wss = new WebSocketServer({ server: this.http })
    await new Promise<void>((r) => this.http!.listen(0, '127.0.0.1', r))
    const port = (this.http.address() as AddressInfo).port
    this.timer = setInterval(() => this.tick(), this.o.tickMs)
    return { wsUrl: `ws://127.0.0.1:${port}`, restUrl: `http://127.0.0.1:${port}` }
  }

  private rest(url: string, res: import('node:http').ServerResponse): boolean {
    const u = new URL(url, 'http://x')
    const json = (v: unknown, code = 200) => {
      res.writeHead(code, { 'content-type': 'application/json' })
      res.end(JSON.stringify(v))
      return true
    }
    if (u.pathname === '/api/v3/exchangeInfo')
      return json({ symbols: this.o.symbols.map((symbol) => ({ symbol })) })
    if (u.pathname === '/api/v3/depth') {
      const b = this.books.get(u.searchParams.get('symbol') ?? '')
      if (!b) return json({ code: -1121, msg: 'Invalid symbol.' }, 400)
      const full = (m: Map<number, string>, desc: boolean) =>
        [...m].sort((x, y) => (desc ? y[0] - x[0] : x[0] - y[0])).map(([p, q]) => [(p / 100).toFixed(2), q])
      return json({ lastUpdateId: b.id, bids: full(b.bids, true), asks: full(b.asks, false) })
    }
    if (u.pathname === '/api/v3/klines') {
      const rows = this.rows.get(u.searchParams.get('symbol') ?? '')
      if (!rows) return json({ code: -1121, msg: 'Invalid symbol.' }, 400)
      const limit = Number(u.searchParams.get('limit') ?? 500)
      const start = Number(u.searchParams.get('startTime') ?? 0)
      const end = Number(u.searchParams.get('endTime') ?? Number.MAX_SAFE_INTEGER)
      // Up to and including the open minute; the open one shows its final values (close enough).
      let sel = rows.slice(0, this.minute + 1).filter((r) => Number(r[0]) >= start && Number(r[0]) <= end)
      sel = u.searchParams.has('startTime') ? sel.slice(0, limit) : sel.slice(-limit)
      return json(
        sel.map((r) => [
          Number(r[0]),
          r[1],
          r[2],
          r[3],
          r[4],
          r[5],
          Number(r[6]),
          r[7],
          Number(r[8]),
          r[9],
          r[10],
          '0',
        ]),
      )
    }
    return json({ code: -1, msg: 'not found' }, 404)
  }

  private frame(stream: string, data: unknown): string {
    return JSON.stringify({ stream, data })
  }

  private kline(s: string, r: Row, closed: boolean): string {
    const k = {
      t: Number(r[0]),
      T: Number(r[6]),
      s,
      i: '1m',
      o: r[1],
      h: r[2],
      l: r[3],
      c: r[4],
      v: r[5],
      n: Number(r[8]),
      x: closed,
      q: r[7],
      V: r[9],
      Q: r[10],
      B: '0',
    }
    return this.frame(`${s.toLowerCase()}@kline_1m`, {
      e: 'kline',
      E: Number(r[0]) + (closed ? 59_999 : 1000),
      s,
      k,
    })
  }

  private tick(): void {
    const clients = [...(this.wss?.clients ?? [])]
    if (this.minute >= 1439) return
    if (this.rand() < (this.o.dropRate ?? 0)) {
      this.drops++
      for (const c of clients) c.terminate()
    }
    const out: string[] = []
    for (const s of this.o.symbols) {
      const r = this.rows.get(s)![this.minute]!
      out.push(this.kline(s, r, false))
      out.push(
        this.frame(`${s.toLowerCase()}@trade`, {
          e: 'trade',
          E: Number(r[0]) + 1,
          s,
          t: this.minute,
          p: r[4],
          q: '0.001',
          T: Number(r[0]) + 1,
          m: true,
          M: true,
        }),
      )
      out.push(this.kline(s, r, true))
      const d = this.diff(s, Number(r[0]) + 2)
      if (this.rand() < (this.o.gapRate ?? 0)) this.gaps++
      else out.push(d)
    }
    if (this.rand() < (this.o.junkRate ?? 0)) {
      this.junk++
      const kinds = [
        '{"stream":"btcusdt@kline_1m","data":{"e":"kline","k":{"t":"oops"}}}',
        '{"stream":"btcusdt@trade","data":{"e":"trade","s":"BTCUSDT","t":1,"p":1e999',
        '{"stream":"evil@stream","data":{}}',
        `{"stream":"btcusdt@trade","data":{"p":"${'9'.repeat(1_100_000)}"}}`,
        '[1,2,3]',
      ]
      out.push(kinds[Math.floor(this.rand() * kinds.length)]!)
    }
    this.minute++
    for (const c of this.wss?.clients ?? []) for (const f of out) c.send(f)
  }

  async stop(): Promise<void> {
    clearInterval(this.timer)
    for (const c of this.wss?.clients ?? []) c.terminate()
    await new Promise((r) => this.wss?.close(r))
    await new Promise((r) => this.http?.close(r))
  }
}
