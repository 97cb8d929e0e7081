import { describe, expect, it } from 'vitest'
import { topicPartitions } from './partitions.ts'

describe('topic partitions', () => {
  it('CS_PARTITIONS on Kafka; 1 on the embedded log unless given', () => {
    expect(topicPartitions({ transport: 'kafka', partitions: 6 }, false, {})).toBe(6)
    expect(topicPartitions({ transport: 'embedded', partitions: 6 }, false, {})).toBe(1)
    expect(topicPartitions({ transport: 'embedded', partitions: 4 }, false, { CS_PARTITIONS: '4' })).toBe(4)
    expect(topicPartitions({ transport: 'embedded', partitions: 6 }, true, {})).toBe(6)
  })
})
