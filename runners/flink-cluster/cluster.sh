#!/usr/bin/env bash
# A Flink 1.19 standalone session cluster on this machine, from the Maven jars this module copies
# to target/lib (no Flink distribution can be downloaded here): one JobManager (REST API and web UI
# on FLINK_REST_PORT, default 8081) and FLINK_TASKMANAGERS TaskManagers (default 1) with FLINK_SLOTS
# slots each (default 4), all on localhost. Memory and JVM flags are computed by Flink's own
# BashJavaUtils, as its scripts do. Every JVM reports its metrics for Prometheus to scrape:
# the JobManager on FLINK_METRICS_PORT (default 9249), TaskManager n on FLINK_METRICS_PORT + n.
# A failed job restarts by itself (exponential-delay restart strategy, see the README).
#
#   runners/flink-cluster/cluster.sh start|stop|status|metrics|add-taskmanager
#
# add-taskmanager starts one more TaskManager (e.g. to replace one that died); metrics lists the
# Prometheus endpoints of the running JVMs.
# Environment: FLINK_REST_PORT (8081), FLINK_RPC_PORT (6123), FLINK_METRICS_PORT (9249),
# FLINK_TASKMANAGERS (1), FLINK_SLOTS (4), FLINK_TM_MEMORY (3072m),
# FLINK_CLUSTER_DIR (target/cluster: configuration, logs, pid files).
# Build the jars first: mvn -B -DskipTests -pl runners/flink-cluster -am package
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
lib="$here/target/lib"
dir="${FLINK_CLUSTER_DIR:-$here/target/cluster}"
port="${FLINK_REST_PORT:-8081}"
rpc_port="${FLINK_RPC_PORT:-6123}"
metrics_port="${FLINK_METRICS_PORT:-9249}"
taskmanagers="${FLINK_TASKMANAGERS:-1}"
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

# The TaskManagers started so far (taskmanager-1, taskmanager-2, ...), running or not.
taskmanager_roles() {
  local f
  for f in "$dir"/taskmanager-*.pid; do
    [ -e "$f" ] && basename "$f" .pid
  done | sort -t- -k2 -n
}

start_taskmanager() { # N: starts TaskManager N, its metrics on FLINK_METRICS_PORT + N
  local n="$1" tm_params tm_jvm tm_dynamic
  tm_params="$(utils GET_TM_RESOURCE_PARAMS)"
  tm_jvm="$(echo "$tm_params" | sed -n 1p)"
  tm_dynamic="$(echo "$tm_params" | sed -n 2p)"
  # shellcheck disable=SC2086 # the JVM flags and dynamic properties are lists of words
  nohup java $tm_jvm $opens -cp "$lib/*" -Dlog.file="$dir/log/taskmanager-$n.log" \
    org.apache.flink.runtime.taskexecutor.TaskManagerRunner --configDir "$dir/conf" $tm_dynamic \
    -D "metrics.reporter.prom.port=$((metrics_port + n))" \
    > "$dir/log/taskmanager-$n.out" 2>&1 &
  echo $! > "$dir/taskmanager-$n.pid"
  echo "taskmanager-$n http://localhost:$((metrics_port + n))/metrics" >> "$dir/metrics"
}

registered() { # N: TaskManager N has registered with the JobManager's resource manager
  grep -q "Successful registration at resource manager" "$dir/log/taskmanager-$1.out" 2>/dev/null
}

