#!/usr/bin/env bash
# The whole `llave demo` job, an earlier commit's code and this checkout's, one after the other on this machine.
#
#   bash benchmarks/demo_job.sh [OLD_COMMIT] [STEPS] [SEEDS]     (defaults: 85aec1a, the code before llave.inputs; 200; 1)
#
# Each side runs `llave demo --seeds SEEDS --steps STEPS` into a fresh folder with the default workers (one per core);
# prints each side's wall clock, its training pairs per second per worker (medians of metrics.jsonl) and the ratio.
# At 200 steps a run draws most items once, so the input cache pays its filling without the reuse a 2,000-step run
# gets (each item drawn about five times): the ratio here is a lower bound for the default demo's.
set -euo pipefail
old=${1:-85aec1a}; steps=${2:-200}; seeds=${3:-1}
repo=$(cd "$(dirname "$0")/.." && pwd); work=$(mktemp -d)
git -C "$repo" worktree add --detach "$work/old" "$old" >/dev/null
trap 'git -C "$repo" worktree remove --force "$work/old"; rm -rf "$work"' EXIT
side() {  # side NAME PYTHONPATH
    local start=$(date +%s.%N)
    PYTHONPATH=$2 python -c "import sys; from llave.cli import main; sys.exit(main())" demo --out "$work/$1" \
        --seeds "$seeds" --steps "$steps" > "$work/$1.log" 2>&1
    python - "$1" "$work/$1" "$start" <<'PY'
import json, pathlib, statistics, sys, time
name, out, start = sys.argv[1], pathlib.Path(sys.argv[2]), float(sys.argv[3])
rates = [json.loads(line)["pairs_per_second"] for f in out.glob("seed*/*/metrics.jsonl") for line in open(f)]
print(json.dumps({"side": name, "seconds": round(time.time() - start, 1), "pairs_per_second_per_worker": round(statistics.median(rates), 1)}))
PY
}
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
side old "$work/old" | tee "$work/old.json"
side new "$repo" | tee "$work/new.json"
python -c "import json,sys; a,b=(json.load(open(f)) for f in sys.argv[1:]); print(f'job speed-up: {a[\"seconds\"] / b[\"seconds\"]:.2f}x')" "$work/old.json" "$work/new.json"
