#!/usr/bin/env bash
# Side-by-side benchmark of Marquee's models against the peer libraries
# implicit (ALS, BM25 and cosine item-kNN) and scikit-surprise (SVD), on the
# same split, with the same search budget, scored by Marquee's evaluator.
#
# Usage: scripts/bench/peers/run.sh [DATASET_DIR] [TRIALS] [SEED]
#
# DATASET_DIR is a MovieLens directory in the CSV layout (default
# ../shared/data/ml-latest-small). The script creates a Python virtual
# environment under scripts/bench/.venv with the pinned packages of
# requirements.txt and builds bin/marquee. It imports the dataset into a
# fresh workdir, exports and splits it, and tunes Marquee's models and then
# the peers on the validation split. It writes the table to
# scripts/bench/peers/out/results.md and Marquee's run report to
# scripts/bench/peers/out/report.html. It is not part of `make test`.
# MARQUEE names a marquee binary to use instead of building one, and PYTHON
# the interpreter that creates the environment (default python3.11).
set -euo pipefail
cd "$(dirname -- "${BASH_SOURCE[0]}")/../../.."

dataset=${1:-../shared/data/ml-latest-small}
trials=${2:-20}
seed=${3:-42}
python=${PYTHON:-python3.11}
out=scripts/bench/peers/out
venv=scripts/bench/.venv

if [ ! -f "$dataset/ratings.csv" ]; then
    echo "peers: no ratings.csv in $dataset; pass the MovieLens directory as the first argument" >&2
    exit 2
fi
if ! command -v "$python" >/dev/null; then
    echo "peers: $python not found; set PYTHON to a Python 3.11 interpreter" >&2
    exit 2
fi

echo "peers: setting up $venv" >&2
if [ ! -x "$venv/bin/python" ]; then
    "$python" -m venv "$venv"
fi
"$venv/bin/pip" install --quiet --disable-pip-version-check --only-binary=:all: -r scripts/bench/peers/requirements.txt

if [ -n "${MARQUEE:-}" ]; then
    marquee=$(realpath "$MARQUEE")
else
    echo "peers: building bin/marquee" >&2
    go build -o bin/marquee ./cmd/marquee
    marquee=$PWD/bin/marquee
fi

rm -rf "$out"
mkdir -p "$out"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
m() { "$marquee" --workdir "$work" --log-level warn "$@"; }

echo "peers: importing $dataset and splitting it" >&2
m data import movielens "$dataset" >/dev/null
m pipeline export >/dev/null
run=$(cat "$work/runs/LATEST")
m pipeline split >/dev/null

echo "peers: Marquee with default parameters" >&2
m pipeline train --seed "$seed" >/dev/null
m pipeline evaluate --output json >"$out/marquee-defaults.json"
"$venv/bin/python" -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1]))["popularity"]))' \
    "$out/marquee-defaults.json" >"$out/marquee-popularity.json"

echo "peers: tuning Marquee, $trials trials per model" >&2
start=$(date +%s)
m pipeline tune --trials "$trials" --seed "$seed" --output json >"$out/marquee-tune.json"
echo "peers: Marquee tuned in $(( $(date +%s) - start )) s" >&2
m pipeline report --out "$out/report.html" >/dev/null

echo "peers: tuning the peers, $trials trials per model" >&2
start=$(date +%s)
OPENBLAS_NUM_THREADS=1 "$venv/bin/python" scripts/bench/peers/peers.py --marquee "$marquee" --workdir "$work" \
    --run "$run" --trials "$trials" --seed "$seed" --out "$out"
echo "peers: peers tuned in $(( $(date +%s) - start )) s" >&2

"$venv/bin/python" - "$out/machine.json" "$dataset" "$trials" "$seed" <<'PY'
import json, os, platform, subprocess, sys, datetime
def run(*cmd):
    return subprocess.run(cmd, capture_output=True, text=True).stdout.strip()
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.processor())
mem = next(int(l.split()[1]) for l in open("/proc/meminfo") if l.startswith("MemTotal"))
json.dump({
    "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    "cpu": cpu, "nproc": os.cpu_count(), "memory": f"{mem / 1048576:.0f} GiB",
    "go": run("go", "version").replace("go version ", ""),
    "commit": run("git", "rev-parse", "--short", "HEAD") + (" with uncommitted changes" if run("git", "status", "--porcelain") else ""),
    "command": f"scripts/bench/peers/run.sh {sys.argv[2]} {sys.argv[3]} {sys.argv[4]}",
    "dataset": os.path.basename(os.path.normpath(sys.argv[2])),
    "split": "per user, the newest 20% of ratings (users with 5 or more) are test; relevant = rating >= 4",
}, open(sys.argv[1], "w"), indent=2)
PY
"$venv/bin/python" scripts/bench/peers/table.py "$out/marquee-tune.json" "$out/marquee-popularity.json" \
    "$out/peers.json" "$out/machine.json" | tee "$out/results.md"
