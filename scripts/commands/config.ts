import { configSources, settings } from '../../common/config.ts'
import type { CommandSpec } from './command.ts'

// `config`: every setting's effective value and where it came from, after validation (an
// invalid setting fails like any command: one line each, exit 2). Credentials in URLs are masked.
const mask = (v: string) => v.replace(/(\/\/[^/@\s]*:)[^/@\s]*@/g, '$1***@')

export const config: CommandSpec = {
  name: 'config',
  description:
    'validate the settings and print each one’s value and source (variable, alias, flag or default)',
  options: [{ flags: '--json', description: 'print one JSON object', default: false }],
  async action({ config: cfg, options }) {
    const sources = configSources()
    const rows = (Object.keys(settings) as (keyof typeof settings)[]).map((k) => {
      const v = cfg[k]
      return {
        variable: settings[k].env,
        value: mask(Array.isArray(v) ? v.join(',') : String(v)),
        source: sources[k],
      }
    })
    if (options.json) {
      process.stdout.write(`${JSON.stringify(rows)}\n`)
      return
    }
    const w = Math.max(...rows.map((r) => r.variable.length))
    for (const r of rows) process.stdout.write(`${r.variable.padEnd(w)}  ${r.value}  (${r.source})\n`)
  },
}
