import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import type { Kline } from '../../common/records.ts'

// A role of the CLI as a child process (`node scripts/cli.ts <role>`), as an operator runs it:
// its stdout lines (the platform prints the dashboard URL first), signals, exit code.

const root = fileURLToPath(new URL('../../', import.meta.url))

export interface Child {
  proc: ChildProcess
  stdout: string[]
  stderr: () => string
  /** The gateway URL the platform printed (no trailing slash). */
  url: Promise<string>
  exited: Promise<number | null>
  signal(s: NodeJS.Signals): void
}

export function startRole(role: string, args: string[], env: NodeJS.ProcessEnv): Child {
  const proc = spawn(process.execPath, ['scripts/cli.ts', role, ...args], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', CS_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const stdout: string[] = []
  let stderr = ''
  let resolveUrl: (u: string) => void = () => {}
  const url = new Promise<string>((r) => (resolveUrl = r))
  let rest = ''
  proc.stdout!.on('data', (d: Buffer) => {
    rest += d.toString()
    const lines = rest.split('\n')
    rest = lines.pop()!
    for (const l of lines) {
      stdout.push(l)
      const m = /^dashboard: (\S+?)\/?$/.exec(l)
      if (m) resolveUrl(m[1]!)
    }
  })
  proc.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString()
  })
  const exited = once(proc, 'exit').then(([code]) => code as number | null)
  return { proc, stdout, stderr: () => stderr, url, exited, signal: (s) => proc.kill(s) }
}

export async function until(what: string, f: () => Promise<boolean>, ms = 90_000): Promise<void> {
  const end = Date.now() + ms
  while (!(await f().catch(() => false))) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 200))
  }
}

/** Candles of [from, to) from the gateway, oldest first (pages of 1000). */
export async function candles(url: string, symbol: string, interval: string, from: number, to: number) {
  const out: Kline[] = []
  let start = from
  for (;;) {
    const res = await fetch(
      `${url}/ohlc?symbol=${symbol}&interval=${interval}&startTime=${start}&endTime=${to - 1}&limit=1000`,
      { signal: AbortSignal.timeout(10_000) },
    )
    if (!res.ok) throw new Error(`${res.status} ${await res.text()}`)
    const page = ((await res.json()) as { candles: Kline[] }).candles
    out.push(...page)
    if (page.length < 1000) return out
    start = page.at(-1)!.openTime + 1
  }
}

/** openTime of the newest closed 1m kline the gateway has for a symbol. */
export async function lastClosedMinute(url: string, symbol: string): Promise<number> {
  const res = await fetch(`${url}/ohlc/realtime?symbol=${symbol}&limit=3`, {
    signal: AbortSignal.timeout(10_000),
  })
  if (!res.ok) return -1
  const c = ((await res.json()) as { candles: Kline[] }).candles.filter((k) => k.closed)
  return c.at(-1)?.openTime ?? -1
}
