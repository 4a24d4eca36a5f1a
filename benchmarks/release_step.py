"""Cost of a training step at the released LLaVE-0.5B shapes, per language-model layer, and the paper's run from it.

  python benchmarks/release_step.py [--layers 1 2] [--pairs 4] [--tokens 4096] [--steps 3] [--device cpu]
                                    [--vision-layers 1] [--typical]

Each depth L of --layers runs in a fresh process: a release-shaped LLaVE-0.5B (llave.testing: real widths, heads and
vocabulary, random weights) with L language layers and one frozen vision layer, converted with `llave convert`,
takes --steps training steps (the first is a warm-up) of --pairs pairs whose query and target are each exactly
--tokens tokens long, with gradient checkpointing, the paper's loss and fused AdamW (fp32 on a CPU, bf16 autocast
with fp32 weights on CUDA). Printed per depth: the median step time and the peak memory growth over the loaded
model (CPU: ru_maxrss; CUDA: max_memory_allocated). The difference of two depths is the cost of one layer; the
rest (embedding matrix, loss, optimizer) does not grow with depth.

The summary also counts the step's FLOPs (matrix multiplies of a layer: 2 per weight per token, attention 4·T·d per
token; with checkpointing a layer runs forward twice and backward once, 4 forward-equivalents) and divides the
measured seconds per layer into them: the device's achieved FLOP/s, a check on the count. From there it predicts
the paper's LLaVE-0.5B run (662K pairs, 24 layers, 8 GPUs, 4 pairs per GPU, paper: 12 h on 8×A100-40GB):
  * on CUDA, from the measured seconds: (rest + 24 × per layer) × 662K / (8 × 4) / 3600;
  * on a CPU, from the FLOP count at an assumed A100 utilisation (bf16 dense peak 312 TFLOP/s × MFU).
Both at --tokens per item (every item at the training limit: an upper bound) and at a typical MMEB-train pair (an
image item of 2,929 tokens, a 640×480 photo on the paper's 2×2 grid, plus a 64-token text item and SigLIP-so400m's
forward pass over the image's 5 crops). Prints JSON lines; the figures go in the closing note, not into tests.

--typical replaces the --tokens-long texts by typical pairs (a 640×480 image with a short question, a short answer:
2,929 + 64 tokens on the 2×2 grid) and --vision-layers sets the tower's depth (26: the released tower), which is how
scripts/gpu_smoke.sh measures the real 0.5B shapes on a GPU.
"""

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import torch

QWEN2_05B = dict(width=896, mlp=4864, heads=14, kv_heads=2, layers=24, vocab=151936)
SIGLIP_FORWARD_FLOPS_PER_TOKEN = 2 * 400e6  # SigLIP-so400m: ~400M weights, 2 FLOPs each per token
A100_BF16_PEAK = 312e12
PAPER = dict(pairs=662_000, gpus=8, pairs_per_gpu=4, hours=12.0)


def layer_forward_flops(tokens: int, sequence: int, shape: dict = QWEN2_05B) -> float:
    "Forward FLOPs of one Qwen2 layer over `tokens` tokens in sequences of `sequence`: weights and attention."
    width, head_dim = shape["width"], shape["width"] // shape["heads"]
    weights = width * width * 2 + 2 * width * shape["kv_heads"] * head_dim + 3 * width * shape["mlp"]
    return tokens * (2 * weights + 4 * sequence * width)


def batches(model, args) -> tuple[dict, dict]:
    "Processor batches of --pairs queries and targets: --tokens-long texts, or --typical image-question/answer pairs."
    from llave.testing import picture

    if args.typical:
        images = [picture(640, 480, seed=i) for i in range(args.pairs)]
        questions = [
            f"<image>\nRepresent the given image with the following question: what is in picture {i}?"
            for i in range(args.pairs)
        ]
        return model.prepare(questions, images), model.prepare(
            [f"the answer to picture {i}" for i in range(args.pairs)]
        )
    texts = [" ".join(["word"] * (2 * args.tokens))] * args.pairs  # cut to exactly --tokens tokens
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        queries, targets = (model.prepare(texts, max_length=args.tokens) for _ in range(2))
    assert queries["input_ids"].shape == (args.pairs, args.tokens), queries["input_ids"].shape
    return queries, targets


