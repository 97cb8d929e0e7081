import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { freePort, ThrowawayServer } from '../servers.fixture.ts'

// A throwaway single-node KRaft broker a test may restart (the shared one is never restarted):
// scripts/services/kafka.sh's configuration and its cached jars, its own ports and data dir,
// which survives a restart.

const libs = join(
  process.env.CS_SERVICES_DIR ?? join(process.env.TMPDIR ?? tmpdir(), 'crypto-streams-services'),
  'kafka-libs',
)
const cp = `${libs}/*`

export class ThrowawayKafka extends ThrowawayServer {
  // a controlled shutdown moves leadership and flushes the logs
  protected override stopGraceMs = 30_000

  get brokers(): string {
    return `127.0.0.1:${this.port}`
  }

  static async create(): Promise<ThrowawayKafka> {
    if (!existsSync(join(libs, '.complete')))
      throw new Error(`${libs} is missing: run scripts/services/kafka.sh start once (it fetches the jars)`)
    const [port, controller] = [await freePort(), await freePort()]
    const dir = mkdtempSync(join(tmpdir(), 'cs-kafka-'))
    mkdirSync(join(dir, 'data'))
    const props = join(dir, 'server.properties')
    writeFileSync(
      props,
      [
        'process.roles=broker,controller',
        'node.id=1',
        `controller.quorum.voters=1@127.0.0.1:${controller}`,
        `listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controller}`,
        `advertised.listeners=PLAINTEXT://127.0.0.1:${port}`,
        'controller.listener.names=CONTROLLER',
        'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
        'inter.broker.listener.name=PLAINTEXT',
        `log.dirs=${dir}/data`,
        'num.partitions=3',
        'offsets.topic.replication.factor=1',
        'offsets.topic.num.partitions=3',
        'transaction.state.log.replication.factor=1',
        'transaction.state.log.min.isr=1',
        'transaction.state.log.num.partitions=3',
        'share.coordinator.state.topic.replication.factor=1',
        'share.coordinator.state.topic.min.isr=1',
        'group.initial.rebalance.delay.ms=0',
        'group.consumer.heartbeat.interval.ms=1000',
        'group.consumer.min.heartbeat.interval.ms=500',
        'group.consumer.session.timeout.ms=10000',
        'group.consumer.min.session.timeout.ms=5000',
        'auto.create.topics.enable=true',
        'log.retention.hours=-1',
        '',
      ].join('\n'),
    )
    const uuid = execFileSync('java', ['-cp', cp, 'kafka.tools.StorageTool', 'random-uuid'], {
      stdio: ['ignore', 'pipe', 'ignore'],
    })
      .toString()
      .trim()
    execFileSync('java', ['-cp', cp, 'kafka.tools.StorageTool', 'format', '-t', uuid, '-c', props], {
      stdio: 'ignore',
    })
    const java = ['-Xms128m', '-Xmx512m', '-cp', cp, 'kafka.Kafka', props]
    const k = new ThrowawayKafka(port, dir, 'java', java)
    await k.start()
    return k
  }

  /** The broker answers a metadata request. */
  protected override async ready(): Promise<void> {
    const deadline = Date.now() + 90_000
    for (;;) {
      try {
        execFileSync(
          'java',
          ['-cp', cp, 'org.apache.kafka.tools.TopicCommand', '--bootstrap-server', this.brokers, '--list'],
          { stdio: 'ignore', timeout: 30_000 },
        )
        return
      } catch {
        if (Date.now() > deadline) throw new Error(`throwaway kafka on ${this.brokers} not ready in 90 s`)
        await sleep(500)
      }
    }
  }
}
