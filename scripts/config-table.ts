// Prints README's configuration table from common/config.ts, so the two never disagree.
import { settings } from '../common/config.ts'

export function configTable(): string {
  const rows = Object.values(settings).map((s) => `| \`${s.env}\` | \`${s.default}\` | ${s.doc} |`)
  return ['| variable | default | meaning |', '| --- | --- | --- |', ...rows].join('\n')
}

if (import.meta.main) {
  const { readFileSync, writeFileSync } = await import('node:fs')
  const readme = readFileSync('README.md', 'utf8')
  const out = readme.replace(
    /(<!-- config-table:start -->\n)[\s\S]*?(<!-- config-table:end -->)/,
    `$1${configTable()}\n$2`,
  )
  writeFileSync('README.md', out)
}
