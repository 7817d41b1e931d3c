#!/usr/bin/env bash
# Measures requests per second and latency percentiles of the REST API on
# loopback with wrk: login (argon2id with the default parameters), rating
# writes and the home rows, on the embedded store with the synthetic data
# of `make demo`. Usage: scripts/bench/api.sh [SECONDS] [CONNECTIONS]
set -euo pipefail
cd "$(dirname -- "${BASH_SOURCE[0]}")/../.."

duration=${1:-20}
conns=${2:-16}
addr=127.0.0.1:18180
base=http://$addr
if ! command -v wrk >/dev/null || ! command -v jq >/dev/null; then
    echo "bench: wrk and jq are needed: apt-get install wrk jq" >&2
    exit 2
fi

work=$(mktemp -d)
server=
cleanup() {
    if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT
go build -o "$work/marquee" ./cmd/marquee

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(go version | cut -d' ' -f3-)"
"$work/marquee" --workdir "$work" --log-level warn data generate --seed 1 >/dev/null
"$work/marquee" --workdir "$work" --log-level warn pipeline run >/dev/null

# The limits are raised so that the benchmark measures the work, not the
# limiter; the argon2id parameters stay at their defaults.
MARQUEE_JWT_SECRET=$(head -c 48 /dev/urandom | base64) "$work/marquee" --workdir "$work" --log-level warn serve --addr "$addr" \
    --limit-per-address 1000000000/1ns --limit-per-account 1000000000/1ns &
server=$!
for _ in $(seq 50); do curl -sf "$base/healthz" >/dev/null && break; sleep 0.2; done

password="correct horse battery"
tokens=()
for i in $(seq 16); do
    email="bench$i@example.com"
    curl -sf -X POST "$base/v1/auth/register" -H 'Content-Type: application/json' \
        -d "{\"email\": \"$email\", \"password\": \"$password\", \"name\": \"Bench $i\"}" >/dev/null
    token=$(curl -sf -X POST "$base/v1/auth/login" -H 'Content-Type: application/json' \
        -d "{\"email\": \"$email\", \"password\": \"$password\"}" | jq -r .access_token)
    # A few ratings and a viewing, so that home filters titles and has a
    # "because you watched" row.
    for id in t00001 t00002 t00003; do
        curl -sf -X PUT "$base/v1/me/ratings/$id" -H "Authorization: Bearer $token" \
            -H 'Content-Type: application/json' -d '{"rating": 4}' >/dev/null
    done
    curl -sf -X POST "$base/v1/me/watch-events" -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
        -d "{\"event_id\": \"bench-$i-0001\", \"content_id\": \"t00010\", \"kind\": \"complete\", \"position_sec\": 60}" >/dev/null
    tokens+=("$token")
done
export BENCH_EMAIL=bench1@example.com BENCH_PASSWORD="$password"
BENCH_TOKENS=$(IFS=,; echo "${tokens[*]}")
export BENCH_TOKENS

run() {
    local name=$1 script=$2 c=$3
    echo "== $name: wrk -t2 -c$c -d${duration}s --latency -s scripts/bench/api/$script (load average before: $(cut -d' ' -f1-3 /proc/loadavg))"
    wrk -t2 -c"$c" -d"${duration}s" --latency -s "scripts/bench/api/$script" "$base" \
        | grep -E 'Requests/sec|Latency  |50%|90%|99%|Non-2xx|Socket errors|requests in'
}
run login login.lua 4
run "rating writes" rate.lua "$conns"
run home home.lua "$conns"
