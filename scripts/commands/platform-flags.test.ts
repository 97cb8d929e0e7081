import { execFileSync } from 'node:child_process'
import { describe, expect, it } from 'vitest'
import { PLATFORM_NODE_FLAGS } from './platform-flags.ts'

// The one-command run relaunches itself (same pid) under its V8 heap limits, unless heap flags
// were given: then those apply and it runs as started.

const probe = (env: NodeJS.ProcessEnv = {}) => {
  const code = `
    import { getHeapStatistics } from 'node:v8'
    const pid = process.env.PROBE_PID ?? String(process.pid)
    process.env.PROBE_PID = pid
    const { relaunchWithPlatformFlags } = await import(${JSON.stringify(new URL('./platform-flags.ts', import.meta.url).href)})
    relaunchWithPlatformFlags()
    console.log(JSON.stringify({ first: pid, pid: String(process.pid), limitMb: getHeapStatistics().heap_size_limit / 2 ** 20, execArgv: process.execArgv, arenas: process.env.MALLOC_ARENA_MAX, mmapThreshold: process.env.MALLOC_MMAP_THRESHOLD_, compileCache: process.env.NODE_COMPILE_CACHE }))
  `
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', code], {
    env: {
      ...process.env,
      NODE_OPTIONS: '',
      MALLOC_ARENA_MAX: undefined,
      MALLOC_MMAP_THRESHOLD_: undefined,
      NODE_COMPILE_CACHE: undefined,
      ...env,
    },
    encoding: 'utf8',
  })
  return JSON.parse(out.trim().split('\n').at(-1)!) as {
    first: string
    pid: string
    limitMb: number
    execArgv: string[]
    arenas?: string
    mmapThreshold?: string
    compileCache?: string
  }
}

describe('platform heap flags', () => {
  it('relaunch the process in place under the limits', () => {
    const r = probe()
    expect(r.pid).toBe(r.first)
    expect(r.execArgv.slice(0, PLATFORM_NODE_FLAGS.length)).toEqual(PLATFORM_NODE_FLAGS)
    expect(r.limitMb).toBeLessThan(400) // 256 MB old generation + the young generation
    expect(r.arenas).toBe('2')
    expect(r.mmapThreshold).toBe('131072')
    expect(r.compileCache).toMatch(/node-compile-cache$/)
  })

  it('give way to heap flags in NODE_OPTIONS', () => {
    const r = probe({ NODE_OPTIONS: '--max-old-space-size=1024' })
    expect(r.execArgv).toEqual(['--input-type=module', '-e', expect.any(String)])
    expect(r.limitMb).toBeGreaterThan(1000)
  })
})
