// Values cross the transport as UTF-8 strings. JSON is the default serde; a source can add a
// validation function (`parse`) that turns the decoded JSON into a typed record or throws, in
// which case the record goes to the dead-letter topic and the stream continues.

export interface Serde<T> {
  serialize(value: T): string
  deserialize(text: string): T
}

export const Serdes = {
  json<T>(): Serde<T> {
    return jsonSerde as Serde<T>
  },
  /** JSON, then a validation function (e.g. common/records.ts parseKline) that throws on bad input. */
  jsonWith<T>(parse: (x: unknown) => T): Serde<T> {
    return { serialize: (v) => JSON.stringify(v), deserialize: (s) => parse(JSON.parse(s)) }
  },
  string(): Serde<string> {
    return stringSerde
  },
} as const

const jsonSerde: Serde<unknown> = {
  serialize: (v) => JSON.stringify(v),
  deserialize: (s) => JSON.parse(s),
}
const stringSerde: Serde<string> = { serialize: (v) => v, deserialize: (s) => s }
