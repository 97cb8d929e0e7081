import { join } from 'node:path'
import type { Config } from '../common/config.ts'
import { StreamsError } from '../common/errors.ts'
import { EmbeddedTransport } from './embedded/transport.ts'
import type { Transport } from './transport.ts'

/** What engine/kafka/index.ts exports for this to find it. */
export interface KafkaTransportModule {
  createKafkaTransport(options: { brokers: string[]; clientId?: string }): Transport | Promise<Transport>
}

/**
 * The transport CS_TRANSPORT names: the embedded log under `<CS_DATA_DIR>/log`, or Kafka at
 * KAFKA_BROKERS (loaded on demand, so embedded runs never load the Kafka client).
 */
export async function openTransport(
  config: Pick<Config, 'transport' | 'dataDir' | 'kafkaBrokers'>,
  clientId = 'crypto-streams',
): Promise<Transport> {
  if (config.transport === 'embedded') return new EmbeddedTransport({ dir: join(config.dataDir, 'log') })
  const path = './kafka/index.ts'
  let mod: Partial<KafkaTransportModule>
  try {
    mod = (await import(path)) as Partial<KafkaTransportModule>
  } catch (err) {
    throw new StreamsError(
      'ENGINE',
      'NO_KAFKA_TRANSPORT',
      `cannot load engine/kafka/index.ts: ${(err as Error).message}`,
      {
        cause: err,
      },
    )
  }
  if (typeof mod.createKafkaTransport !== 'function')
    throw new StreamsError(
      'ENGINE',
      'NO_KAFKA_TRANSPORT',
      'engine/kafka/index.ts does not export createKafkaTransport',
    )
  return mod.createKafkaTransport({ brokers: config.kafkaBrokers, clientId })
}
