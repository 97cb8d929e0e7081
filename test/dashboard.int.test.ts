import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type Browser, chromium, type Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadConfig } from '../common/config.ts'
import type { Kline } from '../common/records.ts'
import { type Gateway, StoreReader, startGateway } from '../gateway/index.ts'
import { type Platform, startPlatform } from '../scripts/platform.ts'
import { until as waitUntil } from './until.ts'

// The dashboard in a real browser (Debian's chromium driven by playwright-core) against the
// whole platform: replay server at 120× → ingest → engine → gateway serving the built
// bundle. Screenshots of every view at desktop and phone size go to dashboard/screenshots/.

const root = join(import.meta.dirname, '..')
const shots = join(root, 'dashboard', 'screenshots')
const symbols = ['BTCUSDT', 'ETHUSDT', 'BNBUSDT', 'SOLUSDT', 'XRPUSDT']
const dir = mkdtempSync(join(tmpdir(), 'cs-dashboard-'))
const desktop = { width: 1280, height: 800 }
const phone = { width: 390, height: 844 }
// fast enough that candles, book and tape move every second; slow enough to leave CPU to the browser
const SPEED = 120

let platform: Platform
let gateway: Gateway
let browser: Browser
let page: Page
let url: string

/** [openTime, open, high, low, close, volume] as the chart draws them. */
type Row = number[]
const rows = (candles: Kline[]): Row[] =>
  candles.map((k) => [k.openTime, +k.open, +k.high, +k.low, +k.close, +k.volume])

const until = <T>(what: string, f: () => Promise<T | undefined | false>, ms = 30_000) =>
  waitUntil(what, f, ms, 200)

