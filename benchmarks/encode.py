"""Throughput of `LLaVE.encode` on the tiny model vs a bare loop over the same batches.

The bare loop runs, for the same batches in the same (length-sorted) order, the processor on the same prompts
and then the Hugging Face model directly: `model(**inputs)` (the full model, with the LM head) and
`model.model(**inputs)` (the base model that `encode` calls). The overhead ratio is encode time / bare time;
the target is <= 1.05. Also times one training step (forward of queries and targets, InfoNCE, backward, AdamW).

    python benchmarks/encode.py [--items 512] [--batch-size 32] [--repeats 3] [--threads 2]
"""

import argparse, os, tempfile, time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from transformers.utils import logging as hf_logging

from llave.model import LLaVE, llave_prompt, tiny_llava_onevision, load_tiny_sizes


def make_items(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    words = "red blue green circle square star left right above below the a of".split()
    texts = ["<image>\n" + " ".join(rng.choice(words, rng.integers(3, 30))) for _ in range(n)]
    images = [Image.fromarray(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)) for _ in range(n)]
    return texts, images


def best_of(function, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def bare_loop(llave, texts, images, batch_size, base: bool):
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    model = llave.model.model if base else llave.model
    with torch.no_grad():
        for start in range(0, len(order), batch_size):
            chunk = order[start : start + batch_size]
            inputs = llave.processor(
                text=[llave_prompt(texts[i]) for i in chunk],
                images=[images[i] for i in chunk],
                return_tensors="pt",
                padding=True,
            )
            model(**inputs)


def train_step_time(llave, texts, images, batch_size: int, steps: int = 10) -> float:
    llave.freeze_vision()
    llave.model.train()
    optimizer = torch.optim.AdamW(llave.parameter_groups(3e-4))
    targets = [t.replace("<image>\n", "") for t in texts]
    times = []
    for step in range(steps + 1):
        start = time.perf_counter()
        q = llave(**llave.prepare(texts[:batch_size], images[:batch_size]))
        t = llave(**llave.prepare(targets[:batch_size]))
        logits = q @ t.T / 0.02
        labels = torch.arange(len(q))
        loss = (F.cross_entropy(logits, labels) + F.cross_entropy(logits.T, labels)) / 2
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        if step:
            times.append(time.perf_counter() - start)
    llave.model.eval()
    return min(times)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=512)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    hf_logging.disable_progress_bar()
    config = Path(__file__).resolve().parents[1] / "llave" / "configs" / "tiny_model.toml"
    sizes = load_tiny_sizes(config) if config.exists() else {}
    with tempfile.TemporaryDirectory() as tmp:
        llave = LLaVE.from_pretrained(tiny_llava_onevision(Path(tmp) / "tiny", **sizes))
    texts, images = make_items(args.items)
    bare_loop(llave, texts[:64], images[:64], args.batch_size, base=True)  # warm up
    runs = {
        "encode": lambda: llave.encode(texts, images, batch_size=args.batch_size, show_progress=False),
        "full": lambda: bare_loop(llave, texts, images, args.batch_size, base=False),
        "base": lambda: bare_loop(llave, texts, images, args.batch_size, base=True),
    }
    best = {name: float("inf") for name in runs}
    for _ in range(args.repeats):  # interleaved, best of each: robust to other load on the machine
        for name, run in runs.items():
            best[name] = min(best[name], best_of(run, 1))
    encode, full, base = best["encode"], best["full"], best["base"]
    print(f"{args.items} image+text items, batch {args.batch_size}, {torch.get_num_threads()} threads")
    print(f"encode:                         {encode:.3f} s  ({args.items / encode:.0f} items/s)")
    print(f"bare processor + model(**x):    {full:.3f} s  -> overhead ratio {encode / full:.3f}")
    print(f"bare processor + model.model:   {base:.3f} s  -> overhead ratio {encode / base:.3f}")
    step = train_step_time(llave, texts, images, args.batch_size)
    print(f"training step (batch {args.batch_size} image+text queries vs text targets): {step:.3f} s")


if __name__ == "__main__":
    main()
