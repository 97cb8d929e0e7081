import { execFileSync, spawnSync } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

// The operations tools (helm, promtool, prometheus, docker-compose) for tests, installed by
// scripts/services/tools.sh when the machine lacks them (apt-get, go install), never skipped.

export const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const tools = join(root, 'scripts', 'services', 'tools.sh')

/** Generous: a fresh machine builds Helm from source or installs a Debian package first. */
export const INSTALL_TIMEOUT_MS = 900_000

export type Tool = 'helm' | 'promtool' | 'prometheus' | 'docker-compose'

export function tool(name: Tool): string {
  return execFileSync('bash', [tools, name], { encoding: 'utf8', timeout: INSTALL_TIMEOUT_MS }).trim()
}

export interface Run {
  status: number | null
  stdout: string
  stderr: string
}

/** Runs a tool to completion (bounded), from the repository root unless `cwd` is given. */
export function run(bin: string, args: string[], opts: { cwd?: string; input?: string } = {}): Run {
  const r = spawnSync(bin, args, {
    cwd: opts.cwd ?? root,
    input: opts.input,
    encoding: 'utf8',
    timeout: 60_000,
    maxBuffer: 64 * 1024 * 1024,
  })
  if (r.error) throw r.error
  return { status: r.status, stdout: r.stdout, stderr: r.stderr }
}

/** YAML documents (a rendered chart, a compose file) as plain objects. */
export function parseYaml<T = Record<string, unknown>>(text: string): T[] {
  const out = execFileSync('bash', [tools, 'yaml2json'], {
    input: text,
    encoding: 'utf8',
    timeout: INSTALL_TIMEOUT_MS,
    maxBuffer: 64 * 1024 * 1024,
  })
  return JSON.parse(out) as T[]
}

/** Every PromQL expression of the Grafana dashboard, with its panel title. */
export function dashboardQueries(dashboard: { panels: Panel[] }): { panel: string; expr: string }[] {
  const out: { panel: string; expr: string }[] = []
  const walk = (panels: Panel[]) => {
    for (const p of panels) {
      for (const t of p.targets ?? []) if (t.expr) out.push({ panel: p.title, expr: t.expr })
      walk(p.panels ?? [])
    }
  }
  walk(dashboard.panels)
  return out
}

interface Panel {
  title: string
  targets?: { expr?: string }[]
  panels?: Panel[]
}

/**
 * The signals of an alert expression: each top-level `and` operand without its threshold
 * comparison (`lag > 1000` → `lag`), i.e. what must return series on a running platform.
 */
export function alertSignals(expr: string): string[] {
  const parts: string[] = []
  let depth = 0
  let start = 0
  for (let i = 0; i < expr.length; i++) {
    const c = expr[i]
    if (c === '(') depth++
    else if (c === ')') depth--
    else if (depth === 0 && /^\sand\s/.test(expr.slice(i, i + 5))) {
      parts.push(expr.slice(start, i))
      start = i + 5
    }
  }
  parts.push(expr.slice(start))
  return parts.map((p) => p.trim().replace(/\s*(==|!=|>=|<=|>|<)\s*-?[0-9.e+]+$/, ''))
}

/** Metric names a PromQL expression selects (cs_* and up). */
export function metricNames(expr: string): string[] {
  return [...new Set([...expr.matchAll(/\b(cs_[a-z0-9_]+|up(?=\{))/g)].map((m) => m[1]!))]
}