const get = async <T>(path: string): Promise<T> => {
  const res = await fetch(`${url}${path}`)
  if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`)
  return (await res.json()) as T
}

const drawn = (p: Page) =>
  p.evaluate('window.csMarketChart.drawn()') as Promise<{ key: string; candles: Row[] }>

/**
 * The chart shows exactly the candles of `path` (a REST list of the same symbol and interval).
 * The REST list is read right after the chart; both move several times a second at replay
 * speed, so every candle before the newer of the two lists' last open time must be equal.
 */
async function chartEqualsRest(p: Page, key: string, path: (last: number, n: number) => string) {
  await until(`chart ${key} equal to REST`, async () => {
    const d = await drawn(p)
    if (d.key !== key || d.candles.length < 2) return false
    const last = d.candles.at(-1)![0]!
    const rest = rows((await get<{ candles: Kline[] }>(path(last, d.candles.length))).candles)
    const upTo = Math.min(last, rest.at(-1)?.[0] ?? 0)
    const a = d.candles.filter((r) => r[0]! < upTo)
    const b = rest.filter((r) => r[0]! < upTo && r[0]! >= (a[0]?.[0] ?? 0))
    return a.length > 0 && JSON.stringify(a) === JSON.stringify(b) ? true : undefined
  })
}

/** The connection badge's state (the desktop one; the phone header has its own). */
const link = (p: Page, state: string, timeout = 30_000) =>
  p.waitForSelector(`[data-testid="status"][data-link="${state}"]`, { state: 'attached', timeout })

async function shot(p: Page, name: string) {
  await p.screenshot({ path: join(shots, `${name}.png`) })
}

beforeAll(async () => {
  const executablePath = execFileSync('bash', [join(root, 'scripts/services/chromium.sh'), 'ensure'], {
    encoding: 'utf8',
  }).trim()
  execFileSync('sh', [join(root, 'scripts/dashboard.sh')], { stdio: 'inherit' })
  mkdirSync(shots, { recursive: true })
  const config = loadConfig(
    {},
    {
      dataDir: dir,
      symbols,
      replayPort: 0,
      gatewayPort: 0,
      replaySpeed: String(SPEED),
      gatewayReader: 'stores',
    },
  )
  // no sinks: the browser reads the engine's stores (CI's MONGO_URL / REDIS_URL belong to other tests)
  platform = await startPlatform(config, { initialMinutes: 600 }, { env: {} })
  gateway = platform.gateway
  url = gateway.url
  await until('ingest, engine and gateway healthy', async () => (await fetch(`${url}/health`)).ok, 90_000)
  await until(
    '5m candles of BTCUSDT',
    async () => {
      const r = await get<{ candles: Kline[] }>('/ohlc?symbol=BTCUSDT&interval=5m&limit=10')
      return r.candles.length >= 10
    },
    150_000,
  )
  browser = await chromium.launch({
    executablePath,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  })
  page = await browser.newPage({ viewport: desktop })
  page.on('pageerror', (e) => console.error('[browser]', e.message))
}, 300_000)

afterAll(async () => {
  await browser?.close()
  await gateway?.close()
  await platform?.close()
  rmSync(dir, { recursive: true, force: true })
})

describe('dashboard in a browser against the platform', () => {
  it('draws the same candles as /ohlc and reloads them on a timeframe switch', async () => {
    await page.goto(`${url}/#/BTCUSDT/5m`)
    await chartEqualsRest(
      page,
      'BTCUSDT/5m',
      (last, n) => `/ohlc?symbol=BTCUSDT&interval=5m&endTime=${last}&limit=${n}`,
    )
    await page.click('[data-interval="1h"]')
    expect(await page.evaluate('location.hash')).toBe('#/BTCUSDT/1h')
    await chartEqualsRest(
      page,
      'BTCUSDT/1h',
      (last, n) => `/ohlc?symbol=BTCUSDT&interval=1h&endTime=${last}&limit=${n}`,
    )
    await page.click('[data-interval="1m"]')
    await chartEqualsRest(
      page,
      'BTCUSDT/1m',
      (_last, n) => `/ohlc/realtime?symbol=BTCUSDT&limit=${Math.min(n, 1440)}`,
    )
    await shot(page, 'desktop-market')
  })

  it('shows the order book and the trade tape changing', async () => {
    const book = () => page.getAttribute('[data-testid="order-book"]', 'data-update')
    const tape = () => page.getAttribute('[data-testid="trades"]', 'data-last')
    const book0 = await until('order book', book)
    const tape0 = await until('trades', tape)
    await until('a new order book', async () => (await book()) !== book0)
    await until('a new trade', async () => (await tape()) !== tape0)
    const bids = await page.locator('.row.bid').count()
    const asks = await page.locator('.row.ask').count()
    expect(bids).toBeGreaterThan(0)
    expect(bids).toBeLessThanOrEqual(20)
    expect(asks).toBeLessThanOrEqual(20)
    // every price printed with the symbol's tick size: no float noise
    const info = await get<{ symbols: { symbol: string; tickSize: string | null }[] }>('/symbols')
    const tick = info.symbols.find((s) => s.symbol === 'BTCUSDT')!.tickSize
    const decimals = tick ? (tick.split('.')[1] ?? '').replace(/0+$/, '').length : undefined
    const prices = await page.locator('.row .p').allTextContents()
    for (const p of prices) {
      expect(p).toMatch(/^[\d,]+(\.\d+)?$/)
      if (decimals !== undefined) expect((p.split('.')[1] ?? '').length).toBe(decimals)
    }
  })

  it('sorts the ranking by change % and opens a symbol from it', async () => {
    await until(
      'ranking rows',
      async () => (await page.locator('[data-testid="ranking"] tbody tr').count()) > 1,
    )
    const column = async (attr: string) =>
      (await page
        .locator('[data-testid="ranking"] tbody tr')
        .evaluateAll((trs, a) => trs.map((tr) => tr.getAttribute(a) ?? ''), attr)) as string[]
    const changes = async () => (await column('data-change')).map(Number)
    const sorted = (dir: 1 | -1) => async () => {
      const c = await changes()
      return c.length > 1 && c.every((x, i) => i === 0 || dir * (x - c[i - 1]!) >= 0) ? c : undefined
    }
    // losers first (worst first), then sorted by change %: best first, then flipped
    await page.click('[data-testid="tab-losers"]')
    await until('losers, worst first', sorted(1))
    await page.click('th[data-col="priceChangePercent"]')
    // (the values move with the live ranking; the order is what is checked)
    await until('change % descending', sorted(-1))
    await page.click('th[data-col="priceChangePercent"]')
    await until('change % ascending', sorted(1))
    // any column: symbol A→Z
    await page.click('th[data-col="symbol"]')
    await until('symbols A→Z', async () => {
      const s = await column('data-symbol')
      return s.length > 1 && s.join() === [...s].sort().join() ? true : undefined
    })
    // keyboard: / focuses the search, typing filters, ↓ + Enter opens
    await page.keyboard.press('/')
    await page.keyboard.type('SOL')
    await until('filtered to SOLUSDT', async () =>
      (await column('data-symbol')).join() === 'SOLUSDT' ? true : undefined,
    )
    await page.locator('[data-testid="market-search"]').blur()
    await page.keyboard.press('ArrowDown')
    await page.keyboard.press('Enter')
    await until('SOLUSDT opened', async () =>
      (await page.evaluate('location.hash')) === '#/SOLUSDT/1m' ? true : undefined,
    )
    await page.fill('[data-testid="market-search"]', '')
    // a click on a row opens that symbol's chart
    await page.locator('[data-testid="ranking"] tbody tr[data-symbol="ETHUSDT"]').click()
    expect(await page.evaluate('location.hash')).toBe('#/ETHUSDT/1m')
    await chartEqualsRest(
      page,
      'ETHUSDT/1m',
      (_last, n) => `/ohlc/realtime?symbol=ETHUSDT&limit=${Math.min(n, 1440)}`,
    )
  })

  it('loads older candles when the chart is dragged to its left edge', async () => {
    await page.goto(`${url}/#/BTCUSDT/1m`)
    await until('1m chart', async () => ((await drawn(page)).key === 'BTCUSDT/1m' ? true : undefined))
    const first = (await drawn(page)).candles[0]![0]!
    const box = (await page.locator('[data-testid="market-chart"]').boundingBox())!
    // zoom out with the wheel (more candles per drag), then drag
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 3)
    for (let i = 0; i < 3; i++) await page.mouse.wheel(0, 400)
    await until(
      'older candles',
      async () => {
        // drag the candles to the right: the view moves back in time
        await page.mouse.move(box.x + 60, box.y + box.height / 3)
        await page.mouse.down()
        await page.mouse.move(box.x + box.width - 100, box.y + box.height / 3, { steps: 3 })
        await page.mouse.up()
        return (await drawn(page)).candles[0]![0]! < first ? true : undefined
      },
      60_000,
    ).catch(async (e) => {
      throw new Error(
        `${e.message}: ${JSON.stringify(await page.evaluate('window.csMarketChart.pagingState()'))}`,
      )
    })
    await chartEqualsRest(
      page,
      'BTCUSDT/1m',
      (_last, n) => `/ohlc/realtime?symbol=BTCUSDT&limit=${Math.min(n, 1440)}`,
    )
  })

  it('shows a prediction with its confidence, or the no-model state', async () => {
    const panel = page.locator('[data-testid="prediction"]')
    const state = await panel.getAttribute('data-state')
    if (state === 'model')
      expect(await panel.locator('[data-testid="confidence"]').textContent()).toMatch(/conf \d\.\d\d/)
    else expect(await panel.locator('[data-testid="no-model"]').textContent()).toContain('no model yet')
  })

  it('says so for an unknown symbol in the URL', async () => {
    await page.goto(`${url}/#/NOPEUSDT/1h`)
    await page.reload()
    const text = await page.locator('[data-testid="unknown-symbol"]').textContent()
    expect(text).toContain('NOPEUSDT')
    expect(text).toContain('BTCUSDT')
  })

  it('shows reconnecting while the gateway is down and recovers when it is back', async () => {
    await page.goto(`${url}/#/BTCUSDT/1m`)
    await link(page, 'live')
    const port = gateway.port
    await gateway.close()
    await link(page, 'reconnecting')
    expect(await page.locator('[data-testid="banner"]').textContent()).toMatch(/retrying in \d s/)
    await shot(page, 'desktop-reconnecting')
    gateway = await startGateway({
      port,
      symbols,
      reader: new StoreReader(platform.streams),
      transport: platform.transport,
      exchangeInfoUrl: platform.replay?.restUrl,
    })
    await link(page, 'live')
    // live again: the book and the tape move
    const book0 = await page.getAttribute('[data-testid="order-book"]', 'data-update')
    await until('a book update after the reconnect', async () =>
      (await page.getAttribute('[data-testid="order-book"]', 'data-update')) !== book0 ? true : undefined,
    )
    await chartEqualsRest(
      page,
      'BTCUSDT/1m',
      (_last, n) => `/ohlc/realtime?symbol=BTCUSDT&limit=${Math.min(n, 1440)}`,
    )
  })

  it('keeps frames short under live load (figures in dashboard/screenshots/perf.json)', async () => {
    await page.goto(`${url}/#/BTCUSDT/1m`)
    await link(page, 'live')
    await until('chart', async () => ((await drawn(page)).candles.length > 0 ? true : undefined))
    const perf = (await page.evaluate(`new Promise((resolve) => {
      const api = window.csApi, chart = window.csMarketChart
      const m0 = api.messages, a0 = chart.applied, frames = []
      let last = performance.now()
      const start = last
      const tick = (t) => {
        frames.push(t - last); last = t
        if (t - start < 5000) requestAnimationFrame(tick)
        else {
          frames.sort((x, y) => x - y)
          const s = (t - start) / 1000
          resolve({ seconds: s, messagesPerSecond: (api.messages - m0) / s, chartUpdatesPerSecond: (chart.applied - a0) / s,
            frames: frames.length, frameMsMedian: frames[Math.floor(frames.length / 2)],
            frameMsP95: frames[Math.floor(frames.length * 0.95)], frameMsMax: frames[frames.length - 1] })
        }
      }
      requestAnimationFrame(tick)
    })`)) as Record<string, number>
    writeFileSync(join(shots, 'perf.json'), `${JSON.stringify({ replaySpeed: SPEED, ...perf }, null, 2)}\n`)
    console.log('[dashboard] under live load:', perf)
    expect(perf.messagesPerSecond).toBeGreaterThan(0)
  })

  it('writes screenshots of every view at desktop and phone size', async () => {
    const desk = await browser.newPage({ viewport: desktop })
    await desk.goto(`${url}/#/BTCUSDT/1h`)
    await until('1h chart', async () => ((await drawn(desk)).key === 'BTCUSDT/1h' ? true : undefined))
    await desk.waitForTimeout(500)
    await shot(desk, 'desktop-1h')
    await desk.close()
    const mobile = await browser.newPage({ viewport: phone })
    await mobile.goto(`${url}/#/BTCUSDT/5m`)
    await until('5m chart', async () => ((await drawn(mobile)).key === 'BTCUSDT/5m' ? true : undefined))
    await mobile.waitForTimeout(500)
    await shot(mobile, 'phone-chart')
    for (const tab of ['book', 'trades', 'markets']) {
      await mobile.click(`nav [data-tab="${tab}"]`)
      await mobile.waitForTimeout(300)
      await shot(mobile, `phone-${tab}`)
    }
    // one panel at a time on a phone
    expect(await mobile.locator('[data-testid="ranking"]').isVisible()).toBe(true)
    expect(await mobile.locator('[data-testid="market-chart"]').isVisible()).toBe(false)
    await mobile.close()
  })
})
