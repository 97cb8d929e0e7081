import { createServer } from 'node:http'
import { describe, expect, it } from 'vitest'
import { listen } from './listen.ts'

describe('listen', () => {
  it('returns the bound port, and a taken port fails naming the server and the setting', async () => {
    const a = createServer()
    const port = await listen(a, 0, '127.0.0.1', 'first', 'X_PORT')
    expect(port).toBeGreaterThan(0)
    const b = createServer()
    await expect(listen(b, port, '127.0.0.1', 'status server', 'CS_GATEWAY_PORT')).rejects.toMatchObject({
      code: 'CONFIG_PORT_IN_USE',
      message: expect.stringMatching(/status server .*127\.0\.0\.1:\d+ .*EADDRINUSE.*CS_GATEWAY_PORT/),
    })
    await new Promise((r) => a.close(r))
  })
})
