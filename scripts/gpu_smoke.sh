#!/usr/bin/env bash
# GPU smoke test (at most ~5 minutes on one GPU): 30 steps of a small LLaVA-OV-shaped model (SigLIP 4x256,
# Qwen2 8x512, 128 px images) in bf16 with gradient checkpointing, GradCache off and on; prints pairs/s and peak
# GPU memory as JSON lines. Run it whenever a GPU is available and report the figures.
set -euo pipefail
cd "$(dirname "$0")/.."
export HF_HUB_OFFLINE=1
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader || true
python benchmarks/train.py step --device cuda --size small --bf16 --checkpointing --batch 64 --steps 30
python benchmarks/train.py step --device cuda --size small --bf16 --checkpointing --batch 64 --chunk 16 --steps 30
python benchmarks/train.py step --device cuda --size small --bf16 --checkpointing --batch 256 --chunk 32 --steps 30
