import { describe, expect, it } from 'vitest'
import { optionalModule, optionKey, utcDay } from './command.ts'

describe('command helpers', () => {
  it('optionalModule: a missing module or export is "not available", not a stack trace', async () => {
    await expect(optionalModule('../../nowhere/role.ts', 'demo', 'start')).rejects.toMatchObject({
      code: 'CONFIG_NOT_AVAILABLE',
      message: 'the demo role is not available in this build (nowhere/role.ts is missing)',
    })
    await expect(optionalModule('./command.ts', 'demo', 'startDemo')).rejects.toMatchObject({
      code: 'CONFIG_NOT_AVAILABLE',
      message:
        'the demo role is not available in this build (scripts/commands/command.ts does not export startDemo())',
    })
    expect(await optionalModule('./command.ts', 'demo', 'utcDay')).toBe(utcDay)
  })

  it('optionKey is commander’s camelCase key; utcDay accepts only real days', () => {
    expect(optionKey('--trades-per-minute <n>')).toBe('tradesPerMinute')
    expect(optionKey('-p, --port <port>')).toBe('port')
    expect(utcDay('2024-02-29')).toBe('2024-02-29')
    expect(() => utcDay('2023-02-29')).toThrow('must be a UTC date YYYY-MM-DD')
    expect(() => utcDay('2024-1-2')).toThrow()
  })
})
