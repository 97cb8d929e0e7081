import { execFileSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { type Browser, chromium } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { KafkaStreams } from '../engine/index.ts'
import { TestBed } from '../engine/testing.ts'
import { platformTopology } from '../topologies/index.ts'
import { StoreReader } from './readers/stores.ts'
import { type Gateway, startGateway } from './server.ts'

// /docs in a real browser (Debian's chromium, as the dashboard's browser test): Swagger UI
// renders every route from /openapi.json under the gateway's Content-Security-Policy, with no
// CSP violation or page error.

let bed: TestBed
let gateway: Gateway
let browser: Browser

beforeAll(async () => {
  const script = fileURLToPath(new URL('../scripts/services/chromium.sh', import.meta.url))
  const executablePath = execFileSync('bash', [script, 'ensure'], { encoding: 'utf8' }).trim()
  bed = new TestBed('cs-gateway-docs-')
  // the docs need no data: an engine that is not started is enough
  const streams = new KafkaStreams(platformTopology({ serving: true }), {
    applicationId: 'docs',
    transport: bed.transport,
    stateDir: bed.stateDir,
  })
  gateway = await startGateway({ port: 0, symbols: ['BTCUSDT'], reader: new StoreReader(streams) })
  browser = await chromium.launch({
    executablePath,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  })
}, 120_000)
afterAll(async () => {
  await browser?.close()
  await gateway?.close()
  await bed?.close()
})

describe('/docs', () => {
  it('Swagger UI lists every route, no CSP violation', async () => {
    const page = await browser.newPage()
    const problems: string[] = []
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(m.text())
    })
    page.on('pageerror', (e) => problems.push(e.message))
    await page.goto(`${gateway.url}/docs`)
    await page.waitForSelector('.opblock-summary-path', { timeout: 30_000 })
    const paths = await page.$$eval('.opblock-summary-path', (els) =>
      els.map((e) => e.getAttribute('data-path')),
    )
    expect(paths).toEqual(
      expect.arrayContaining(['/ohlc', '/prediction/{symbol}', '/api/v3/klines', '/health']),
    )
    expect(problems.filter((p) => /Content Security Policy|Refused/.test(p))).toEqual([])
    expect(problems).toEqual([])
  })
})
