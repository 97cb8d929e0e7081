import { type Config, isSet } from '../common/config.ts'

/**
 * Partitions for the topics a role creates. CS_PARTITIONS (default 6) on Kafka, where instances
 * split them. The embedded log has one consumer per group, so extra partitions only multiply
 * tasks and their LevelDB stores (the one-command run took 25 s instead of 5 s to start on 6):
 * it uses 1 unless CS_PARTITIONS (or the flag) is given.
 */
export function topicPartitions(
  config: Pick<Config, 'transport' | 'partitions'>,
  flagGiven = false,
  env: NodeJS.ProcessEnv = process.env,
): number {
  if (config.transport === 'kafka' || flagGiven || isSet('partitions', env)) return config.partitions
  return 1
}
