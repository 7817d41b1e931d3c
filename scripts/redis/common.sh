# shellcheck shell=bash disable=SC2034 # variables are read by the scripts that source this file
# Settings and helpers shared by start.sh, stop.sh and status.sh. Source it, do not run it.
# Every setting can be overridden through the environment variable that it reads.

REDIS_HOST=127.0.0.1
REDIS_PORT=${MARQUEE_REDIS_PORT:-6379}

# Working directory, log and PID file of the running server.
REDIS_RUN_DIR=${MARQUEE_REDIS_DIR:-${TMPDIR:-/tmp}/marquee-redis}
REDIS_PID_FILE=$REDIS_RUN_DIR/redis.pid
REDIS_LOG_FILE=$REDIS_RUN_DIR/redis.log

# Seconds that start.sh waits for PONG, and that stop.sh waits after SIGTERM before
# it sends SIGKILL.
REDIS_START_TIMEOUT=${MARQUEE_REDIS_START_TIMEOUT:-30}
REDIS_STOP_TIMEOUT=${MARQUEE_REDIS_STOP_TIMEOUT:-10}

# Prints the PID from the PID file if that process is alive and is a redis-server.
# Returns 1 otherwise, including when the PID was reused by another program.
redis_running_pid() {
    local pid
    [[ -f $REDIS_PID_FILE ]] || return 1
    pid=$(<"$REDIS_PID_FILE")
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    [[ -r /proc/$pid/cmdline ]] || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q 'redis-server' || return 1
    echo "$pid"
}

# Returns 0 if the server on $REDIS_HOST:$REDIS_PORT replies PONG to PING.
redis_ping() {
    [[ $(redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" ping 2>/dev/null) == PONG ]]
}
