import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { configTable } from './config-table.ts'

// README must stay true: its config table is the one the loader reads, and Quick start has two commands.
describe('README', () => {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8')

  it('lists every setting of common/config.ts (regenerate: node scripts/config-table.ts)', () => {
    expect(readme).toContain(configTable())
  })

  it('has exactly two Quick start commands in one bash block, and .ci/run calls the test one', () => {
    const section = readme.split('## Quick start')[1]!.split('\n## ')[0]!
    const blocks = [...section.matchAll(/```bash\n([\s\S]*?)```/g)]
    expect(blocks).toHaveLength(1)
    const commands = blocks[0]![1]!.trim().split('\n')
    expect(commands).toHaveLength(2)
    const ci = readFileSync(new URL('../.ci/run', import.meta.url), 'utf8')
    expect(ci).toContain(commands[1])
  })
})
