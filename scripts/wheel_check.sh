#!/usr/bin/env bash
# A wheel, installed (not editable) in a fresh virtual environment, runs `llave train tiny max_steps=2` and
# `llave demo --quick` from outside the checkout: the presets, the reference tables and the MMEB-mini generator
# must travel inside the package, and so must the committed demo results (data/demo). LLAVE_TORCH_INSTALL is how
# torch gets into the new environment (default: the same pins as the README; the GitHub workflow adds PyTorch's CPU
# index).
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python -m pip wheel --quiet --no-deps --no-build-isolation --wheel-dir "$work/dist" .
python -m venv "$work/venv"
# shellcheck disable=SC2086
"$work/venv/bin/pip" install --quiet ${LLAVE_TORCH_INSTALL:-torch==2.14.1 torchvision==0.29.1}
"$work/venv/bin/pip" install --quiet "$work"/dist/llave-*.whl
cd "$work"
export LLAVE_MINI="$work/mmeb-mini"
"$work/venv/bin/python" -c "import llave, pathlib; assert 'site-packages' in llave.__file__, llave.__file__"
"$work/venv/bin/python" - <<'PY'  # the committed demo results travel inside the wheel
from llave.mini.analysis import load_results
from llave.mini.demo import DEMO_RESULTS
from llave.mini.paper import front_page

assert "site-packages" in str(DEMO_RESULTS), DEMO_RESULTS
settings, results = load_results(DEMO_RESULTS)
assert len(results) == 3 and "Overall" in front_page(), DEMO_RESULTS
PY
"$work/venv/bin/llave" train tiny max_steps=2 output_dir="$work/runs/tiny" show_progress=false
test -d "$work/runs/tiny/checkpoint-2"
"$work/venv/bin/llave" demo --quick --out "$work/runs/demo"
test -s "$work/runs/demo/report.md"
echo "wheel check: a non-editable install finds the demo results, trains the tiny preset and runs the quick demo"
