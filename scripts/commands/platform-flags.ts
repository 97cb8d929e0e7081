// V8 heap limits of the one-command run, applied by relaunching itself (a light module: the
// relaunch happens before the platform's modules are loaded).

import { tmpdir } from 'node:os'
import { join } from 'node:path'

/**
 * V8 heap limits the one-command run sets for itself (bench/README.md, Memory). Without them V8
 * sizes its heap for the machine (a 4 GB limit here) and keeps ~450 MB of heap for a live set of
 * ~100 MB after the start-up catch-up: a 16 MB semi-space (young generation 48 MB instead of up to
 * ~130) and a 256 MB old generation (5× today's ~50 MB live set).
 * `--optimize-for-size`: V8 otherwise keeps the pages its collections free mapped and resident for
 * reuse (a pool: 120-155 MB of resident heap pages for a 95 MB heap and ~55 MB live) and grows the
 * old generation ahead of the live set. With it the heap pages follow the heap (~40 MB of pages,
 * heap total ~55 MB): RSS 250-290 -> 150-165 MB at 60x, for ~20-30 % more CPU per replayed hour
 * (more, smaller collections); latency at 10x unchanged (p99 ~11 ms).
 */
export const PLATFORM_NODE_FLAGS = [
  '--optimize-for-size',
  '--max-semi-space-size=16',
  '--max-old-space-size=256',
]
/**
 * glibc malloc: 2 arenas instead of up to 8 per core. Each thread that mallocs (libuv's pool doing
 * fsyncs and LevelDB calls, LevelDB's compaction thread, V8's workers) otherwise gets an arena of
 * its own, each holding freed memory: ~45 MB of the run's ~85 MB of malloc.
 * A fixed 128 KB mmap threshold (and trim threshold): glibc otherwise raises both (up to 32/64 MB)
 * once a large block is freed, so the start-up catch-up's large blocks are carved from the heap
 * and their memory is kept; fixed, blocks of 128 KB and more are mmapped and given back on free
 * (main arena 47-57 MB -> 21-28 MB, bench/README.md).
 * Node's compile cache (the directory `module.enableCompileCache()` uses by default): it keeps the
 * type-stripped source of each .ts file, so a run after the first never loads the TypeScript
 * stripper (a WebAssembly module that stays for the process's life: the platform's modules
 * load in 105 MB of RSS instead of 130) and compiles from V8's code cache. `NODE_DISABLE_COMPILE_CACHE=1` turns it off.
 * Each set in the environment overrides.
 */
export const PLATFORM_ENV = {
  MALLOC_ARENA_MAX: '2',
  MALLOC_MMAP_THRESHOLD_: '131072',
  MALLOC_TRIM_THRESHOLD_: '131072',
  NODE_COMPILE_CACHE: join(tmpdir(), 'node-compile-cache'),
}
const HEAP_FLAG = /--max[-_](old[-_]space|semi[-_]space|heap)[-_]size/

/**
 * Replaces this process (execve: same pid, so signals and supervisors see no difference) with the
 * same command under PLATFORM_NODE_FLAGS (and PLATFORM_ENV, where not set). Not when heap flags were given on the command line or in
 * NODE_OPTIONS (those win; `NODE_OPTIONS=--max-old-space-size=4096` turns the limits off), nor
 * where process.execve is missing (Windows, Node < 22.15). Returns only when it does not relaunch.
 */
export function relaunchWithPlatformFlags(): void {
  const given = [...process.execArgv, process.env.NODE_OPTIONS ?? ''].some((a) => HEAP_FLAG.test(a))
  if (given || typeof process.execve !== 'function') return
  process.execve(
    process.execPath,
    [process.execPath, ...PLATFORM_NODE_FLAGS, ...process.execArgv, ...process.argv.slice(1)],
    { ...process.env, ...PLATFORM_ENV, ...process.env },
  )
}
