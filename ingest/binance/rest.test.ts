import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BinanceRest } from './rest.ts'

// A real HTTP server answering with scripted statuses: what the client retries and what it does not.
let server: Server
let base = ''
let script: { status: number; headers?: Record<string, string>; body: string }[] = []
let hits = 0
beforeAll(async () => {
  server = createServer((_req, res) => {
    hits++
    const next = script.shift() ?? { status: 200, body: '{"symbols":[{"symbol":"BTCUSDT"}]}' }
    res.writeHead(next.status, { 'content-type': 'application/json', ...next.headers })
    res.end(next.body)
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})
afterAll(() => new Promise((r) => server.close(r)))

const rest = () => new BinanceRest(base, { retries: 3, backoffMs: 1 })
const error = (status: number, headers?: Record<string, string>) => ({
  status,
  headers,
  body: '{"code":-1003,"msg":"Too many requests"}',
})

describe('BinanceRest retries', () => {
  it('retries 5xx and 429 (honouring Retry-After) and then succeeds', async () => {
    hits = 0
    script = [error(503), error(429, { 'retry-after': '0' }), error(502)]
    expect([...(await rest().symbols())]).toEqual(['BTCUSDT'])
    expect(hits).toBe(4)
  })

  it('gives up after the bounded retries with the status in the error', async () => {
    hits = 0
    script = [error(500), error(500), error(500), error(500), error(500)]
    await expect(rest().symbols()).rejects.toThrow(/→ 500/)
    expect(hits).toBe(4)
    script = []
  })

  it('does not retry a client error, and fails at once on a ban longer than it may wait', async () => {
    hits = 0
    script = [{ status: 400, body: '{"code":-1121,"msg":"Invalid symbol."}' }]
    await expect(rest().depth('NOPE', 5)).rejects.toThrow(/400 .*Invalid symbol/)
    expect(hits).toBe(1)
    script = [error(418, { 'retry-after': '7200' })]
    await expect(rest().symbols()).rejects.toMatchObject({ code: 'INGEST_RATE_LIMITED' })
    expect(hits).toBe(2)
  })
})
