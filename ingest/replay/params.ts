import type { SymbolSpec } from './symbols.ts'

// Binance's parameter validation: error codes and messages as its REST API answers them
// (HTTP 400 with {code, msg}).

export class ApiError extends Error {
  readonly code: number
  readonly status: number
  constructor(code: number, msg: string, status = 400) {
    super(msg)
    this.code = code
    this.status = status
  }
}

export type Params = URLSearchParams

/** -1101: a parameter sent twice (`?limit=1&limit=2`). */
export function noDuplicates(p: Params): void {
  const keys = [...p.keys()]
  const dup = keys.find((k, i) => keys.indexOf(k) !== i)
  if (dup !== undefined) throw new ApiError(-1101, 'Duplicate values for a parameter detected.')
}

export function allowOnly(p: Params, names: string[]): void {
  const extra = [...p.keys()].filter((k) => !names.includes(k))
  if (extra.length > 0) {
    const read = [...p.keys()].length - extra.length
    throw new ApiError(
      -1104,
      `Not all sent parameters were read; read '${read}' parameter(s) but was sent '${read + extra.length}'.`,
    )
  }
}

export function mandatory(p: Params, name: string): string {
  const v = p.get(name)
  if (v === null || v === '')
    throw new ApiError(-1102, `Mandatory parameter '${name}' was not sent, was empty/null, or malformed.`)
  return v
}

export function integer(p: Params, name: string): number | undefined {
  const v = p.get(name)
  if (v === null) return undefined
  if (!/^[0-9]{1,20}$/.test(v))
    throw new ApiError(
      -1100,
      `Illegal characters found in parameter '${name}'; legal range is '^[0-9]{1,20}$'.`,
    )
  return Number(v)
}

/** startTime / endTime: milliseconds, or microseconds (16 digits) as Binance also accepts. */
export function instant(p: Params, name: string): number | undefined {
  const v = integer(p, name)
  return v !== undefined && v >= 1e15 ? Math.floor(v / 1000) : v
}

/** `limit`: default, 1..max; above max it is cut to max (as Binance does for klines and depth). */
export function limitOf(p: Params, dflt: number, max: number): number {
  const limit = integer(p, 'limit') ?? dflt
  if (limit < 1) throw new ApiError(-1130, `Invalid data sent for a parameter: limit (1..${max}).`)
  return Math.min(limit, max)
}

export const SYMBOL = /^[A-Z0-9\-_.]{1,20}$/

export function symbolOf(specs: ReadonlyMap<string, SymbolSpec>, raw: string, name = 'symbol'): SymbolSpec {
  if (!SYMBOL.test(raw))
    throw new ApiError(
      -1100,
      `Illegal characters found in parameter '${name}'; legal range is '^[A-Z0-9-_.]{1,20}$'.`,
    )
  const spec = specs.get(raw)
  if (!spec) throw new ApiError(-1121, 'Invalid symbol.')
  return spec
}

/** The JSON list in `symbols=["A","B"]` without validating symbols (for weights too). */
export function symbolList(p: Params): string[] | undefined {
  const many = p.get('symbols')
  if (many === null) return undefined
  let list: unknown
  try {
    list = JSON.parse(many)
  } catch {
    list = undefined
  }
  if (
    !Array.isArray(list) ||
    list.length === 0 ||
    !list.every((s) => typeof s === 'string' && SYMBOL.test(s))
  )
    throw new ApiError(
      -1100,
      `Illegal characters found in parameter 'symbols'; legal range is '^\\[("[A-Z0-9-_.]{1,20}"(,"[A-Z0-9-_.]{1,20}"){0,}){0,1}\\]$'.`,
    )
  return list as string[]
}

/** `symbol=X` or `symbols=["X","Y"]` (both is an error); undefined when neither. */
export function symbolsOf(specs: ReadonlyMap<string, SymbolSpec>, p: Params): SymbolSpec[] | undefined {
  const one = p.get('symbol')
  if (one !== null && p.get('symbols') !== null)
    throw new ApiError(-1128, 'Combination of optional parameters invalid.')
  if (one !== null) return [symbolOf(specs, one)]
  const list = symbolList(p)
  if (list === undefined) return undefined
  if (new Set(list).size !== list.length)
    throw new ApiError(-1151, 'Symbol is present multiple times in the list.')
  return list.map((s) => symbolOf(specs, s, 'symbols'))
}

/** How many symbols a request names (for weights): 1, the list's length, or undefined for all. */
export function symbolCount(p: Params): number | undefined {
  if (p.get('symbol') !== null) return 1
  try {
    return symbolList(p)?.length
  } catch {
    return 1
  }
}
