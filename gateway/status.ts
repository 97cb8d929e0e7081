import type { KafkaStreams } from '../engine/index.ts'
import { StoreReader } from './readers/stores.ts'
import { startGateway } from './server.ts'

// Kept for callers of the former status server (the `process` role): the full gateway over the
// engine's stores, without live updates (no transport given). New code calls startGateway.

export interface StatusSources {
  streams: KafkaStreams
  symbols: string[]
  ingestReady: () => boolean
}

export async function startStatusServer(port: number, src: StatusSources) {
  return startGateway({
    port,
    // a role in a container: kubelet probes and Prometheus scrapes come from outside the pod
    host: '0.0.0.0',
    symbols: src.symbols,
    reader: new StoreReader(src.streams),
    checks: { ingest: () => ({ ok: src.ingestReady(), detail: src.ingestReady() ? 'ready' : 'starting' }) },
  })
}
