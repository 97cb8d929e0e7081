import { describe, expect, it } from 'vitest'
import {
  decodeFrame,
  encodeFrames,
  frameIsTombstone,
  frameKey,
  frameLength,
  frameOffset,
  frameTimestamp,
} from './codec.ts'

describe('embedded log frames', () => {
  const records = [
    {
      key: 'BTCUSDT',
      value: '{"p":"42283.58"}',
      timestamp: 1_704_067_200_000,
      headers: { 'dlq.error': 'é' },
    },
    { key: 'ключ', value: null, timestamp: 1 },
    { key: '', value: '', timestamp: 0 },
  ]

  it('round-trips records, offsets, tombstones, headers and unicode', () => {
    const { buf, starts } = encodeFrames(records, 41)
    expect(starts).toHaveLength(3)
    const decoded = starts.map((s) => decodeFrame(buf, s))
    expect(decoded).toEqual([
      { offset: 41, ...records[0] },
      { offset: 42, key: 'ключ', value: null, timestamp: 1, headers: undefined },
      { offset: 43, key: '', value: '', timestamp: 0, headers: undefined },
    ])
    expect(frameOffset(buf, starts[1]!)).toBe(42)
    expect(frameKey(buf, starts[1]!)).toBe('ключ')
    expect(frameTimestamp(buf, starts[0]!)).toBe(1_704_067_200_000)
    expect(starts.map((s) => frameIsTombstone(buf, s))).toEqual([false, true, false])
  })

  it('rejects incomplete and corrupt frames', () => {
    const { buf, starts } = encodeFrames(records, 0)
    const len = frameLength(buf, 0, buf.length, true)
    expect(len).toBe(starts[1])
    expect(frameLength(buf, 0, len - 1, true)).toBe(-1)
    const bad = Buffer.from(buf)
    bad[starts[0]! + 20] = bad[starts[0]! + 20]! ^ 0xff
    expect(frameLength(bad, 0, bad.length, true)).toBe(-1)
    expect(frameLength(bad, 0, bad.length, false)).toBe(len)
  })
})
