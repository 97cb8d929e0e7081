import { StreamsError } from '../../common/errors.ts'

/** Errors of the embedded log (codes `ENGINE_EMBEDDED_*`). */
export class EmbeddedError extends StreamsError {
  constructor(code: string, message: string, options?: ErrorOptions) {
    super('ENGINE', `EMBEDDED_${code}`, message, options)
    this.name = 'EmbeddedError'
  }
}
