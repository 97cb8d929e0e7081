import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { ConfigError } from './errors.ts'

/** Listens or fails with an error naming the server, the address and the setting to change. */
export function listen(
  server: Server,
  port: number,
  host: string,
  what: string,
  setting: string,
): Promise<number> {
  return new Promise((resolve, reject) => {
    const fail = (e: NodeJS.ErrnoException) =>
      reject(
        new ConfigError(
          e.code === 'EADDRINUSE' ? 'PORT_IN_USE' : 'LISTEN',
          `${what} cannot listen on ${host}:${port} (${e.code ?? e.message}); set ${setting} to another port`,
          { cause: e },
        ),
      )
    server.once('error', fail)
    server.listen(port, host, () => {
      server.off('error', fail)
      resolve((server.address() as AddressInfo).port)
    })
  })
}
