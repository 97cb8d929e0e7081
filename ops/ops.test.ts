import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import {
  dashboardQueries,
  INSTALL_TIMEOUT_MS,
  metricNames,
  parseYaml,
  root,
  run,
  tool,
} from './tools.fixture.ts'

// The compose file, the Prometheus config and alert rules, and the dashboard, checked by the
// tools that will load them (docker-compose, promtool) and against the metrics the code defines.

const alertsFile = join(root, 'helm', 'crypto-streams', 'files', 'alerts.yml')
const dashboard = JSON.parse(
  readFileSync(join(root, 'helm', 'crypto-streams', 'files', 'dashboard.json'), 'utf8'),
)

/** Metric names registered in the code: `name: 'cs_…'` in every *metrics.ts and topology. */
function definedMetrics(): Set<string> {
  const names = new Set<string>()
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.name === 'node_modules' || e.name.startsWith('.') || e.name === 'dashboard') continue
      const p = join(dir, e.name)
      if (e.isDirectory()) walk(p)
      else if (e.name.endsWith('.ts') && !e.name.endsWith('.test.ts'))
        for (const m of readFileSync(p, 'utf8').matchAll(/name: '(cs_[a-z0-9_]+)'/g)) names.add(m[1]!)
    }
  }
  walk(root)
  return names
}

/** A histogram or counter family's series names: cs_x_seconds_bucket belongs to cs_x_seconds. */
const family = (name: string) => name.replace(/_(bucket|sum|count)$/, '')

