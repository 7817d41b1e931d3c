#!/usr/bin/env bash
# Starts a redis-server on 127.0.0.1 for tests and waits until it replies PONG.
# Installs Debian's redis-server and redis-tools packages first if they are missing.
# See common.sh for the settings and their environment variables.
#
# Exits 0 with the server running in the background, also when a server started by
# this script already replies. Exits 1 with the end of its log otherwise.
# The server keeps its data in memory only: it writes no RDB or AOF file.
set -euo pipefail

# shellcheck source=common.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/common.sh"

log() {
    echo "redis: $*" >&2
}

print_log_tail() {
    if [[ -s $REDIS_LOG_FILE ]]; then
        echo "----- last 50 lines of $REDIS_LOG_FILE -----" >&2
        tail -n 50 "$REDIS_LOG_FILE" >&2
    fi
}

# Installs redis-server and redis-tools with apt-get. The packages' maintainer scripts
# would start a system-wide server on port 6379, so a policy-rc.d that forbids service
# starts is put in place for the install unless the machine already has one.
install_redis() {
    local policy=/usr/sbin/policy-rc.d added_policy=0

    log "installing redis-server and redis-tools with apt-get"
    if [[ ! -e $policy ]]; then
        printf '#!/bin/sh\nexit 101\n' >"$policy"
        chmod +x "$policy"
        added_policy=1
    fi

    local status=0
    {
        DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
                redis-server redis-tools >/dev/null
    } || status=$?

    if ((added_policy)); then
        rm -f "$policy"
    fi
    if ((status != 0)); then
        log "apt-get failed with exit code $status"
        exit 1
    fi
}

main() {
    if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null; then
        install_redis
    fi
    mkdir -p "$REDIS_RUN_DIR"

    local pid
    if pid=$(redis_running_pid) && redis_ping; then
        log "already running: PID $pid on $REDIS_HOST:$REDIS_PORT"
        exit 0
    fi
    if redis_ping; then
        log "port $REDIS_PORT on $REDIS_HOST is in use by a server that this script did not start; stop it or set MARQUEE_REDIS_PORT"
        exit 1
    fi
    if pid=$(redis_running_pid); then
        log "PID $pid does not reply to PING on $REDIS_HOST:$REDIS_PORT; stop it with stop.sh first"
        exit 1
    fi
    rm -f "$REDIS_PID_FILE"

    # --save "" and --appendonly no turn persistence off. With --daemonize yes the
    # command returns once the server has forked, and the server writes its own PID file.
    if ! redis-server --bind "$REDIS_HOST" --port "$REDIS_PORT" \
        --daemonize yes --pidfile "$REDIS_PID_FILE" --logfile "$REDIS_LOG_FILE" \
        --dir "$REDIS_RUN_DIR" --save "" --appendonly no; then
        log "redis-server failed to start"
        print_log_tail
        exit 1
    fi

    local started=$SECONDS
    while ((SECONDS - started < REDIS_START_TIMEOUT)); do
        if pid=$(redis_running_pid) && redis_ping; then
            log "ready: PID $pid on $REDIS_HOST:$REDIS_PORT; log and PID file in $REDIS_RUN_DIR"
            exit 0
        fi
        sleep 0.2
    done

    log "timed out after $REDIS_START_TIMEOUT s waiting for PONG on $REDIS_HOST:$REDIS_PORT"
    print_log_tail
    exit 1
}

main "$@"
