#!/usr/bin/env bash
# Apache Kafka 4.x, single KRaft node (broker+controller) on 127.0.0.1.
# Jars come from Maven Central through pom.xml beside this file (cached in ~/.m2).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
: "${KAFKA_PORT:=19092}"
: "${KAFKA_CONTROLLER_PORT:=19093}"
dir="$CS_SERVICES_DIR/kafka"
pidfile="$dir/kafka.pid"
libs="$CS_SERVICES_DIR/kafka-libs"

# Ready means a metadata request through Kafka's own admin tool succeeds, not just an open port.
metadata_ok() {
  timeout 40 java -cp "$libs/*" org.apache.kafka.tools.TopicCommand \
    --bootstrap-server "127.0.0.1:$KAFKA_PORT" --list >/dev/null 2>&1
}

fetch_jars() {
  if [ ! -f "$libs/.complete" ] || [ "$here/kafka/pom.xml" -nt "$libs/.complete" ]; then
    command -v mvn >/dev/null || die "Kafka needs Maven (mvn) to fetch the broker jars; install it (apt-get install maven)"
    log "kafka: resolving broker jars from Maven Central (cached in ~/.m2)"
    rm -rf "$libs"
    mvn -q -B -f "$here/kafka/pom.xml" dependency:copy-dependencies -DoutputDirectory="$libs" -DincludeScope=runtime >"$CS_SERVICES_DIR/mvn.log" \
      || die "kafka: mvn dependency:copy-dependencies failed"
    touch "$libs/.complete"
  fi
}

start() {
  if pid_alive "$pidfile"; then log "kafka already running (pid $(cat "$pidfile"))"; return 0; fi
  if tcp_open "$KAFKA_PORT"; then die "kafka: port $KAFKA_PORT is taken by another process; set KAFKA_PORT"; fi
  command -v java >/dev/null || die "Kafka needs Java 17+ (apt-get install openjdk-17-jre-headless)"
  fetch_jars
  rm -rf "$dir"; mkdir -p "$dir/data"
  cat > "$dir/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
log.dirs=$dir/data
num.partitions=3
offsets.topic.replication.factor=1
offsets.topic.num.partitions=6
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
group.consumer.heartbeat.interval.ms=1000
group.consumer.min.heartbeat.interval.ms=500
group.consumer.session.timeout.ms=10000
group.consumer.min.session.timeout.ms=5000
auto.create.topics.enable=true
log.retention.hours=-1
PROPS
  java -cp "$libs/*" kafka.tools.StorageTool format -t "$(java -cp "$libs/*" kafka.tools.StorageTool random-uuid)" \
    -c "$dir/server.properties" >"$dir/format.log" 2>&1 || { cat "$dir/format.log" >&2; die "kafka: storage format failed"; }
  nohup java -Xms256m -Xmx1g -cp "$libs/*" -Dorg.slf4j.simpleLogger.defaultLogLevel=warn \
    kafka.Kafka "$dir/server.properties" >"$dir/kafka.log" 2>&1 &
  echo $! >"$pidfile"
  if ! wait_for kafka 90 tcp_open "$KAFKA_PORT" || ! metadata_ok; then
    tail -n 30 "$dir/kafka.log" >&2
    die "kafka did not become ready on 127.0.0.1:$KAFKA_PORT within 90 s (log: $dir/kafka.log)"
  fi
  log "kafka ready on 127.0.0.1:$KAFKA_PORT (pid $(cat "$pidfile"))"
}

case "${1:-}" in
  start) start ;;
  stop) stop_pidfile kafka "$pidfile" ;;
  status) pid_alive "$pidfile" && tcp_open "$KAFKA_PORT" ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
