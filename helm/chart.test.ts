import { spawnSync } from 'node:child_process'
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { restSpecs } from '../gateway/app.ts'
import type { GatewayContext } from '../gateway/context.ts'
import { ROLE_ROUTES } from '../gateway/role-server.ts'
import { binanceRoutes } from '../gateway/routes/binance.ts'
import { INSTALL_TIMEOUT_MS, parseYaml, root, run, tool } from '../ops/tools.fixture.ts'

// The chart rendered by Helm itself with the default and with custom values; the invariants an
// operator relies on are asserted on the manifests (helm/README.md).

const chart = join(root, 'helm', 'crypto-streams')
let helm = ''
beforeAll(() => {
  helm = tool('helm')
  parseYaml('{}') // brings the YAML reader first when missing
}, INSTALL_TIMEOUT_MS)

// biome-ignore lint/suspicious/noExplicitAny: rendered Kubernetes manifests, walked generically
type K8s = any

function render(...args: string[]): K8s[] {
  const r = run(helm, ['template', 'cs', chart, '--namespace', 'markets', ...args])
  expect(r.stderr).toBe('')
  expect(r.status).toBe(0)
  return parseYaml<K8s>(r.stdout)
}

const custom = [
  '--api-versions',
  'monitoring.coreos.com/v1',
  '--set',
  'process.replicas=3',
  '--set',
  'process.partitions=6',
  '--set',
  'process.persistence.storageClass=fast-ssd',
  '--set',
  'existingSecret=crypto-streams-credentials',
  '--set',
  'gateway.ingress.enabled=true',
  '--set',
  'gateway.ingress.className=nginx',
  '--set',
  'gateway.autoscaling.enabled=false',
  '--set',
  'gateway.replicas=3',
  '--set',
  'sink.podDisruptionBudget.enabled=true',
  '--set',
  'config.extraEnv.REDIS_TTL_SECONDS=3600',
  '--set',
  'monitoring.labels.release=kube-prometheus-stack',
]

const byKind = (docs: K8s[], kind: string) => docs.filter((d) => d.kind === kind)
const one = (docs: K8s[], kind: string, name: string) => {
  const d = docs.find((x) => x.kind === kind && x.metadata.name === name)
  expect(d, `${kind} ${name}`).toBeDefined()
  return d
}
/** Pod template of a workload (Deployment, StatefulSet, CronJob). */
const podOf = (d: K8s) => (d.kind === 'CronJob' ? d.spec.jobTemplate.spec.template : d.spec.template)
const workloads = (docs: K8s[]) =>
  docs.filter((d) => ['Deployment', 'StatefulSet', 'CronJob'].includes(d.kind))
const matches = (selector: Record<string, string>, labels: Record<string, string>) =>
  Object.entries(selector).every(([k, v]) => labels[k] === v)

/** Paths the gateway app serves: the status server of `process` is the same app (gateway/status.ts). */
const ctx = { symbols: ['BTCUSDT'], checks: {} } as unknown as GatewayContext
const routes = new Set([...restSpecs(ctx), ...binanceRoutes(ctx)].map((s) => s.path))
/** Paths the ingest and sink roles serve (gateway/role-server.ts). */
const roleRoutes = new Set<string>(ROLE_ROUTES)
const servedBy = (role: string) => (role === 'ingest' || role === 'sink' ? roleRoutes : routes)

