#!/usr/bin/env bash
# Exits 0 if the Cassandra node that start.sh started is running and accepts CQL
# queries, and 1 otherwise. Prints one line about its state.
set -euo pipefail

# shellcheck source=common.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/common.sh"

if ! pid=$(cassandra_running_pid); then
    echo "cassandra: not running"
    exit 1
fi
if ! version=$(cassandra_query 2>/dev/null); then
    echo "cassandra: PID $pid is running but does not accept CQL queries on $CASSANDRA_HOST:$CASSANDRA_PORT"
    exit 1
fi
echo "cassandra: running: Cassandra $version, PID $pid, CQL on $CASSANDRA_HOST:$CASSANDRA_PORT, files in $CASSANDRA_RUN_DIR"
