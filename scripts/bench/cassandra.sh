#!/usr/bin/env bash
# Measures rows/s on this machine and a running Cassandra node. First,
# `marquee data generate` writes about one million synthetic events into
# Cassandra. Then `marquee pipeline export` reads them back to Parquet, once
# for the whole log (by token ranges) and once for a bounded window (by day
# and bucket). In the same run, `cqlsh COPY TO` writes the same table,
# events_by_day, as CSV.
#
# Usage: scripts/bench/cassandra.sh [USERS] [RUNS]
#   USERS  synthetic users; 5100 give about 1,000,000 events (default)
#   RUNS   times each export and each COPY TO is measured (default 3)
# Environment: MARQUEE_BENCH_CASSANDRA, host:port of the node (default
# 127.0.0.1:9042). The benchmark writes to a keyspace of its own and drops
# it on exit. cqlsh is installed from PyPI into scripts/bench/.venv.
set -euo pipefail
cd "$(dirname -- "${BASH_SOURCE[0]}")/../.."

users=${1:-5100}
runs=${2:-3}
addr=${MARQUEE_BENCH_CASSANDRA:-127.0.0.1:9042}
host=${addr%:*}
port=${addr##*:}
cqlsh_version=6.2.2
keyspace=mq_bench_$(date +%s)
store="cassandra://$addr/$keyspace?consistency=ONE&timeout=30s"

venv=scripts/bench/.venv
if [ ! -x "$venv/bin/cqlsh" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet "cqlsh==$cqlsh_version"
fi
# cqlsh warns on every call that it was built against an older server.
cqlsh() { "$venv/bin/cqlsh" "$host" "$port" --request-timeout=120 "$@" 2>&1 | { grep -v 'cqlsh was built against' || true; }; }

go build -o bin/marquee ./cmd/marquee
work=$(mktemp -d)
cleanup() {
    cqlsh -e "DROP KEYSPACE IF EXISTS $keyspace" || echo "bench: could not drop keyspace $keyspace" >&2
    rm -rf "$work"
}
trap cleanup EXIT
marquee() { bin/marquee --store "$store" --workdir "$work" "$@"; }
now() { date +%s.%N; }

pid=$(pgrep -f org.apache.cassandra.service.CassandraDaemon | head -1 || true)
heap=$( (tr '\0' '\n' <"/proc/$pid/cmdline" | grep -E '^-Xm[sx]' | tr '\n' ' ') 2>/dev/null || echo "unknown")
echo "machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(go version | cut -d' ' -f3)"
echo "cassandra: $(cqlsh -e 'SELECT release_version FROM system.local' | grep -Eo '[0-9]+\.[0-9]+\.[0-9]+') at $addr, heap $heap"
echo "cqlsh: $("$venv/bin/cqlsh" --version 2>&1)"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo

# Import. The debug log has a line after each batch of 5,000 ratings or
# watch events. The time between two lines is the time of the batch that
# the second line counts.
marquee --log-level warn db migrate >/dev/null
start=$(now)
marquee --log-level debug data generate --users "$users" --seed 1 >"$work/generate.out" 2>"$work/generate.log"
end=$(now)
cat "$work/generate.out"
python3 - "$work/generate.log" "$start" "$end" <<'PY'
import re, sys
from datetime import datetime
path, start, end = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
secs = {"ratings": 0.0, "watches": 0.0}
rows = {"ratings": 0, "watches": 0}
prev = None
for line in open(path):
    if 'msg="synth batch written"' not in line or "stage=events" not in line:
        continue
    t = datetime.fromisoformat(re.search(r"time=(\S+)", line).group(1).replace("Z", "+00:00")).timestamp()
    counts = {k: int(re.search(k + r"=(\d+)", line).group(1)) for k in rows}
    if prev is not None:
        for k in rows:
            if counts[k] > prev[1][k]:
                secs[k] += t - prev[0]
                rows[k] += counts[k] - prev[1][k]
    prev = (t, counts)
total = sum(prev[1].values())
print(f"import: {total} events in {end - start:.1f} s wall (titles and users included): {total / (end - start):,.0f} events/s")
for k in rows:
    if secs[k] > 0:
        print(f"  {k}: {rows[k]} rows in full batches in {secs[k]:.1f} s: {rows[k] / secs[k]:,.0f} rows/s")
PY
echo

# Export and COPY TO, alternating, RUNS times each.
span_from=2025-01-01 # before the first synthetic event; the log ends at 2026-01-01
for i in $(seq "$runs"); do
    for kind in full bounded; do
        args=()
        [ "$kind" = bounded ] && args=(--from "$span_from" --to 2026-01-01)
        rm -rf "$work/runs"
        start=$(now)
        marquee --log-level warn pipeline export --run "$kind" "${args[@]}" >/dev/null
        end=$(now)
        python3 - "$work/runs/$kind/manifest.json" "$kind" "$i" "$start" "$end" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))["stages"]["export"]["summary"]
kind, i, start, end = sys.argv[2], sys.argv[3], float(sys.argv[4]), float(sys.argv[5])
print(f"run {i}: marquee pipeline export ({kind}): {m['events']} rows, {m['partitions']} partitions, "
      f"{m['files']} files in {end - start:.1f} s: {m['events'] / (end - start):,.0f} rows/s")
PY
    done
    for opts in "" " WITH NUMPROCESSES=2 AND PAGESIZE=5000"; do
        rm -f "$work/events.csv"
        start=$(now)
        cqlsh -e "COPY $keyspace.events_by_day TO '$work/events.csv'$opts" >"$work/copy.out"
        end=$(now)
        n=$(wc -l <"$work/events.csv")
        python3 -c "import sys; n, s, e = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]); print(f'run $i: cqlsh COPY TO${opts:- (defaults)}: {n} rows in {e - s:.1f} s: {n / (e - s):,.0f} rows/s')" "$n" "$start" "$end"
    done
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
