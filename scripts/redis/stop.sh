#!/usr/bin/env bash
# Stops the redis-server that start.sh started: SIGTERM, then SIGKILL if it is still
# running after MARQUEE_REDIS_STOP_TIMEOUT seconds. Removes the PID file.
# Exits 0 also when no server is running.
set -euo pipefail

# shellcheck source=common.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/common.sh"

log() {
    echo "redis: $*" >&2
}

# Waits up to $2 seconds for process $1 to exit. Returns 1 if it is still running.
wait_for_exit() {
    local pid=$1 timeout=$2 started=$SECONDS
    while kill -0 "$pid" 2>/dev/null; do
        ((SECONDS - started < timeout)) || return 1
        sleep 0.2
    done
}

main() {
    local pid
    if ! pid=$(redis_running_pid); then
        log "not running (no live redis-server process in $REDIS_PID_FILE)"
        rm -f "$REDIS_PID_FILE"
        exit 0
    fi

    log "stopping PID $pid"
    kill -TERM "$pid" 2>/dev/null || true
    if ! wait_for_exit "$pid" "$REDIS_STOP_TIMEOUT"; then
        log "PID $pid still running $REDIS_STOP_TIMEOUT s after SIGTERM; sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
        if ! wait_for_exit "$pid" 10; then
            log "PID $pid still running 10 s after SIGKILL"
            exit 1
        fi
    fi
    rm -f "$REDIS_PID_FILE"
    log "stopped"
}

main "$@"
