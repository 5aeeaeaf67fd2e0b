#!/usr/bin/env bash
# A Flink 1.19 standalone session cluster on this machine, from the Maven jars this module copies
# to target/lib (no Flink distribution can be downloaded here): one JobManager (REST on
# FLINK_REST_PORT, default 8081) and one TaskManager with FLINK_SLOTS slots (default 4), both on
# localhost. Memory and JVM flags are computed by Flink's own BashJavaUtils, as its scripts do.
#
#   runners/flink-cluster/cluster.sh start|stop|status
#
# Environment: FLINK_REST_PORT (8081), FLINK_RPC_PORT (6123), FLINK_SLOTS (4), FLINK_TM_MEMORY (3072m),
# FLINK_CLUSTER_DIR (target/cluster: configuration, logs, pid files).
# Build the jars first: mvn -B -DskipTests -pl runners/flink-cluster -am package
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
lib="$here/target/lib"
dir="${FLINK_CLUSTER_DIR:-$here/target/cluster}"
port="${FLINK_REST_PORT:-8081}"
rpc_port="${FLINK_RPC_PORT:-6123}"
slots="${FLINK_SLOTS:-4}"
tm_memory="${FLINK_TM_MEMORY:-3072m}"
# Java 17: Flink's Kryo serializers reach into these packages (Flink's distribution opens them too).
# The list is the parent pom's sessionize.jvm.opens, written here when the module is built.
opens="$(cat "$here/target/cluster-conf/jvm-opens" 2>/dev/null || true)"

say() { echo "cluster.sh: $*"; }

utils() { # BashJavaUtils COMMAND -> the lines it marks as results
  java -cp "$lib/*" org.apache.flink.runtime.util.bash.BashJavaUtils "$1" --configDir "$dir/conf" 2>/dev/null \
    | sed -n 's/^BASH_JAVA_UTILS_EXEC_RESULT://p'
}

running() { [ -f "$dir/$1.pid" ] && kill -0 "$(cat "$dir/$1.pid")" 2>/dev/null; }

start() {
  if [ ! -d "$lib" ] || [ -z "$opens" ]; then
    say "the cluster jars are not built ($lib, target/cluster-conf): mvn -B -DskipTests -pl runners/flink-cluster -am package" >&2
    exit 2
  fi
  if running jobmanager || running taskmanager; then
    say "already running (./cluster.sh stop first)" >&2
    exit 2
  fi
  mkdir -p "$dir/conf" "$dir/log"
  cat > "$dir/conf/flink-conf.yaml" <<CONF
jobmanager.rpc.address: localhost
jobmanager.rpc.port: $rpc_port
jobmanager.bind-host: localhost
rest.address: localhost
rest.bind-address: localhost
rest.port: $port
taskmanager.host: localhost
taskmanager.bind-host: localhost
taskmanager.numberOfTaskSlots: $slots
jobmanager.memory.process.size: 1024m
taskmanager.memory.process.size: $tm_memory
parallelism.default: 1
env.java.opts.all: $opens
CONF
  local jm_jvm tm_params tm_jvm tm_dynamic
  jm_jvm="$(utils GET_JM_RESOURCE_PARAMS | head -1)"
  tm_params="$(utils GET_TM_RESOURCE_PARAMS)"
  tm_jvm="$(echo "$tm_params" | sed -n 1p)"
  tm_dynamic="$(echo "$tm_params" | sed -n 2p)"
  # shellcheck disable=SC2086 # the JVM flags and dynamic properties are lists of words
  nohup java $jm_jvm $opens -cp "$lib/*" -Dlog.file="$dir/log/jobmanager.log" \
    org.apache.flink.runtime.entrypoint.StandaloneSessionClusterEntrypoint --configDir "$dir/conf" \
    > "$dir/log/jobmanager.out" 2>&1 &
  echo $! > "$dir/jobmanager.pid"
  # shellcheck disable=SC2086
  nohup java $tm_jvm $opens -cp "$lib/*" -Dlog.file="$dir/log/taskmanager.log" \
    org.apache.flink.runtime.taskexecutor.TaskManagerRunner --configDir "$dir/conf" $tm_dynamic \
    > "$dir/log/taskmanager.out" 2>&1 &
  echo $! > "$dir/taskmanager.pid"
  for _ in $(seq 1 90); do
    if curl -fs "http://localhost:$port/overview" 2>/dev/null | grep -q '"taskmanagers":1'; then
      say "running: REST and web API at http://localhost:$port, 1 TaskManager with $slots slots" \
        "(logs in $dir/log); submit with --flinkMaster=localhost:$port"
      return 0
    fi
    if ! running jobmanager || ! running taskmanager; then
      break
    fi
    sleep 1
  done
  say "did not come up; the logs say:" >&2
  tail -n 20 "$dir/log/jobmanager.out" "$dir/log/taskmanager.out" >&2 || true
  stop
  exit 1
}

stop() {
  local role pid
  for role in taskmanager jobmanager; do
    if running "$role"; then
      pid="$(cat "$dir/$role.pid")"
      kill "$pid"
      for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
      kill -9 "$pid" 2>/dev/null || true
      say "stopped the $role ($pid)"
    fi
    rm -f "$dir/$role.pid"
  done
}

status() {
  if curl -fs "http://localhost:$port/overview"; then
    echo
  else
    say "no cluster answers at http://localhost:$port"
    exit 1
  fi
}

case "${1:-}" in
  java-opts) echo "$opens" ;;  # the JVM flags a client submitting to this cluster needs too
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
