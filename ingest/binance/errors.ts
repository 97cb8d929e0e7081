import { StreamsError } from '../../common/errors.ts'

export class IngestError extends StreamsError {
  constructor(code: string, message: string, options?: ErrorOptions) {
    super('INGEST', code, message, options)
    this.name = 'IngestError'
  }
}
