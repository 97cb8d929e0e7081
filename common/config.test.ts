import { describe, expect, it } from 'vitest'
import { ConfigInvalidError, configWarnings, isSet, loadConfig, settings } from './config.ts'

describe('config', () => {
  it('every default is valid and typed', () => {
    const c = loadConfig({})
    expect(c.transport).toBe('embedded')
    expect(c.replayPort).toBe(9443)
    expect(c.symbols).toHaveLength(15)
    expect(c.kafkaBrokers).toEqual(['127.0.0.1:19092'])
  })

  it('an empty variable counts as unset; symbols are upper-cased', () => {
    expect(loadConfig({ CS_REPLAY_PORT: '' }).replayPort).toBe(9443)
    expect(loadConfig({ CS_SYMBOLS: 'btcusdt, ethusdt' }).symbols).toEqual(['BTCUSDT', 'ETHUSDT'])
  })

  it('collects every invalid setting, one line each with value and what is allowed', () => {
    let err: unknown
    try {
      loadConfig({ CS_REPLAY_PORT: 'x', CS_LOG_LEVEL: 'info,engine=loud', KAFKA_BOOTSTRAP: 'nohost' })
    } catch (e) {
      err = e
    }
    expect(err).toBeInstanceOf(ConfigInvalidError)
    expect((err as ConfigInvalidError).code).toBe('CONFIG_INVALID')
    expect((err as ConfigInvalidError).lines).toEqual([
      'KAFKA_BOOTSTRAP="nohost" is not allowed: expected host:port, comma separated',
      'CS_REPLAY_PORT="x" is not allowed: expected an integer 0..65535',
      'CS_LOG_LEVEL="info,engine=loud" is not allowed: expected a level (debug, info, warn, error, silent), then optional component=level pairs, comma separated',
    ])
  })

  it('names the flag when a flag set the value', () => {
    expect(() => loadConfig({ CS_REPLAY_PORT: '-1' }, {}, { flags: { CS_REPLAY_PORT: '--port' } })).toThrow(
      '--port (CS_REPLAY_PORT)="-1" is not allowed',
    )
  })

  it('aliases: MONGO_URI, KAFKA_BOOTSTRAP, REDIS_HOST/PORT/PASSWORD; the primary name wins', () => {
    const c = loadConfig({
      MONGO_URI: 'mongodb://m:27017/x',
      KAFKA_BOOTSTRAP: 'a:1,b:2',
      REDIS_HOST: 'r',
      REDIS_PASSWORD: 's3cr/t',
    })
    expect(c.mongoUrl).toBe('mongodb://m:27017/x')
    expect(c.kafkaBrokers).toEqual(['a:1', 'b:2'])
    expect(c.redisUrl).toBe('redis://:s3cr%2Ft@r:16379')
    expect(loadConfig({ REDIS_URL: 'redis://x:1', REDIS_PORT: '2' }).redisUrl).toBe('redis://x:1')
  })

  it('isSet: by the variable or an alias, not by the default', () => {
    expect(isSet('mongoUrl', {})).toBe(false)
    expect(isSet('mongoUrl', { MONGO_URI: 'mongodb://h/x' })).toBe(true)
    expect(isSet('redisUrl', { REDIS_HOST: 'h' })).toBe(true)
  })

  it('warns about unknown CS_ variables (nearest name) and shadowed aliases', () => {
    expect(
      configWarnings({
        CS_SYMBOL: 'BTCUSDT',
        CS_SERVICES_DIR: '/tmp',
        KAFKA_BROKERS: 'a:1',
        KAFKA_BOOTSTRAP: 'b:1',
      }),
    ).toEqual([
      'unknown variable CS_SYMBOL is ignored; did you mean CS_SYMBOLS?',
      'KAFKA_BOOTSTRAP is ignored: KAFKA_BROKERS is set',
    ])
  })

  it('every setting has a doc and an env name of the usual form', () => {
    for (const s of Object.values(settings)) {
      expect(s.doc.length).toBeGreaterThan(3)
      expect(s.env).toMatch(/^[A-Z][A-Z0-9_]+$/)
    }
  })
})
