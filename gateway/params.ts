import { z } from 'zod'

// Query parameter schemas shared by the routes. Query values arrive as strings, so numbers are
// validated as digit strings and then converted; each message says what is wrong in words a
// client can act on. The same schemas generate the OpenAPI document (openapi.ts).

const required = (what: string) => (iss: { input: unknown }) =>
  iss.input === undefined ? 'is required' : `expected ${what}, got ${JSON.stringify(iss.input)}`

export function intParam(min: number, max: number, description: string) {
  return z
    .string({ error: required('an integer') })
    .regex(/^\d{1,16}$/, {
      error: (iss) => `expected a non-negative integer, got ${JSON.stringify(iss.input)}`,
    })
    .transform(Number)
    .pipe(
      z
        .number()
        .int()
        .min(min, { error: `must be at least ${min}` })
        .max(max, { error: `must be at most ${max}` }),
    )
    .describe(description)
}

export const timeParam = (description: string) => intParam(0, Number.MAX_SAFE_INTEGER, description)

export function symbolParam(symbols: readonly string[]) {
  return z
    .enum(symbols as [string, ...string[]], {
      error: (iss) =>
        iss.input === undefined
          ? 'is required'
          : `unknown symbol ${JSON.stringify(iss.input)} (see /symbols)`,
    })
    .describe('Symbol, upper case, one of /symbols')
}

export function oneOf<T extends string>(values: readonly [T, ...T[]], description: string) {
  return z
    .enum(values, {
      error: (iss) =>
        iss.input === undefined
          ? 'is required'
          : `expected one of ${values.join(', ')}, got ${JSON.stringify(iss.input)}`,
    })
    .describe(description)
}

/** startTime ≤ endTime, when both are given. */
export const timeOrder = (q: { startTime?: number; endTime?: number }) =>
  q.startTime === undefined || q.endTime === undefined || q.startTime <= q.endTime

export const CANDLE_INTERVALS = ['5m', '1h', '4h', '1d'] as const
export const KLINE_INTERVALS = ['1m', '5m', '1h', '4h', '1d'] as const
