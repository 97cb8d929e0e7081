import { describe, expect, it } from 'vitest'
import { loadConfig } from '../../common/config.ts'
import { waitForKafka } from '../../common/connect.ts'
import { runDrill } from '../drill.ts'

// The fault drill on Kafka (engine/drill.ts): two instances share the input while one of them is
// SIGKILLed at a random point CS_DRILL_KILLS times (default 20) and, once, the other is SIGSTOPped
// past its session timeout and resumed. Exactly-once: every output sequence equals the
// uninterrupted run's, no committed duplicate; at-least-once: the candles do.
describe('fault drill (real broker)', () => {
  it('exactly-once outputs equal an uninterrupted run after SIGKILLs and a paused zombie; at-least-once candles too', async () => {
    const cfg = loadConfig()
    await waitForKafka(cfg.kafkaBrokers)
    const res = await runDrill({
      transport: 'kafka',
      brokers: cfg.kafkaBrokers,
      kills: Number(process.env.CS_DRILL_KILLS ?? 20),
      minutes: Number(process.env.CS_DRILL_MINUTES ?? 120),
      seed: Number(process.env.CS_DRILL_SEED ?? Date.now() % 1000),
      pause: true,
    })
    console.log('drill (kafka)', JSON.stringify(res))
    expect(res.pauses).toBe(1)
    expect(res.exactlyOnce.differing).toEqual([])
    expect(res.exactlyOnce.duplicates).toEqual([])
    expect(res.atLeastOnce.differing).toEqual([])
    expect(res.exactlyOnce.values).toBeGreaterThan(0)
  }, 600_000)
})
