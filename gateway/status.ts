import { createServer, type Server } from 'node:http'
import { listen } from '../common/listen.ts'
import { registry } from '../common/metrics.ts'
import type { KafkaStreams } from '../engine/index.ts'
import { candleStore } from '../topologies/index.ts'

// The platform's own HTTP face until the full gateway (REST + Socket.IO + dashboard) lands:
// liveness for probes, Prometheus metrics, and a status page read straight from the engine's
// state stores (interactive queries), which proves data flows end to end.

export interface StatusSources {
  streams: KafkaStreams
  symbols: string[]
  /** Resolves once ingest is connected and caught up. */
  ingestReady: () => boolean
}

export interface StatusServer {
  url: string
  close(): Promise<void>
}

async function latestCandles(src: StatusSources) {
  const store = src.streams.windowStore<{ candle: unknown }>(candleStore('5m'))
  const out: Record<string, unknown> = {}
  for (const s of src.symbols) out[s] = (await store.get(s))?.value.candle ?? null
  return out
}

export async function startStatusServer(port: number, src: StatusSources): Promise<StatusServer> {
  const server: Server = createServer((req, res) => {
    const json = (code: number, body: unknown) => {
      res.writeHead(code, { 'content-type': 'application/json' })
      res.end(JSON.stringify(body, null, 2))
    }
    const path = new URL(req.url ?? '/', 'http://x').pathname
    const work = async () => {
      if (path === '/health') {
        const engine = src.streams.state
        const ok = engine === 'running' && src.ingestReady()
        return json(ok ? 200 : 503, { status: ok ? 'ok' : 'starting', engine, ingest: src.ingestReady() })
      }
      if (path === '/metrics') {
        res.writeHead(200, { 'content-type': registry.contentType })
        return res.end(await registry.metrics())
      }
      if (path === '/') return json(200, { latest5m: await latestCandles(src) })
      return json(404, { error: `no route ${path}` })
    }
    work().catch((e: Error) => json(500, { error: e.message }))
  })
  const bound = await listen(server, port, '127.0.0.1', 'status server', 'CS_GATEWAY_PORT')
  return {
    url: `http://127.0.0.1:${bound}`,
    close: () => new Promise<void>((r) => server.close(() => r())),
  }
}
