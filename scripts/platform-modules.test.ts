import { execFileSync } from 'node:child_process'
import { describe, expect, it } from 'vitest'

// The one-command run without sinks does not load the MongoDB and Redis clients (~20 MB of RSS):
// scripts/platform.ts imports the sinks and the gateway's sink reader only when configured.

describe('platform modules', () => {
  it('loads neither mongodb nor ioredis until sinks are configured', () => {
    const code = `
      import { createRequire } from 'node:module'
      await import(${JSON.stringify(new URL('./platform.ts', import.meta.url).href)})
      const cache = Object.keys(createRequire(import.meta.url).cache)
      console.log(JSON.stringify(['mongodb', 'ioredis', 'bson'].filter((m) => cache.some((f) => f.includes('/node_modules/' + m + '/')))))
    `
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8' })
    expect(JSON.parse(out.trim().split('\n').at(-1)!)).toEqual([])
  })
})
