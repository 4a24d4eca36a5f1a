#!/usr/bin/env bash
# GPU smoke test at the released LLaVE-0.5B shapes (about 8 minutes on one GPU): random weights with all 24 language
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
# (4) `llave eval mmeb` on every GPU of the machine (torchrun shares the unique items; rank 0 scores and writes; 4 data
# workers a process decode and prepare images while the model runs), the
# shipped tiny model on MMEB-mini: wall time and the summary's encoding counts.
GPUS=$(nvidia-smi --list-gpus 2>/dev/null | wc -l); GPUS=${GPUS:-1}; [ "$GPUS" -ge 1 ] || GPUS=1
MINI=$(mktemp -d)
python -c "from llave import minimmeb; minimmeb.build_mini('$MINI/mini', config=minimmeb.MiniConfig.small())"
MODEL=$(python -c "from llave.mini.pretrain import pretrained_model; print(pretrained_model())")
START=$SECONDS
torchrun --standalone --nproc_per_node="$GPUS" -m llave eval mmeb --model "$MODEL" --data "$MINI/mini" --out "$MINI/out" \
    --batch-size 32 --workers 4 > /dev/null
echo "{\"sharded_eval_seconds\": $((SECONDS - START))}"
python -c "import json; print(json.dumps({'gpus': $GPUS, **json.load(open('$MINI/out/summary.json'))['encoding']}))"
# (5) `llave train` on MMEB-mini from the shipped tiny model on every GPU, 200 steps of 32 pairs per GPU, without and
# with 4 data workers a rank (the processor's work ahead of the step), the input cache off so that every step prepares
# its images: pairs per second of each.
for WORKERS in 0 4; do
    START=$SECONDS
    torchrun --standalone --nproc_per_node="$GPUS" -m llave train tiny "model=$MODEL" "output_dir=$MINI/train-$WORKERS" \
        max_steps=200 batch_size=32 cache_inputs=false save_every=0 show_progress=false "num_workers=$WORKERS" > /dev/null
    python -c "import json; rows=[json.loads(l) for l in open('$MINI/train-$WORKERS/metrics.jsonl')]; print(json.dumps({'train_workers': $WORKERS, 'seconds': $((SECONDS - START)), 'pairs_per_second': rows[-1]['pairs_per_second']}))"
done
