// One error type per area, each with a stable code prefix so callers and logs can match them.
export type ErrorArea = 'CONFIG' | 'SERVICE' | 'ENGINE' | 'STATE' | 'INGEST' | 'SCHEMA' | 'SINK' | 'GATEWAY'

export class StreamsError extends Error {
  readonly code: string

  constructor(area: ErrorArea, code: string, message: string, options?: ErrorOptions) {
    super(message, options)
    this.name = 'StreamsError'
    this.code = `${area}_${code}`
  }
}

export class ConfigError extends StreamsError {
  constructor(code: string, message: string, options?: ErrorOptions) {
    super('CONFIG', code, message, options)
    this.name = 'ConfigError'
  }
}

/** A required server (Kafka, Redis, MongoDB wire) is missing or did not answer in time. */
export class ServiceUnavailableError extends StreamsError {
  constructor(service: string, address: string, options?: ErrorOptions) {
    super(
      'SERVICE',
      'UNAVAILABLE',
      `${service} is not reachable at ${address}; start it with \`npm run services -- start\` ` +
        `(scripts/services/services.sh start) or point the config at a running one`,
      options,
    )
    this.name = 'ServiceUnavailableError'
  }
}
