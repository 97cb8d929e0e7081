// Exact ordering of non-negative decimal strings ("0.35130000" vs "0.3513"): no floats, so two
// prices that differ in the 8th decimal never collide or swap.

/** Canonical form used as a map key: no leading zeros in the integer part, no trailing fraction zeros. */
export function canonical(d: string): string {
  let i = 0
  const dot = d.indexOf('.')
  const intEnd = dot < 0 ? d.length : dot
  while (i < intEnd - 1 && d.charCodeAt(i) === 48) i++
  const intPart = d.slice(i, intEnd)
  if (dot < 0) return intPart
  let end = d.length
  while (end > dot + 1 && d.charCodeAt(end - 1) === 48) end--
  return end === dot + 1 ? intPart : `${intPart}.${d.slice(dot + 1, end)}`
}

/** Compares two canonical decimals: <0, 0, >0. */
export function compareCanonical(a: string, b: string): number {
  const da = a.indexOf('.')
  const db = b.indexOf('.')
  const ia = da < 0 ? a.length : da
  const ib = db < 0 ? b.length : db
  if (ia !== ib) return ia - ib
  // Same integer length: plain string order works digit by digit, a missing fraction sorts first.
  return a < b ? -1 : a > b ? 1 : 0
}

export const isZero = (canon: string): boolean => canon === '0'
