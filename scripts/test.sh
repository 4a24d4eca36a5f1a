#!/usr/bin/env bash
# The project's test command (README, second command; .ci/run and the GitHub workflow run it).
# 1. llave/ must be what nbdev_export makes of nbs/; 2. notebooks must be clean (nbdev_clean);
# 3. every notebook runs as a test (as nbdev_test: cells flagged notest/slow/gpu are skipped) and its committed outputs
# must match the fresh run (numbers masked; scripts/run_notebook.py --check); 4. pytest tests/ (with the
# release-shape tier, tests/test_release_shapes.py); 5. a wheel installed in a fresh venv trains and runs the quick demo.
set -euo pipefail
cd "$(dirname "$0")/.."
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TRANSFORMERS_OFFLINE=1 MPLBACKEND=Agg TOKENIZERS_PARALLELISM=false

echo "== 1/5 nbdev_export: is llave/ in sync with nbs/?"
nbdev_export
if ! git diff --exit-code --stat -- llave/ || [ -n "$(git status --porcelain --untracked-files=all -- llave/)" ]; then
    git status --short -- llave/
    echo "FAILED: llave/ differs from the notebooks; run nbdev_export and commit llave/" >&2
    exit 1
fi

echo "== 2/5 nbdev_clean: are the notebooks clean?"
nbdev_clean
if ! git diff --exit-code --stat -- nbs/; then
    echo "FAILED: notebooks are not clean; run nbdev_clean and commit nbs/" >&2
    exit 1
fi

echo "== lint: ruff (unused imports, undefined names, line length) over llave/, nbs/, tests/, scripts/, benchmarks/"
ruff check .
echo "== format: ruff format --check over the sources (nbs/, tests/, scripts/, benchmarks/; llave/ is exported from nbs/)"
ruff format --check nbs tests scripts benchmarks

echo "== README.md: is it what nbs/index.ipynb says?"
python scripts/readme.py --check

echo "== 3/5 every notebook as a test, its committed outputs checked against the run"
OMP_NUM_THREADS=1 python scripts/run_notebook.py --check --workers 2 nbs/[0-9]*.ipynb nbs/index.ipynb

echo "== 4/5 pytest tests/"
python -m pytest tests -q -p no:cacheprovider --durations=15 --ignore=tests/test_release_shapes.py
# the release-shape tier in a process of its own: GBs of tensors, started from a small baseline (peak under 8 GB)
python -m pytest tests/test_release_shapes.py -q -p no:cacheprovider --durations=5

echo "== 5/5 the wheel, outside the checkout"
bash scripts/wheel_check.sh
