import type { DependencyState, MarketReader } from './reader.ts'
import type { SymbolCatalog } from './symbols.ts'

/** What the route groups, Socket.IO and WebSocket handlers share. */
export interface GatewayContext {
  reader: MarketReader
  catalog: SymbolCatalog
  symbols: readonly string[]
  /** Dependencies reported by /health besides the reader's own (ingest, live feed, …). */
  checks: Record<string, () => DependencyState>
}
