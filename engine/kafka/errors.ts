import { StreamsError } from '../../common/errors.ts'

/** A Kafka operation failed or did not answer in time; `code` is ENGINE_KAFKA_<WHAT>. */
export class KafkaTransportError extends StreamsError {
  constructor(what: string, message: string, options?: ErrorOptions) {
    super('ENGINE', `KAFKA_${what}`, message, options)
    this.name = 'KafkaTransportError'
  }
}

/** Runs `op`, failing with a KafkaTransportError naming `what` after `ms`, never hanging. */
export async function bounded<T>(what: string, ms: number, op: () => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new KafkaTransportError('TIMEOUT', `Kafka ${what}: no answer within ${ms} ms`)),
      ms,
    )
  })
  try {
    return await Promise.race([op(), deadline])
  } catch (err) {
    if (err instanceof KafkaTransportError) throw err
    throw new KafkaTransportError('FAILED', `Kafka ${what} failed: ${(err as Error).message}`, { cause: err })
  } finally {
    clearTimeout(timer)
  }
}

/** Kafka errors nest (MultipleErrors): whether an error or anything nested in it names one of `ids` (protocol error id, code or message). */
export function mentionsAny(err: unknown, ids: string[]): boolean {
  const seen = new Set<unknown>()
  const visit = (e: unknown): boolean => {
    if (!e || typeof e !== 'object' || seen.has(e)) return false
    seen.add(e)
    const o = e as { apiId?: unknown; code?: unknown; message?: unknown; errors?: unknown[]; cause?: unknown }
    if (
      ids.some(
        (id) => o.apiId === id || o.code === id || (typeof o.message === 'string' && o.message.includes(id)),
      )
    )
      return true
    return (o.errors ?? []).some(visit) || visit(o.cause)
  }
  return visit(err)
}
