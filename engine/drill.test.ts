import { describe, expect, it } from 'vitest'
import { runDrill } from './drill.ts'

// The fault drill on the embedded log (engine/drill.ts): the instance, which also feeds the input,
// is SIGKILLed at random points CS_DRILL_KILLS times (default 20). Exactly-once: every output
// sequence equals the uninterrupted run's, no committed duplicate; at-least-once: the candles do.
describe('fault drill (embedded log)', () => {
  it('exactly-once outputs equal an uninterrupted run after SIGKILLs at random points; at-least-once candles too', async () => {
    const res = await runDrill({
      transport: 'embedded',
      kills: Number(process.env.CS_DRILL_KILLS ?? 20),
      minutes: Number(process.env.CS_DRILL_MINUTES ?? 120),
      seed: Number(process.env.CS_DRILL_SEED ?? Date.now() % 1000),
    })
    console.log(
      'drill (embedded)',
      JSON.stringify({ ...res, exactlyOnce: { ...res.exactlyOnce }, atLeastOnce: { ...res.atLeastOnce } }),
    )
    expect(res.kills).toBeGreaterThanOrEqual(Math.min(20, Number(process.env.CS_DRILL_KILLS ?? 20)))
    expect(res.exactlyOnce.differing).toEqual([])
    expect(res.exactlyOnce.duplicates).toEqual([])
    expect(res.atLeastOnce.differing).toEqual([])
    expect(res.exactlyOnce.values).toBeGreaterThan(0)
  }, 300_000)
})