start() {
  if [ ! -d "$lib" ] || [ -z "$opens" ]; then
    say "the cluster jars are not built ($lib, target/cluster-conf): mvn -B -DskipTests -pl runners/flink-cluster -am package" >&2
    exit 2
  fi
  if running jobmanager; then
    say "already running (./cluster.sh stop first)" >&2
    exit 2
  fi
  rm -f "$dir"/taskmanager-*.pid "$dir/metrics"
  mkdir -p "$dir/conf" "$dir/log"
  cat > "$dir/conf/flink-conf.yaml" <<CONF
jobmanager.rpc.address: localhost
jobmanager.rpc.port: $rpc_port
jobmanager.bind-host: localhost
rest.address: localhost
rest.bind-address: localhost
rest.port: $port
# The web UI (flink-runtime-web is in lib) shows and cancels jobs; jobs are submitted with the
# client (./sessionize submit), not by uploading jars through the page.
web.submit.enable: false
taskmanager.host: localhost
taskmanager.bind-host: localhost
taskmanager.numberOfTaskSlots: $slots
jobmanager.memory.process.size: 1024m
taskmanager.memory.process.size: $tm_memory
parallelism.default: 1
env.java.opts.all: $opens
# Prometheus: every JVM serves its metrics on http://localhost:PORT/metrics (the port of each JVM
# is given on its command line; cluster.sh metrics lists them).
metrics.reporter.prom.factory.class: org.apache.flink.metrics.prometheus.PrometheusReporterFactory
metrics.reporter.prom.port: $metrics_port
# A failed job restarts by itself from its last checkpoint, waiting 1 s, 2 s, 4 s, ... up to 2 min
# between attempts (with 10 % jitter) and never giving up; after 10 min without a failure the wait
# starts again at 1 s. The production preset sets the same for the job (FlinkProduction).
restart-strategy.type: exponential-delay
restart-strategy.exponential-delay.initial-backoff: 1 s
restart-strategy.exponential-delay.max-backoff: 2 min
restart-strategy.exponential-delay.backoff-multiplier: 2.0
restart-strategy.exponential-delay.reset-backoff-threshold: 10 min
restart-strategy.exponential-delay.jitter-factor: 0.1
CONF
  local jm_jvm n
  jm_jvm="$(utils GET_JM_RESOURCE_PARAMS | head -1)"
  # shellcheck disable=SC2086 # the JVM flags are a list of words
  nohup java $jm_jvm $opens -cp "$lib/*" -Dlog.file="$dir/log/jobmanager.log" \
    org.apache.flink.runtime.entrypoint.StandaloneSessionClusterEntrypoint --configDir "$dir/conf" \
    -D "metrics.reporter.prom.port=$metrics_port" \
    > "$dir/log/jobmanager.out" 2>&1 &
  echo $! > "$dir/jobmanager.pid"
  echo "jobmanager http://localhost:$metrics_port/metrics" > "$dir/metrics"
  for n in $(seq 1 "$taskmanagers"); do
    start_taskmanager "$n"
  done
  for _ in $(seq 1 90); do
    if curl -fs "http://localhost:$port/overview" 2>/dev/null | grep -q "\"taskmanagers\":$taskmanagers,"; then
      say "running: web UI and REST API at http://localhost:$port/, $taskmanagers TaskManager(s)" \
        "with $slots slots each, Prometheus metrics at http://localhost:$metrics_port/metrics" \
        "(JobManager) and ports $((metrics_port + 1))-$((metrics_port + taskmanagers)) (TaskManagers)" \
        "(logs in $dir/log); submit with --flinkMaster=localhost:$port"
      return 0
    fi
    if ! running jobmanager; then
      break
    fi
    for n in $(seq 1 "$taskmanagers"); do
      running "taskmanager-$n" || break 2
    done
    sleep 1
  done
  say "did not come up; the logs say:" >&2
  tail -n 20 "$dir/log/jobmanager.out" "$dir"/log/taskmanager-*.out >&2 || true
  stop
  exit 1
}

add_taskmanager() {
  if ! running jobmanager; then
    say "no cluster is running (cluster.sh start first)" >&2
    exit 2
  fi
  local last n
  last="$(taskmanager_roles | tail -1)"
  n=$(( ${last#taskmanager-} + 1 ))
  start_taskmanager "$n"
  for _ in $(seq 1 90); do
    if registered "$n"; then
      say "taskmanager-$n running with $slots slots (pid $(cat "$dir/taskmanager-$n.pid")," \
        "metrics at http://localhost:$((metrics_port + n))/metrics)"
      return 0
    fi
    running "taskmanager-$n" || break
    sleep 1
  done
  say "taskmanager-$n did not register; its log says:" >&2
  tail -n 20 "$dir/log/taskmanager-$n.out" >&2 || true
  exit 1
}

stop() {
  local role pid
  for role in $(taskmanager_roles) jobmanager; do
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

metrics() { # the Prometheus endpoints of the JVMs that are running
  local role url
  [ -f "$dir/metrics" ] || { say "no cluster was started in $dir" >&2; exit 1; }
  while read -r role url; do
    if running "$role"; then echo "$role $url"; fi
  done < "$dir/metrics"
}

case "${1:-}" in
  java-opts) echo "$opens" ;;  # the JVM flags a client submitting to this cluster needs too
  start) start ;;
  stop) stop ;;
  status) status ;;
  metrics) metrics ;;
  add-taskmanager) add_taskmanager ;;
  *) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
