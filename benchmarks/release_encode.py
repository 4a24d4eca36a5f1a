"""`LLaVE.encode` at the released LLaVE-0.5B shapes with 0, 1 and 2 data workers, side by side in one process.

  python benchmarks/release_encode.py [--items 4] [--batch-size 4] [--repeats 3] [--layers 2] [--json out.json]

A release-shaped LLaVE-0.5B (llave.testing: real widths, vocabulary and the paper's 2x2 anyres grid; random weights,
`--layers` layers per tower) encodes `--items` typical MMEB items (a 640x480 photo on disk and a question) with
`num_workers` 0, 1 and 2, alternated `--repeats` times; prints items per second (medians) and the ratio to no workers.
The workers decode the images and run the processor while the model runs, so they pay where the processor's share of
the time is large and spare cores exist: shallow towers here make the processor's share larger than at 24 layers.
On 2 cores (benchmarks/results/release_encode.json) they do not: 1 worker 0.90x, 2 workers 0.83x of no workers, as
the workers take cores from the model's forward; the defaults run in about two minutes there.
"""

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import torch


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    from llave.model import LLaVE
    from llave.testing import picture, release_checkpoint

    folder = Path(tempfile.mkdtemp())
    model = LLaVE.from_pretrained(
        release_checkpoint(folder / "llave-0.5b", "0.5b", text_layers=args.layers, vision_layers=args.layers),
        torch_dtype=torch.float32,
    )
    paths = []
    for i in range(args.items):
        paths.append(folder / f"photo{i}.png")
        picture(640, 480, seed=i).save(paths[-1])
    texts = [f"<image>\nWhat is in the picture? ({i})" for i in range(args.items)]
    model.encode(texts[: args.batch_size], images=paths[: args.batch_size], batch_size=args.batch_size)  # warm-up
    rates, reference = {0: [], 1: [], 2: []}, None
    for _ in range(args.repeats):
        for workers in rates:
            started = time.perf_counter()
            vectors = model.encode(
                texts, images=paths, batch_size=args.batch_size, num_workers=workers, convert_to_tensor=True
            )
            rates[workers].append(args.items / (time.perf_counter() - started))
            reference = vectors if reference is None else reference
            assert torch.equal(vectors, reference), "workers changed the embeddings"
    medians = {workers: statistics.median(values) for workers, values in rates.items()}
    result = {
        "items": args.items,
        "batch_size": args.batch_size,
        "layers_per_tower": args.layers,
        "threads": torch.get_num_threads(),
        "items_per_second": {str(k): v for k, v in rates.items()},
        "ratio_to_no_workers": {str(k): medians[k] / medians[0] for k in medians},
    }
    print(json.dumps(result))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
