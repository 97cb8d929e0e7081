export { EmbeddedError, type EmbeddedOptions, EmbeddedTransport } from './transport.ts'
