import { KafkaTransport, type KafkaTransportOptions } from './transport.ts'

export { KafkaTransportError } from './errors.ts'
export { KafkaTransport, type KafkaTransportOptions } from './transport.ts'

/** What engine/open.ts loads for CS_TRANSPORT=kafka. */
export function createKafkaTransport(options: KafkaTransportOptions): KafkaTransport {
  return new KafkaTransport(options)
}
