#!/usr/bin/env bash
# GPU smoke test at the released LLaVE-0.5B shapes (about 6 minutes on one GPU): random weights with all 24 language
# layers and all 26 vision layers (SigLIP-so400m, frozen), converted with `llave convert`, bf16 autocast over fp32
# weights, gradient checkpointing, the paper's grid and 4 pairs per step. Prints JSON lines: pairs/s, peak GPU memory
# and step times, (1) for typical MMEB-train pairs (a 640x480 image and a question; an answer), (2) for pairs at the
# 4,096-token limit, and (3) 12 vs 24 layers at that limit: seconds and memory per layer and the paper's run
# (662K pairs on 8 GPUs) predicted from them. Run it whenever a GPU is lent and report the figures.
set -euo pipefail
cd "$(dirname "$0")/.."
export HF_HUB_OFFLINE=1
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader || true
python benchmarks/release_step.py --device cuda --layers 24 --vision-layers 26 --pairs 4 --typical --steps 6
python benchmarks/release_step.py --device cuda --layers 24 --vision-layers 26 --pairs 4 --tokens 4096 --steps 4
python benchmarks/release_step.py --device cuda --layers 12 24 --vision-layers 1 --pairs 4 --tokens 4096 --steps 4
