"""Training throughput and memory (a measurement, not a test; figures go in the closing note).

python benchmarks/train.py speed  [--steps 30] [--batch 32] [--device cpu]
    pairs/s of the tiny preset's model on MMEB-mini pairs (plain steps).
python benchmarks/train.py memory [--device cpu]
    peak memory of one step at contrastive batch 256 with GradCache chunks of 16 vs batch 16 without GradCache
    (each configuration in a fresh process; CPU: peak RSS growth, CUDA: torch.cuda.max_memory_allocated).
python benchmarks/train.py step --batch B [--chunk C] [--steps N] [--device D] [--size tiny|small] [--bf16]
    one configuration (used by the two above and by scripts/gpu_smoke.sh); prints one JSON line.
"""

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

SMALL = dict(
    vision_hidden=256,
    vision_intermediate=1024,
    vision_layers=4,
    vision_heads=4,
    patch_size=16,
    image_size=128,
    text_hidden=512,
    text_intermediate=2048,
    text_layers=8,
    text_heads=8,
    text_kv_heads=2,
    vocab_size=384,
)


def synthetic_pairs(count: int, image_size: int, folder: Path):
    "`count` image->caption pairs with random-colour images (the same scheme as MMEB-mini's classification)."
    from PIL import Image
    from llave.data import TrainPair

    generator = torch.Generator().manual_seed(0)
    pairs = []
    for index in range(count):
        colour = tuple(int(c) for c in torch.randint(0, 256, (3,), generator=generator))
        path = folder / f"{index}.png"
        Image.new("RGB", (image_size, image_size), colour).save(path)
        pairs.append(
            TrainPair(
                query_text="<image>\nRepresent the given image for classification",
                query_image=str(path),
                target_text=f"an object of colour {colour}",
                target_image=None,
                subset="synthetic",
                row=index,
            )
        )
    return pairs


def run_step_config(args) -> dict:
    from llave.loss import ContrastiveLoss
    from llave.model import LLaVE, TINY_SIZES, tiny_llava_onevision
    from llave.train import PairEncoder, TrainConfig, train_step

    device = torch.device(args.device)
    folder = Path(tempfile.mkdtemp())
    sizes = TINY_SIZES if args.size == "tiny" else {**TINY_SIZES, **SMALL}
    pairs = synthetic_pairs(args.batch, sizes["image_size"], folder)
    path = tiny_llava_onevision(folder / "model", corpus=[p.target_text for p in pairs], **sizes)
    model = LLaVE.from_pretrained(path, device=device).train()
    model.freeze_vision(True)
    if args.checkpointing:
        model.gradient_checkpointing(True)
    optimizer = torch.optim.AdamW(model.parameter_groups(1e-5))
    config = TrainConfig(gradcache_chunk_size=args.chunk, tau=0.02, alpha=9.0)
    autocast = lambda: torch.autocast(device.type, dtype=torch.bfloat16, enabled=args.bf16)
    encoder, loss_fn = PairEncoder(model), ContrastiveLoss()
    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
        baseline_cuda = torch.cuda.memory_allocated()
    times = []
    for step in range(args.steps):
        start = time.perf_counter()
        train_step(encoder, model, loss_fn, [pairs], config, autocast)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        if device.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    steady = sorted(times[1:] or times)[len(times[1:] or times) // 2]
    result = {
        "batch": args.batch,
        "chunk": args.chunk,
        "device": args.device,
        "size": args.size,
        "bf16": args.bf16,
        "checkpointing": args.checkpointing,
        "median_step_s": steady,
        "pairs_per_s": args.batch / steady,
        "peak_rss_growth_mib": (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - baseline) / 1024,
    }
    if device.type == "cuda":
        result["peak_cuda_mib"] = (torch.cuda.max_memory_allocated() - baseline_cuda) / 2**20
    return result


def in_subprocess(*options) -> dict:
    output = subprocess.run([sys.executable, __file__, "step", *options], capture_output=True, text=True, check=True)
    return json.loads(output.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mode", choices=["speed", "memory", "step"])
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--chunk", type=int, default=None)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--size", choices=["tiny", "small"], default="tiny")
    parser.add_argument("--bf16", action="store_true")
    parser.add_argument("--checkpointing", action="store_true")
    args = parser.parse_args()
    if args.mode == "step":
        print(json.dumps(run_step_config(args)))
    elif args.mode == "speed":
        result = in_subprocess("--batch", str(args.batch), "--steps", str(args.steps), "--device", args.device)
        print(
            f"tiny model, batch {args.batch}, {args.device}: {result['median_step_s']:.3f} s/step, "
            f"{result['pairs_per_s']:.1f} pairs/s (threads: {torch.get_num_threads()})"
        )
    else:
        common = ["--steps", "2", "--device", args.device]
        cached = in_subprocess("--batch", "256", "--chunk", "16", *common)
        plain = in_subprocess("--batch", "16", *common)
        key = "peak_cuda_mib" if args.device.startswith("cuda") else "peak_rss_growth_mib"
        print(
            f"batch 256 with GradCache chunks of 16: {cached[key]:.0f} MiB; batch 16 without: {plain[key]:.0f} MiB; "
            f"ratio {cached[key] / plain[key]:.2f} (target <= 1.5)"
        )


if __name__ == "__main__":
    main()
