import { existsSync, readFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { restSpecs } from '../gateway/app.ts'
import type { GatewayContext } from '../gateway/context.ts'
import { root } from './tools.fixture.ts'

// No Docker engine runs here, so the image is checked by what it must contain: every module the
// CLI can load (roles and jobs, static and on-demand imports) is copied and not ignored, it runs
// as a non-root user on Node 24 with production dependencies only, and its health check asks a
// route the gateway serves.

const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8')
const ignored = readFileSync(join(root, '.dockerignore'), 'utf8')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith('#'))

/** Every repository file reachable from scripts/cli.ts through relative `.ts` specifiers. */
function reachable(entry: string): Set<string> {
  const seen = new Set<string>()
  const visit = (file: string) => {
    if (seen.has(file) || !existsSync(file)) return
    seen.add(file)
    for (const m of readFileSync(file, 'utf8').matchAll(/['"](\.\.?\/[^'"]+\.ts)['"]/g))
      visit(resolve(dirname(file), m[1]!))
  }
  visit(entry)
  return seen
}

describe('Dockerfile', () => {
  const stages = [...dockerfile.matchAll(/^FROM\s+(\S+)(?:\s+AS\s+(\S+))?/gm)]
  const final = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '))

  it('is multi-stage on Node 24, installs production dependencies only, runs as non-root', () => {
    expect(dockerfile).toMatch(/^ARG NODE_IMAGE=node:24-slim$/m)
    expect(stages.length).toBeGreaterThanOrEqual(2)
    for (const s of stages) expect(s[1]).toMatch(/^\$\{NODE_IMAGE\}$/)
    expect(dockerfile).toMatch(/RUN npm ci --omit=dev/)
    expect(final).toMatch(/^USER node$/m)
    expect(final).toMatch(/COPY --from=deps \/app\/node_modules/)
    expect(final).toMatch(/^ENTRYPOINT \["node", "scripts\/cli\.ts"\]$/m)
  })

  it('health check asks /health, a route the gateway and the status server serve', () => {
    const ctx = { symbols: [], checks: {} } as unknown as GatewayContext
    const paths = restSpecs(ctx).map((s) => s.path)
    const hc = final.match(/HEALTHCHECK[\s\S]*?CMD (.*)$/m)?.[1] ?? ''
    const path = hc.match(/\+'(\/[a-z0-9/]*)'/)?.[1]
    expect(path).toBe('/health')
    expect(paths).toContain(path)
  })

  it('copies every module the CLI can load, and ignores none of them', () => {
    const copied = [...final.matchAll(/^COPY (?!--from)(\S+) /gm)].map((m) => m[1]!)
    const files = [...reachable(join(root, 'scripts', 'cli.ts'))].map((f) => relative(root, f))
    expect(files.length).toBeGreaterThan(50)
    for (const dir of ['engine', 'ingest', 'sinks', 'gateway', 'topologies', 'processors', 'state'])
      expect(
        files.some((f) => f.startsWith(`${dir}/`)),
        dir,
      ).toBe(true)
    for (const f of files) {
      expect(
        copied.some((c) => f === c || f.startsWith(`${c}/`)),
        `${f} is not copied into the image`,
      ).toBe(true)
      const hit = ignored.find((p) =>
        p.startsWith('**/*')
          ? f.endsWith(p.slice(4))
          : f === p || f.startsWith(`${p.replace(/^\*\*\//, '')}/`),
      )
      expect(hit, `${f} is excluded by .dockerignore (${hit})`).toBeUndefined()
    }
  })
})
