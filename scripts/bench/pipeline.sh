#!/usr/bin/env bash
# Measures the wall time and peak memory of `marquee pipeline run` on
# MovieLens ml-latest-small, with the embedded store, on this machine.
# Usage: scripts/bench/pipeline.sh [DATASET_DIR] [RUNS]
set -euo pipefail
cd "$(dirname -- "${BASH_SOURCE[0]}")/../.."

dataset=${1:-../shared/data/ml-latest-small}
runs=${2:-3}
if [ ! -f "$dataset/ratings.csv" ]; then
    echo "bench: no ratings.csv in $dataset; pass the MovieLens directory as the first argument" >&2
    exit 2
fi

if [ ! -x /usr/bin/time ]; then
    echo "bench: /usr/bin/time is missing; install it with: apt-get install time" >&2
    exit 2
fi
go build -o bin/marquee ./cmd/marquee
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(go version | cut -d' ' -f3-)"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
bin/marquee --workdir "$work" --log-level warn data import movielens "$dataset" >/dev/null

for i in $(seq "$runs"); do
    /usr/bin/time -f "run $i: wall %e s, peak RSS %M KiB, user %U s, sys %S s" \
        bin/marquee --workdir "$work" --log-level warn pipeline run --output json >"$work/run-$i.json"
    python3 - "$work/run-$i.json" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
print("  stages: " + ", ".join(f"{s} {m['stages'][s]['seconds']:.2f} s" for s in ["export", "split", "train", "evaluate", "publish"]))
PY
done