describe('helm chart', () => {
  it('helm lint --strict passes with the default and the custom values', () => {
    // (lint has no --api-versions: it renders without the operator's API)
    for (const args of [[], custom.slice(2), ['--set', 'monitoring.operator=true']]) {
      const r = run(helm, ['lint', '--strict', chart, ...args])
      expect(r.stdout).toContain('0 chart(s) failed')
      expect(r.stdout + r.stderr).not.toMatch(/\[(WARNING|ERROR)\]/)
      expect(r.status).toBe(0)
    }
  })

  for (const [name, args] of [
    ['default', []],
    ['custom', custom],
  ] as const) {
    describe(`rendered with the ${name} values`, () => {
      let docs: K8s[] = []
      beforeAll(() => {
        docs = render(...args)
      })

      it('process is a StatefulSet with its state on a PVC, a grace period to commit, and replicas ≤ partitions', () => {
        const sts = one(docs, 'StatefulSet', 'cs-crypto-streams-process')
        const claim = sts.spec.volumeClaimTemplates[0]
        expect(claim.spec.resources.requests.storage).toBeTruthy()
        const c = sts.spec.template.spec.containers[0]
        const config = one(docs, 'ConfigMap', 'cs-crypto-streams').data
        expect(c.volumeMounts).toContainEqual({ name: claim.metadata.name, mountPath: config.CS_DATA_DIR })
        expect(sts.spec.template.spec.volumes.map((v: K8s) => v.name)).not.toContain(claim.metadata.name)
        expect(sts.spec.template.spec.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(60)
        const headless = one(docs, 'Service', sts.spec.serviceName)
        expect(headless.spec.clusterIP).toBe('None')
        expect(matches(headless.spec.selector, sts.spec.template.metadata.labels)).toBe(true)
        expect(sts.spec.replicas).toBe(name === 'default' ? 1 : 3)
        // the partitions ingest and the engine create topics with are the ones replicas are checked against
        expect(config.CS_PARTITIONS).toBe('6')
        if (name === 'custom') expect(claim.spec.storageClassName).toBe('fast-ssd')
        for (const d of byKind(docs, 'Deployment')) expect(d.metadata.name).not.toMatch(/process/)
      })

      it('has Deployments for ingest, sink and gateway and CronJobs for backfill, train and retention', () => {
        for (const role of ['ingest', 'sink', 'gateway']) one(docs, 'Deployment', `cs-crypto-streams-${role}`)
        for (const job of ['backfill', 'train', 'retention']) one(docs, 'CronJob', `cs-crypto-streams-${job}`)
      })

      it('probes only routes the role really serves, on its declared http port', () => {
        let probes = 0
        for (const w of workloads(docs))
          for (const c of podOf(w).spec.containers)
            for (const kind of ['startupProbe', 'livenessProbe', 'readinessProbe']) {
              const p = c[kind]
              if (!p) continue
              probes++
              expect(servedBy(c.args[0]), `${w.metadata.name} ${kind} ${p.httpGet.path}`).toContain(
                p.httpGet.path,
              )
              expect(c.ports.map((x: K8s) => x.name)).toContain(p.httpGet.port)
              expect(['gateway', 'process', 'ingest', 'sink'], w.metadata.name).toContain(c.args[0])
            }
        expect(probes).toBe(12)
        expect(routes).toContain('/health')
      })

      it('commits no secret: no Secret object, no credentials in URLs, no literal secret env', () => {
        expect(byKind(docs, 'Secret')).toEqual([])
        const text = JSON.stringify(docs)
        expect(text).not.toMatch(/[a-z+]+:\/\/[^/\s"@:]+:[^/\s"@]+@/)
        for (const w of workloads(docs))
          for (const c of podOf(w).spec.containers) {
            for (const e of c.env ?? [])
              if (/PASS|SECRET|TOKEN|KEY|CREDENTIAL/i.test(e.name)) expect(e.value, e.name).toBeUndefined()
            const secretRefs = (c.envFrom ?? []).filter((f: K8s) => f.secretRef)
            expect(secretRefs.length, w.metadata.name).toBe(name === 'custom' ? 1 : 0)
            if (name === 'custom') {
              // the Secret comes after the ConfigMap: its MONGO_URL / REDIS_URL win
              expect(c.envFrom.at(-1).secretRef.name).toBe('crypto-streams-credentials')
            }
          }
        for (const cm of byKind(docs, 'ConfigMap'))
          for (const k of Object.keys(cm.data)) expect(k).not.toMatch(/PASS|SECRET|TOKEN/i)
      })

      it('every Service, PDB, HPA and Ingress points at something that exists', () => {
        const pods = workloads(docs).map((w) => podOf(w).metadata.labels)
        for (const s of byKind(docs, 'Service')) {
          expect(
            pods.some((l) => matches(s.spec.selector, l)),
            s.metadata.name,
          ).toBe(true)
          expect(s.spec.ports[0].targetPort).toBe('http')
        }
        for (const p of byKind(docs, 'PodDisruptionBudget'))
          expect(pods.filter((l) => matches(p.spec.selector.matchLabels, l)).length, p.metadata.name).toBe(1)
        for (const h of byKind(docs, 'HorizontalPodAutoscaler')) {
          const target = one(docs, 'Deployment', h.spec.scaleTargetRef.name)
          expect(target.spec.replicas).toBeUndefined()
        }
        for (const i of byKind(docs, 'Ingress'))
          for (const rule of i.spec.rules)
            for (const p of rule.http.paths) one(docs, 'Service', p.backend.service.name)
        expect(byKind(docs, 'HorizontalPodAutoscaler').length).toBe(name === 'default' ? 1 : 0)
        expect(byKind(docs, 'Ingress').length).toBe(name === 'default' ? 0 : 1)
        if (name === 'custom')
          expect(one(docs, 'Deployment', 'cs-crypto-streams-gateway').spec.replicas).toBe(3)
      })

      it('ServiceMonitor and PrometheusRule only with the operator; the rules are the ones tested', () => {
        const sm = byKind(docs, 'ServiceMonitor')
        const pr = byKind(docs, 'PrometheusRule')
        if (name === 'default') {
          expect(sm).toEqual([])
          expect(pr).toEqual([])
          return
        }
        expect(sm[0].metadata.labels.release).toBe('kube-prometheus-stack')
        const scraped = byKind(docs, 'Service').filter((s) =>
          matches(sm[0].spec.selector.matchLabels, s.metadata.labels),
        )
        // every role is scraped
        expect(scraped.map((s) => s.metadata.name).sort()).toEqual([
          'cs-crypto-streams-gateway',
          'cs-crypto-streams-ingest',
          'cs-crypto-streams-process',
          'cs-crypto-streams-sink',
        ])
        expect(sm[0].spec.endpoints[0]).toMatchObject({ port: 'http', path: '/metrics' })
        expect(routes).toContain('/metrics')
        const [file] = parseYaml<K8s>(readFileSync(join(chart, 'files', 'alerts.yml'), 'utf8'))
        expect(pr[0].spec.groups).toEqual(file.groups)
      })

      it('ships the Grafana dashboard as a ConfigMap with the sidecar label', () => {
        const cm = one(docs, 'ConfigMap', 'cs-crypto-streams-dashboard')
        expect(cm.metadata.labels.grafana_dashboard).toBe('1')
        expect(JSON.parse(cm.data['crypto-streams.json'])).toEqual(
          JSON.parse(readFileSync(join(chart, 'files', 'dashboard.json'), 'utf8')),
        )
      })

      it('runs only commands and flags the CLI has (`node scripts/cli.ts <cmd> --help`)', () => {
        const invocations: { where: string; argv: string[] }[] = []
        for (const w of workloads(docs))
          for (const c of podOf(w).spec.containers) {
            if (c.command) {
              // a shell wrapper (backfill: yesterday for every symbol): its CLI calls
              expect(c.command.slice(0, 2)).toEqual(['sh', '-c'])
              for (const m of String(c.command[2]).matchAll(/node scripts\/cli\.ts ([^\n|;&]+)/g))
                invocations.push({ where: w.metadata.name, argv: m[1]!.trim().split(/\s+/) })
            } else invocations.push({ where: w.metadata.name, argv: c.args })
          }
        expect(invocations.length).toBe(7)
        const help = new Map<string, string>()
        for (const { where, argv } of invocations) {
          const cmd = argv[0]!
          if (!help.has(cmd)) {
            const r = run(process.execPath, ['scripts/cli.ts', cmd, '--help'])
            expect(r.status, `${where}: node scripts/cli.ts ${cmd} --help\n${r.stderr}`).toBe(0)
            help.set(cmd, r.stdout)
          }
          for (const flag of argv.filter((a) => a.startsWith('--')))
            expect(help.get(cmd), `${where}: ${cmd} ${flag}`).toContain(`${flag} `)
        }
      }, 60_000)
    })
  }

  it('the backfill job runs the CLI once per configured symbol for yesterday (UTC)', () => {
    const docs = render('--set-string', 'config.symbols=BTCUSDT\\,ETHUSDT\\,SOLUSDT')
    const job = one(docs, 'CronJob', 'cs-crypto-streams-backfill')
    const c = podOf(job).spec.containers[0]
    // the pod's shell script, with `node` standing in as a recorder of its arguments
    const bin = mkdtempSync(join(tmpdir(), 'cs-stub-'))
    try {
      writeFileSync(join(bin, 'node'), '#!/bin/sh\necho "$@"\n')
      chmodSync(join(bin, 'node'), 0o755)
      const settings = one(docs, 'ConfigMap', 'cs-crypto-streams').data
      const r = spawnSync(c.command[0], c.command.slice(1), {
        env: { ...settings, PATH: `${bin}:${process.env.PATH}` },
        encoding: 'utf8',
      })
      expect(r.status, r.stderr).toBe(0)
      const day = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10)
      expect(r.stdout.trim().split('\n')).toEqual(
        ['BTCUSDT', 'ETHUSDT', 'SOLUSDT'].map(
          (s) => `scripts/cli.ts backfill --symbol ${s} --from ${day} --to ${day} --source topic`,
        ),
      )
    } finally {
      rmSync(bin, { recursive: true, force: true })
    }
  })

  it('refuses more process replicas than partitions, and values the schema rejects', () => {
    const tooMany = run(helm, [
      'template',
      'cs',
      chart,
      '--set',
      'process.replicas=4',
      '--set',
      'process.partitions=3',
    ])
    expect(tooMany.status).not.toBe(0)
    expect(tooMany.stderr).toContain('process.replicas (4) must not exceed process.partitions (3)')
    const bad = run(helm, [
      'template',
      'cs',
      chart,
      '--set',
      'kafka.brokers=no-port',
      '--set',
      'config.source=live',
      '--set',
      'ingest.replicas=2',
    ])
    expect(bad.status).not.toBe(0)
    expect(bad.stderr).toContain('/kafka/brokers')
    expect(bad.stderr).toContain('/config/source')
    expect(bad.stderr).toContain('/ingest/replicas')
  })

  it('with the operator API present (auto), creates the monitoring objects; `false` turns them off', () => {
    const on = render('--api-versions', 'monitoring.coreos.com/v1')
    expect(byKind(on, 'ServiceMonitor').length).toBe(1)
    const off = render('--api-versions', 'monitoring.coreos.com/v1', '--set', 'monitoring.operator=false')
    expect(byKind(off, 'ServiceMonitor')).toEqual([])
    expect(byKind(off, 'PrometheusRule')).toEqual([])
  })
})
