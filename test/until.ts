/**
 * Polls `f` every `everyMs` until it gives something other than false or undefined, and resolves
 * with that; fails naming what it waited for after `ms`.
 */
export async function until<T>(
  what: string,
  f: () => T | false | undefined | Promise<T | false | undefined>,
  ms = 20_000,
  everyMs = 20,
): Promise<T> {
  const end = Date.now() + ms
  for (;;) {
    const v = await f()
    if (v !== undefined && v !== false) return v
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, everyMs))
  }
}
