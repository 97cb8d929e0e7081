import { describe, expect, it } from 'vitest'
import { supersedes } from './version.ts'

describe('supersedes', () => {
  it('a later offset wins, an equal or older one does not (replays are no-ops)', () => {
    expect(supersedes({ _v: 5 }, undefined)).toBe(true)
    expect(supersedes({ _v: 6 }, { _v: 5 })).toBe(true)
    expect(supersedes({ _v: 5 }, { _v: 5 })).toBe(false)
    expect(supersedes({ _v: 4 }, { _v: 5 })).toBe(false)
  })
  it('a final is replaced by a later final (correction), never by an open update', () => {
    expect(supersedes({ _v: 9, closed: false }, { _v: 5, closed: true })).toBe(false)
    expect(supersedes({ _v: 9, closed: true }, { _v: 5, closed: true })).toBe(true)
    expect(supersedes({ _v: 9, closed: true }, { _v: 5, closed: false })).toBe(true)
    expect(supersedes({ _v: 4, closed: true }, { _v: 5, closed: false })).toBe(false)
  })
})