describe('Prometheus rules and config (promtool)', () => {
  let promtool = ''
  beforeAll(() => {
    promtool = tool('promtool')
    parseYaml('{}') // brings the YAML reader first when missing
  }, INSTALL_TIMEOUT_MS)

  it('promtool check rules: the alert rules are valid', () => {
    const r = run(promtool, ['check', 'rules', alertsFile])
    expect(r.stderr + r.stdout).toContain('SUCCESS')
    expect(r.status).toBe(0)
  })

  it('promtool test rules: every alert fires on its case and not on the normal one', () => {
    const r = run(promtool, ['test', 'rules', 'alerts.test.yml'], { cwd: join(root, 'ops', 'prometheus') })
    expect(r.stdout + r.stderr).toContain('SUCCESS')
    expect(r.status).toBe(0)
    // every alert of the file has a test
    const tests = readFileSync(join(root, 'ops', 'prometheus', 'alerts.test.yml'), 'utf8')
    const [rules] = parseYaml<{ groups: { rules: { alert: string }[] }[] }>(readFileSync(alertsFile, 'utf8'))
    for (const rule of rules!.groups.flatMap((g) => g.rules))
      expect(tests, rule.alert).toContain(`alertname: ${rule.alert}`)
  })

  it('promtool check config: the compose Prometheus config and its rule file load', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cs-promtool-'))
    try {
      const config = readFileSync(join(root, 'ops', 'prometheus', 'prometheus.yml'), 'utf8')
      writeFileSync(join(dir, 'prometheus.yml'), config.replace('/etc/prometheus/alerts.yml', alertsFile))
      const r = run(promtool, ['check', 'config', join(dir, 'prometheus.yml')])
      expect(r.stdout + r.stderr).toContain('SUCCESS')
      expect(r.status).toBe(0)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe('metric names in the dashboard and the alerts', () => {
  const defined = definedMetrics()

  it('every metric the dashboard queries is defined in the code', () => {
    const queries = dashboardQueries(dashboard)
    expect(queries.length).toBeGreaterThan(15)
    for (const q of queries)
      for (const name of metricNames(q.expr)) expect(defined, `${q.panel}: ${name}`).toContain(family(name))
  })

  it('the dashboard is one Grafana can lay out: unique ids, panels inside 24 columns, none overlapping', () => {
    type P = {
      id: number
      type: string
      gridPos: { x: number; y: number; w: number; h: number }
      targets?: { refId: string }[]
    }
    const panels = dashboard.panels as P[]
    expect(new Set(panels.map((p) => p.id)).size).toBe(panels.length)
    expect(dashboard.uid).toBe('crypto-streams')
    expect(dashboard.templating.list.map((v: { name: string }) => v.name)).toContain('datasource')
    for (const p of panels) {
      expect(p.gridPos.x + p.gridPos.w, `panel ${p.id}`).toBeLessThanOrEqual(24)
      const refs = (p.targets ?? []).map((t) => t.refId)
      expect(new Set(refs).size, `panel ${p.id} refIds`).toBe(refs.length)
    }
    const overlap = (a: P['gridPos'], b: P['gridPos']) =>
      a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h
    for (const [i, a] of panels.entries())
      for (const b of panels.slice(i + 1))
        expect(overlap(a.gridPos, b.gridPos), `${a.id} / ${b.id}`).toBe(false)
  })

  it('every metric the alert rules use is defined in the code (or is Prometheus’ up)', () => {
    const [rules] = parseYaml<{ groups: { rules: { alert: string; expr: string }[] }[] }>(
      readFileSync(alertsFile, 'utf8'),
    )
    for (const rule of rules!.groups.flatMap((g) => g.rules))
      for (const name of metricNames(rule.expr))
        if (name !== 'up') expect(defined, `${rule.alert}: ${name}`).toContain(family(name))
  })
})

interface ComposeService {
  image?: string
  build?: unknown
  command?: string[]
  healthcheck?: { test: string[]; disable?: boolean }
  depends_on?: Record<string, { condition: string }>
  volumes?: Mount[]
  environment?: Record<string, string>
}

/** docker-compose 1.x prints `source:target[:ro]`, 2.x the long form. */
type Mount = string | { type: string; source: string; target: string }
const mount = (m: Mount) => {
  if (typeof m !== 'string') return m
  const [source = '', target = ''] = m.split(':')
  return { type: source.startsWith('/') || source.startsWith('.') ? 'bind' : 'volume', source, target }
}

describe('docker-compose.yml', () => {
  let compose: { services: Record<string, ComposeService>; volumes: Record<string, unknown> }
  beforeAll(() => {
    const bin = tool('docker-compose')
    const r = run(bin, ['-f', 'docker-compose.yml', 'config'])
    expect(r.stderr).toBe('')
    expect(r.status).toBe(0)
    compose = parseYaml<typeof compose>(r.stdout)[0]!
  }, INSTALL_TIMEOUT_MS)

  it('has every server and role the app needs, each with a health check', () => {
    const needed = [
      'kafka',
      'mongo',
      'redis',
      'ingest',
      'process',
      'sink',
      'gateway',
      'prometheus',
      'grafana',
    ]
    expect(Object.keys(compose.services).sort()).toEqual([...needed].sort())
    for (const name of needed) {
      const hc = compose.services[name]!.healthcheck
      expect(hc?.test?.length, `${name} health check`).toBeGreaterThan(0)
      expect(hc?.disable, name).not.toBe(true)
    }
    expect(compose.services.kafka!.image).toMatch(/^apache\/kafka:/)
    expect(compose.services.kafka!.environment?.KAFKA_PROCESS_ROLES).toBe('broker,controller')
  })

  it('starts each role after what it needs is healthy', () => {
    for (const [name, s] of Object.entries(compose.services))
      for (const [dep, d] of Object.entries(s.depends_on ?? {}))
        expect(d.condition, `${name} → ${dep}`).toBe('service_healthy')
    const deps = (s: string) => Object.keys(compose.services[s]!.depends_on ?? {})
    expect(deps('ingest')).toContain('kafka')
    expect(deps('process')).toEqual(expect.arrayContaining(['kafka', 'ingest']))
    expect(deps('sink')).toEqual(expect.arrayContaining(['mongo', 'redis', 'process']))
    expect(deps('gateway')).toEqual(expect.arrayContaining(['kafka', 'mongo', 'redis']))
  })

  it('the roles run the one image with a CLI command, on Kafka', () => {
    for (const role of ['ingest', 'process', 'sink', 'gateway']) {
      const s = compose.services[role]!
      expect(s.build, role).toBeDefined()
      expect(s.command, role).toEqual([role])
      expect(s.environment?.CS_TRANSPORT, role).toBe('kafka')
      expect(s.environment?.KAFKA_BROKERS, role).toBe('kafka:9092')
    }
  })

  it('keeps state on named volumes', () => {
    const named = (s: string) =>
      (compose.services[s]!.volumes ?? [])
        .map(mount)
        .filter((m) => m.type === 'volume')
        .map((m) => m.source)
    for (const [s, v] of [
      ['kafka', 'kafka-data'],
      ['mongo', 'mongo-data'],
      ['redis', 'redis-data'],
      ['process', 'process-state'],
      ['prometheus', 'prometheus-data'],
      ['grafana', 'grafana-data'],
    ] as const) {
      expect(named(s), s).toContain(v)
      expect(Object.keys(compose.volumes)).toContain(v)
    }
  })

  it('Prometheus scrapes every role that serves /metrics; Grafana gets the datasource and dashboard', () => {
    const [prom] = parseYaml<{ scrape_configs: { static_configs: { targets: string[] }[] }[] }>(
      readFileSync(join(root, 'ops', 'prometheus', 'prometheus.yml'), 'utf8'),
    )
    const targets = prom!.scrape_configs.flatMap((j) => j.static_configs.flatMap((c) => c.targets))
    const serving = Object.entries(compose.services)
      .filter(([, s]) => s.build && s.healthcheck?.test.join(' ').includes('/health'))
      .map(([name]) => name)
    expect(serving).toEqual(expect.arrayContaining(['process', 'gateway']))
    for (const s of serving) expect(targets, s).toContain(`${s}:8080`)
    const grafana = (compose.services.grafana!.volumes ?? []).map(mount)
    const target = (end: string) => grafana.find((m) => m.source.endsWith(end))?.target
    expect(target('ops/grafana/provisioning')).toBe('/etc/grafana/provisioning')
    expect(target('helm/crypto-streams/files/dashboard.json')).toMatch(/^\/var\/lib\/grafana\/dashboards\//)
  })
})
