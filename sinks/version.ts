// Which of two versions of the same document wins. Versions are ordered by input offset (a key
// always comes from one partition, whose offsets are its history); a final (closed) candle is
// replaced only by a later final: a replayed or late open update never overwrites it, a
// correction (the candle re-emitted later) does.

export interface Version {
  /** Input offset of the version. */
  _v: number
  /** Candles only: false while open. */
  closed?: boolean
}

export function supersedes(incoming: Version, stored: Version | undefined): boolean {
  if (!stored) return true
  if (incoming._v <= stored._v) return false
  return !(stored.closed === true && incoming.closed === false)
}
