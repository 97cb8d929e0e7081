import { createRequire } from 'node:module'
import type { AddressInfo } from 'node:net'
import express from 'express'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { docsRouter } from './openapi.ts'

// The docs route serves Swagger UI's files from swagger-ui-dist without loading its browser
// bundle into the server process (the package's index requires it: ~10 MB of heap).

let server: ReturnType<express.Express['listen']>
let base = ''
beforeAll(async () => {
  const app = express()
  app.use(docsRouter([]))
  server = app.listen(0, '127.0.0.1')
  await new Promise((r) => server.once('listening', r))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})
afterAll(() => server.close())

describe('docs router', () => {
  it('serves the Swagger UI files, the bundle never loaded as a module', async () => {
    const res = await fetch(`${base}/docs/swagger-ui-bundle.js`)
    expect(res.status).toBe(200)
    expect((await res.text()).length).toBeGreaterThan(100_000)
    const loaded = Object.keys(createRequire(import.meta.url).cache)
    expect(loaded.filter((f) => f.includes('swagger-ui-dist'))).toEqual([
      expect.stringMatching(/absolute-path\.js$/),
    ])
  })
})
