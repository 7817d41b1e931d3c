#!/usr/bin/env bash
# Measures the serving path on loopback, in one run, on this machine:
#   1. req/s of GET /v1/users/{id}/recommendations with wrk, (a) with the
#      in-process cache and (b) with every request reading Redis
#      (serve --no-cache), over random users of the synthetic data;
#   2. req/s of a plain net/http handler that returns a JSON body of the same
#      size, encoding it per request and writing fixed bytes (plainjson);
#   3. redis-benchmark -t get on the same Redis;
#   4. latency percentiles of (a), (b) and the plain handler writing fixed
#      bytes at half their measured rate, and of (a) at fixed rates from
#      1,000 to 10,000 req/s, under constant-rate load (loadgen, latency
#      from the scheduled time).
# It publishes a run of synthetic data (2,000 users, 3,000 titles) to Redis
# under a key prefix of its own and deletes those keys at the end. Every
# request names a user of the run, so it reads the user's own list.
#
# Usage: scripts/bench/serving.sh [REDIS_HOST:PORT] [SECONDS]
# Needs wrk (apt-get install wrk), redis-benchmark and redis-cli
# (redis-tools), curl and Go.
set -euo pipefail
cd "$(dirname -- "${BASH_SOURCE[0]}")/../.."

redis=${1:-127.0.0.1:6379}
seconds=${2:-10}
redis_host=${redis%:*}
redis_port=${redis#*:}
prefix=mqbench-$$

for tool in wrk redis-benchmark redis-cli curl go; do
    if ! command -v "$tool" >/dev/null; then
        echo "bench: $tool is missing; see the usage at the top of $0" >&2
        exit 2
    fi
done
if [[ $(redis-cli -h "$redis_host" -p "$redis_port" ping 2>/dev/null) != PONG ]]; then
    echo "bench: no Redis replies to PING on $redis; start one with scripts/redis/start.sh" >&2
    exit 2
fi

work=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    redis-cli -h "$redis_host" -p "$redis_port" --scan --pattern "$prefix:*" |
        xargs -r -n 500 redis-cli -h "$redis_host" -p "$redis_port" unlink >/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

go build -o "$work/marquee" ./cmd/marquee
go build -o "$work/plainjson" ./scripts/bench/plainjson
go build -o "$work/loadgen" ./scripts/bench/loadgen

echo "## machine"
echo "cpu: $(nproc) cores, $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)"
echo "memory: $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)"
echo "go: $(go version | cut -d' ' -f3-)"
echo "redis: $(redis-cli -h "$redis_host" -p "$redis_port" info server | awk -F: '/redis_version/ {print $2}' | tr -d '\r')"
echo "wrk: $(wrk --version 2>&1 | head -1 | cut -d' ' -f1-2)"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo

cache="redis://$redis/0?prefix=$prefix"
marquee=("$work/marquee" --workdir "$work/data" --cache "$cache" --log-level warn)
"${marquee[@]}" data generate --seed 1 >/dev/null
"${marquee[@]}" pipeline run >/dev/null
export MARQUEE_JWT_SECRET
MARQUEE_JWT_SECRET=$(head -c 48 /dev/urandom | base64)

# start_server runs COMMAND in the background, its PID kept for cleanup,
# and waits until it accepts requests on PORT.
start_server() { # NAME PORT COMMAND...
    local name=$1 port=$2
    shift 2
    "$@" >"$work/$name.log" 2>&1 &
    pids+=($!)
    for _ in $(seq 100); do
        if curl -fs -o /dev/null "http://127.0.0.1:$port/$health" 2>/dev/null; then return; fi
        sleep 0.1
    done
    echo "bench: $name did not start on port $port:" >&2
    cat "$work/$name.log" >&2
    exit 1
}
health=healthz
start_server cached 18080 "${marquee[@]}" serve --addr 127.0.0.1:18080 --public-user-recommendations
start_server nocache 18081 "${marquee[@]}" serve --addr 127.0.0.1:18081 --no-cache --public-user-recommendations
curl -fsS "http://127.0.0.1:18080/v1/users/u00001/recommendations" >"$work/sample.json"
if ! grep -q '"source":"personal"' "$work/sample.json"; then
    echo "bench: user u00001 has no personal list; the benchmark would measure the fallback:" >&2
    cat "$work/sample.json" >&2
    exit 1
fi
health=
start_server plain-encode 18090 "$work/plainjson" -addr 127.0.0.1:18090 -body "$work/sample.json"
start_server plain-bytes 18091 "$work/plainjson" -addr 127.0.0.1:18091 -body "$work/sample.json" -encode=false
echo "body of a page of 10 titles: $(wc -c <"$work/sample.json") bytes"
echo

# Random users of the synthetic data, u00001 to u02000, each with a list.
cat >"$work/users.lua" <<'LUA'
math.randomseed(1)
request = function()
    return wrk.format("GET", string.format("/v1/users/u%05d/recommendations", math.random(1, 2000)))
end
LUA

reqs() { awk '/Requests\/sec/ {print int($2)}'; }
declare -A rate
echo "## wrk -t2 -c64 -d${seconds}s --latency, random users"
for target in cached:18080 nocache:18081 plain-encode:18090 plain-bytes:18091; do
    name=${target%:*}
    port=${target#*:}
    wrk -t2 -c64 -d"${seconds}s" --latency -s "$work/users.lua" "http://127.0.0.1:$port" >"$work/wrk-$name.txt"
    rate[$name]=$(reqs <"$work/wrk-$name.txt")
    p99=$(awk '/ 99%/ {print $2}' "$work/wrk-$name.txt")
    echo "$name: ${rate[$name]} req/s (wrk p99 $p99, not at constant rate)"
done
errors=$(grep -h "Non-2xx" "$work"/wrk-*.txt || true)
[[ -z $errors ]] || echo "non-2xx answers: $errors"
echo
echo "cached / plain-encode: $((100 * rate[cached] / rate[plain-encode]))%   (goal: at least 50%)"
echo "nocache / plain-encode: $((100 * rate[nocache] / rate[plain-encode]))%   (goal: at least 35%)"
echo "cached / plain-bytes: $((100 * rate[cached] / rate[plain-bytes]))%"
echo "nocache / plain-bytes: $((100 * rate[nocache] / rate[plain-bytes]))%"
echo

echo "## redis-benchmark -t get -n 1000000 -c 50 -q"
redis-benchmark -h "$redis_host" -p "$redis_port" -t get -n 1000000 -c 50 -q | tr '\r' '\n' | grep -v '^$' | tail -1
echo

echo "## constant rate at half the measured rate, 20 s after 2 s of warm-up, random users"
for target in cached:18080 nocache:18081 plain-bytes:18091; do
    name=${target%:*}
    port=${target#*:}
    half=$((rate[$name] / 2))
    echo "$name at $half req/s:"
    "$work/loadgen" -rate "$half" -duration 20s -url "http://127.0.0.1:$port/v1/users/u%05d/recommendations" -ids 1:2000 | sed 's/^/  /'
done
echo
echo "## constant rate, cached, at fixed rates: where p99 stays under 2 ms"
for r in 1000 2000 5000 10000; do
    echo "cached at $r req/s:"
    "$work/loadgen" -rate "$r" -duration 20s -url "http://127.0.0.1:18080/v1/users/u%05d/recommendations" -ids 1:2000 | sed 's/^/  /'
done
echo
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
