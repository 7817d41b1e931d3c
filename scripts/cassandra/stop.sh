#!/usr/bin/env bash
# Stops the Cassandra node that start.sh started: SIGTERM, then SIGKILL if it is still
# running after MARQUEE_CASSANDRA_STOP_TIMEOUT seconds. Removes the PID file.
# Exits 0 also when no node is running.
set -euo pipefail

# shellcheck source=common.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/common.sh"

log() {
    echo "cassandra: $*" >&2
}

# Waits up to $2 seconds for process $1 to exit. Returns 1 if it is still running.
wait_for_exit() {
    local pid=$1 timeout=$2 started=$SECONDS
    while kill -0 "$pid" 2>/dev/null; do
        ((SECONDS - started < timeout)) || return 1
        sleep 1
    done
}

main() {
    local pid
    if ! pid=$(cassandra_running_pid); then
        log "not running (no live Cassandra process in $CASSANDRA_PID_FILE)"
        rm -f "$CASSANDRA_PID_FILE"
        exit 0
    fi

    log "stopping PID $pid"
    kill -TERM "$pid" 2>/dev/null || true
    if ! wait_for_exit "$pid" "$CASSANDRA_STOP_TIMEOUT"; then
        log "PID $pid still running $CASSANDRA_STOP_TIMEOUT s after SIGTERM; sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
        if ! wait_for_exit "$pid" 10; then
            log "PID $pid still running 10 s after SIGKILL"
            exit 1
        fi
    fi
    rm -f "$CASSANDRA_PID_FILE"
    log "stopped"
}

main "$@"
