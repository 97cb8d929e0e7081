import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { type WebSocket, WebSocketServer } from 'ws'
import { StreamConnection } from './connection.ts'

// A real local WebSocket server; the connection under test is the real one.
let wss: WebSocketServer | undefined
let conn: StreamConnection | undefined
afterEach(async () => {
  conn?.close()
  for (const c of wss?.clients ?? []) c.terminate()
  await new Promise((r) => wss?.close(r))
})

async function server(): Promise<{ url: string; sockets: WebSocket[] }> {
  wss = new WebSocketServer({ port: 0, host: '127.0.0.1' })
  await new Promise((r) => wss!.once('listening', r))
  const sockets: WebSocket[] = []
  wss.on('connection', (s) => sockets.push(s))
  return {
    url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/stream?streams=a@trade/b@trade`,
    sockets,
  }
}
const until = async (f: () => boolean) => {
  while (!f()) await new Promise((r) => setTimeout(r, 10))
}
const base = { staleMs: 60_000, rotateMs: 3600_000, backoffBaseMs: 5, backoffMaxMs: 20, onGap: () => {} }

describe('StreamConnection', () => {
  it('answers the server ping with a pong', async () => {
    const { url, sockets } = await server()
    conn = new StreamConnection({ ...base, url, streams: ['a@trade'], onMessage: () => {} })
    conn.start()
    await until(() => sockets.length === 1 && sockets[0]!.readyState === 1)
    const pong = new Promise<string>((r) => sockets[0]!.once('pong', (d) => r(d.toString())))
    sockets[0]!.ping('hello')
    expect(await pong).toBe('hello')
  })

  it('reconnects when one stream goes silent, and reports the gap', async () => {
    const { url, sockets } = await server()
    let gaps = 0
    const streams = ['a@trade', 'b@trade']
    const c = new StreamConnection({
      ...base,
      staleMs: 150,
      url,
      streams,
      onGap: () => gaps++,
      onMessage: (raw) => c.touch(JSON.parse(raw).stream),
    })
    conn = c
    c.start()
    // only stream a talks
    const talk = setInterval(() => {
      for (const s of sockets) if (s.readyState === 1) s.send(JSON.stringify({ stream: 'a@trade', data: {} }))
    }, 20)
    await until(() => gaps >= 1)
    clearInterval(talk)
    expect(sockets.length).toBeGreaterThanOrEqual(2)
  })

  it('rotates by opening the replacement first: no message is lost', async () => {
    const { url, sockets } = await server()
    const seen = new Set<number>()
    let overlap = false
    wss!.on('connection', () => {
      if (sockets.filter((s) => s.readyState === 1).length >= 2) overlap = true
    })
    conn = new StreamConnection({
      ...base,
      rotateMs: 100,
      url,
      streams: ['a@trade'],
      onMessage: (raw) => seen.add(JSON.parse(raw).data.n),
    })
    conn.start()
    let n = 0
    const talk = setInterval(() => {
      n++
      for (const s of sockets)
        if (s.readyState === 1) s.send(JSON.stringify({ stream: 'a@trade', data: { n } }))
    }, 5)
    await until(() => sockets.length >= 4)
    await new Promise((r) => setTimeout(r, 30))
    clearInterval(talk)
    expect(overlap).toBe(true)
    const first = Math.min(...seen)
    const last = Math.max(...seen)
    expect(seen.size).toBe(last - first + 1)
  })
})