def run_depth(args) -> dict:
    "One depth, in this process: build, convert, load, train --steps steps; one JSON line."
    from llave.convert import convert_checkpoint
    from llave.loss import ContrastiveLoss
    from llave.model import LLaVE
    from llave.testing import release_source_checkpoint
    from llave.train import PairEncoder, clip_gradients, plain_step

    folder = Path(tempfile.mkdtemp())
    source = release_source_checkpoint(
        folder / "source", "0.5b", text_layers=args.depth, vision_layers=args.vision_layers
    )
    model = LLaVE.from_pretrained(
        convert_checkpoint(source, folder / "model"), torch_dtype=torch.float32, device=args.device
    ).train()
    model.freeze_vision(True).gradient_checkpointing(True)
    model.set_image_grid("(1x1),...,(2x2)")  # the paper's grid
    queries, targets = batches(model, args)
    optimizer = torch.optim.AdamW(model.parameter_groups(1e-5), fused=True)
    encoder, loss_fn, device = PairEncoder(model), ContrastiveLoss(), torch.device(args.device)
    autocast = lambda: torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda")
    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if device.type == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        baseline_cuda = torch.cuda.memory_allocated()
    times = []
    for _ in range(args.steps):
        start = time.perf_counter()
        plain_step(encoder, loss_fn, queries, targets, autocast=autocast)
        clip_gradients(optimizer, 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        if device.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    result = {
        "depth": args.depth,
        "vision_layers": args.vision_layers,
        "device": args.device,
        "pairs": args.pairs,
        "tokens": "typical" if args.typical else args.tokens,
        "pairs_per_second": None,
        "step_seconds": times,
        "median_step_seconds": statistics.median(times[1:] or times),
        "sequence_tokens": int(queries["input_ids"].shape[1]),
        "peak_memory_growth_mib": (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - baseline) / 1024,
    }
    result["pairs_per_second"] = args.pairs / result["median_step_seconds"]
    if device.type == "cuda":
        result["peak_memory_growth_mib"] = (torch.cuda.max_memory_allocated() - baseline_cuda) / 2**20
        result["gpu"] = torch.cuda.get_device_name()
    return result


def predict(depths: list[dict], mfu: tuple = (0.3, 0.5)) -> dict:
    "Per-layer cost from two depths, the achieved FLOP/s, and the paper's 0.5B run predicted from them."
    low, high = sorted(depths, key=lambda r: r["depth"])[:2]
    layers = high["depth"] - low["depth"]
    per_layer = (high["median_step_seconds"] - low["median_step_seconds"]) / layers
    rest = low["median_step_seconds"] - low["depth"] * per_layer
    memory_per_layer = (high["peak_memory_growth_mib"] - low["peak_memory_growth_mib"]) / layers
    tokens = 2 * low["pairs"] * low["tokens"]
    layer_flops = 4 * layer_forward_flops(tokens, low["tokens"])
    steps = PAPER["pairs"] / (PAPER["gpus"] * PAPER["pairs_per_gpu"])
    typical_pair = (
        4 * QWEN2_05B["layers"] * (layer_forward_flops(2929, 2929) + layer_forward_flops(64, 64))
        + 5 * 729 * SIGLIP_FORWARD_FLOPS_PER_TOKEN
    )
    summary = {
        "per_layer_seconds": per_layer,
        "rest_seconds": rest,
        "per_layer_memory_mib": memory_per_layer,
        "rest_memory_mib": low["peak_memory_growth_mib"] - low["depth"] * memory_per_layer,
        "layer_flops_per_step": layer_flops,
        "achieved_flops_per_second": layer_flops / per_layer,
        "step_seconds_24_layers": rest + QWEN2_05B["layers"] * per_layer,
        "activation_memory_24_layers_mib": low["peak_memory_growth_mib"] + (24 - low["depth"]) * memory_per_layer,
        "paper_hours": PAPER["hours"],
        "optimizer_steps_at_4_pairs_per_gpu": steps,
    }
    if low["device"].startswith("cuda"):
        summary["predicted_hours_at_max_tokens"] = summary["step_seconds_24_layers"] * steps / 3600
    flops_max = steps * PAPER["pairs_per_gpu"] * QWEN2_05B["layers"] * layer_flops / low["pairs"]
    for utilisation in mfu:
        rate = A100_BF16_PEAK * utilisation
        summary[f"a100_hours_at_max_tokens_mfu{utilisation}"] = flops_max / rate / 3600
        summary[f"a100_hours_typical_pairs_mfu{utilisation}"] = (
            PAPER["pairs"] * typical_pair / (PAPER["gpus"] * rate) / 3600
        )
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--pairs", type=int, default=4)
    parser.add_argument("--tokens", type=int, default=4096)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--vision-layers", type=int, default=1)
    parser.add_argument("--typical", action="store_true", help="typical image pairs instead of --tokens-long texts")
    parser.add_argument("--depth", type=int, default=None, help=argparse.SUPPRESS)  # one depth, in a child process
    args = parser.parse_args()
    if args.depth is not None:
        print(json.dumps(run_depth(args)), flush=True)
        return
    results = []
    for depth in args.layers:
        command = [
            sys.executable,
            __file__,
            "--depth",
            str(depth),
            "--pairs",
            str(args.pairs),
            "--tokens",
            str(args.tokens),
            "--steps",
            str(args.steps),
            "--device",
            args.device,
            "--vision-layers",
            str(args.vision_layers),
        ] + (["--typical"] if args.typical else [])
        output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
        results.append(json.loads(output.strip().splitlines()[-1]))
        print(json.dumps(results[-1]), flush=True)
    if len(results) >= 2 and not args.typical:
        print(json.dumps({"summary": predict(results)}, indent=1))


if __name__ == "__main__":
    main()
