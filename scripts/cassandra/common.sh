# shellcheck shell=bash disable=SC2034 # variables are read by the scripts that source this file
# Settings and helpers shared by start.sh, stop.sh and status.sh. Source it, do not run it.
# Every setting can be overridden through the environment variable that it reads.

# Cassandra release assembled from Maven Central (artifact org.apache.cassandra:cassandra-all).
CASSANDRA_VERSION=${MARQUEE_CASSANDRA_VERSION:-5.0.9}

# Assembled jars, the Python client used for the readiness query and the Maven work files.
# The folder is kept between runs, so only the first start downloads anything.
CASSANDRA_HOME=${MARQUEE_CASSANDRA_HOME:-$HOME/.cache/marquee/cassandra-$CASSANDRA_VERSION}

# Configuration, data, logs and the PID file of the running node.
CASSANDRA_RUN_DIR=${MARQUEE_CASSANDRA_DIR:-${TMPDIR:-/tmp}/marquee-cassandra}
CASSANDRA_PID_FILE=$CASSANDRA_RUN_DIR/cassandra.pid
CASSANDRA_LOG_FILE=$CASSANDRA_RUN_DIR/logs/system.log
CASSANDRA_STDOUT_FILE=$CASSANDRA_RUN_DIR/logs/stdout.log

CASSANDRA_HOST=127.0.0.1
CASSANDRA_PORT=${MARQUEE_CASSANDRA_PORT:-9042}
CASSANDRA_STORAGE_PORT=${MARQUEE_CASSANDRA_STORAGE_PORT:-7000}

# Cassandra 5.0 supports Java 11 and 17. From JDK 24 on, its call to
# System.setSecurityManager fails, so a newer JDK on the machine must not be picked up.
CASSANDRA_JAVA_HOME=${MARQUEE_CASSANDRA_JAVA_HOME:-/usr/lib/jvm/java-17-openjdk-amd64}

# Seconds that start.sh waits for the node to accept CQL queries, and that stop.sh
# waits after SIGTERM before it sends SIGKILL.
CASSANDRA_START_TIMEOUT=${MARQUEE_CASSANDRA_START_TIMEOUT:-180}
CASSANDRA_STOP_TIMEOUT=${MARQUEE_CASSANDRA_STOP_TIMEOUT:-60}

CASSANDRA_SCRIPT_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
CASSANDRA_VENV=$CASSANDRA_HOME/venv

# Prints the PID from the PID file if that process is alive and is a Cassandra node.
# Returns 1 otherwise, including when the PID was reused by another program.
cassandra_running_pid() {
    local pid
    [[ -f $CASSANDRA_PID_FILE ]] || return 1
    pid=$(<"$CASSANDRA_PID_FILE")
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    [[ -r /proc/$pid/cmdline ]] || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q 'org.apache.cassandra.service.CassandraDaemon' || return 1
    echo "$pid"
}

# Returns 0 if something accepts TCP connections on the native port.
cassandra_port_open() {
    (exec 3<>"/dev/tcp/$CASSANDRA_HOST/$CASSANDRA_PORT") 2>/dev/null
}

# Runs `SELECT release_version FROM system.local` and prints the version.
# Uses the cassandra-driver Python package from $CASSANDRA_VENV when start.sh could
# install it. Without it, the check falls back to the log line that Cassandra writes
# when the native transport listens plus a TCP connect, and prints "(version not queried)".
cassandra_query() {
    if [[ -x $CASSANDRA_VENV/bin/python ]]; then
        "$CASSANDRA_VENV/bin/python" "$CASSANDRA_SCRIPT_DIR/cql_ping.py" "$CASSANDRA_HOST" "$CASSANDRA_PORT"
        return
    fi
    [[ -f $CASSANDRA_LOG_FILE ]] || return 1
    grep -q 'Starting listening for CQL clients' "$CASSANDRA_LOG_FILE" || return 1
    cassandra_port_open || return 1
    echo "(version not queried)"
}
