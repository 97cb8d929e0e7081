// Prints README's configuration table from common/config.ts, so the two never disagree.
//   node scripts/config-table.ts   (rewrites the table between the config-table markers)
import { allowedText, settings } from '../common/config.ts'

const cell = (s: string) => s.replace(/\|/g, '\\|')

export function configTable(): string {
  const rows = Object.values(settings).map((s) => {
    const aliases = 'aliases' in s ? `; also read from ${s.aliases.map((a) => `\`${a}\``).join(', ')}` : ''
    const def = s.default === '' ? '' : `\`${s.default}\``
    return `| \`${s.env}\` | ${cell(def)} | ${cell(allowedText(s))} | ${cell(s.doc)}${aliases} |`
  })
  return ['| variable | default | allowed | meaning |', '| --- | --- | --- | --- |', ...rows].join('\n')
}

if (import.meta.main) {
  const { readFileSync, writeFileSync } = await import('node:fs')
  const path = new URL('../README.md', import.meta.url)
  const readme = readFileSync(path, 'utf8')
  const out = readme.replace(
    /(<!-- config-table:start -->\n)[\s\S]*?(<!-- config-table:end -->)/,
    `$1${configTable()}\n$2`,
  )
  writeFileSync(path, out)
}
