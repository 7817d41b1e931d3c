#!/usr/bin/env bash
# Exits 0 if the redis-server that start.sh started is running and replies PONG,
# and 1 otherwise. Prints one line about its state.
set -euo pipefail

# shellcheck source=common.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/common.sh"

if ! pid=$(redis_running_pid); then
    echo "redis: not running"
    exit 1
fi
if ! redis_ping; then
    echo "redis: PID $pid is running but does not reply to PING on $REDIS_HOST:$REDIS_PORT"
    exit 1
fi
echo "redis: running: PID $pid on $REDIS_HOST:$REDIS_PORT, files in $REDIS_RUN_DIR"
