"""The full-size sweeps of nbs/11_weighting.ipynb: alpha (0, 1, 3, 9, 15, 25) and the number of negatives.

Each sweep trains and evaluates under --runs (resumable: finished runs are skipped), then exports results.json,
report.md and the training logs to --export (data/demo/alpha_sweep, data/demo/negatives), which the notebook plots.
The defaults are the demo's settings (`llave demo`: the shipped pretrained tiny VLM, 2,000 steps of batch 32 at
learning rate 5e-4, 500 queries per MMEB-mini dataset, video retrieval evaluated, one run per CPU core at a time);
--start random --steps 450 --eval-rows 0 --no-video are the first demo's (at the current learning rate).

Usage:
  python scripts/sweeps.py alpha      [--seeds 3] [--steps 2000] [--alphas 0 1 3 9 15 25] [--reuse-demo runs/demo]
  python scripts/sweeps.py negatives  [--seeds 3] [--batch-sizes 8 16 32 128] [--chunk-size 32] [--budget pairs|steps|updates]
  python scripts/sweeps.py both
Cost on 2 CPU cores at the defaults: a run takes about 4.2 minutes of the machine when runs train side by side
(the committed demo: 9 runs of 2,000 x 32 pairs in 38.4 minutes), so `alpha` (18 runs) takes ~1 h 15 min (~50 min
with --reuse-demo) and `negatives` with --budget pairs (24 runs) ~1 h 45 min; --budget steps makes the batch-128
runs 4x longer, and --budget updates every run as long as a batch-128 run (4x the pairs of a batch-32 run: ~6 h 30
min in all). The committed data/demo/negatives is the shorter study that holds updates fixed at a demo run's pairs:
  python scripts/sweeps.py negatives --budget updates --steps 500 --batch-sizes 8 32 128 --no-video
(500 updates of 128 pairs, 18 runs; see nbs/11_weighting.ipynb for its time).
Finished runs are skipped on a rerun; `--reuse-demo runs/demo` takes a default `llave demo`'s InfoNCE and LLaVE runs
as alpha 0 and 9 (6 of the 18 alpha runs), after checking that the demo ran with the same settings.
"""

import argparse
import json
import os
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from llave.mini.demo import DEMO_RESULTS, DEMO_STARTS, DemoSettings
from llave.mini.weighting import (
    NEGATIVES_BUDGETS,
    SWEEP_ALPHAS,
    alpha_sweep,
    alpha_verdict,
    export_sweep,
    negatives_sweep,
    negatives_verdict,
)


def parse(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("which", choices=("alpha", "negatives", "both"))
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument(
        "--steps",
        type=int,
        default=DemoSettings.steps,
        help="steps of a batch-32 run (negatives: scaled under --budget pairs; "
        "under updates each step is an update of the largest batch's pairs)",
    )
    parser.add_argument(
        "--eval-rows", type=int, default=DemoSettings.eval_rows, help="queries per MMEB-mini dataset (0: all 1000)"
    )
    parser.add_argument("--no-video", dest="video", action="store_false", help="skip zero-shot video retrieval")
    parser.add_argument("--alphas", type=float, nargs="+", default=list(SWEEP_ALPHAS))
    parser.add_argument(
        "--reuse-demo",
        default=None,
        help="a `llave demo --out` directory made with the same settings: "
        "its InfoNCE and LLaVE runs become the sweep's alpha=0 and alpha=9 runs instead of training again",
    )
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[8, 16, 32, 128])
    parser.add_argument("--chunk-size", type=int, default=32, help="GradCache chunk for larger batches (0: off)")
    parser.add_argument(
        "--budget",
        choices=NEGATIVES_BUDGETS,
        default="pairs",
        help="pairs: every batch size sees steps*32 pairs; steps: every batch size takes --steps steps; "
        "updates: --steps updates of the largest batch's pairs, smaller batches accumulated",
    )
    parser.add_argument(
        "--start",
        choices=DEMO_STARTS,
        default=DemoSettings.start,
        help="initial model (pretrained: the demo's; pretrain: rebuilt here; random: the first demo's)",
    )
    parser.add_argument(
        "--line-drawings",
        type=int,
        default=None,
        metavar="N",
        help="with --start pretrain: N outline scenes in the generative stage (default: the recipe's 1000)",
    )
    parser.add_argument("--runs", default="runs/sweeps", help="where the runs go (checkpoints; not committed)")
    parser.add_argument("--export", default=str(DEMO_RESULTS), help="where alpha_sweep/ and negatives/ are exported")
    parser.add_argument("--no-progress", action="store_true")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse(argv)
    settings = DemoSettings(
        start=args.start,
        eval_rows=args.eval_rows or None,
        video=args.video,
        show_progress=not args.no_progress,
        line_drawings=args.line_drawings,
    ).with_steps(args.steps)  # as `llave demo --steps`
    runs, export = Path(args.runs), Path(args.export)
    if args.which in ("alpha", "both"):
        started = time.perf_counter()
        alpha_sweep(runs / "alpha", tuple(args.alphas), args.seeds, settings, reuse=args.reuse_demo)
        export_sweep(runs / "alpha", export / "alpha_sweep")
        print(alpha_verdict(json.loads((runs / "alpha" / "results.json").read_text())))
        print(f"alpha sweep: {(time.perf_counter() - started) / 60:.1f} min; exported to {export / 'alpha_sweep'}")
    if args.which in ("negatives", "both"):
        started = time.perf_counter()
        negatives_sweep(
            runs / "negatives",
            tuple(args.batch_sizes),
            args.seeds,
            settings,
            chunk_size=args.chunk_size or None,
            budget=args.budget,
        )
        export_sweep(runs / "negatives", export / "negatives")
        print(negatives_verdict(json.loads((runs / "negatives" / "negatives.json").read_text())))
        print(f"negatives sweep: {(time.perf_counter() - started) / 60:.1f} min; exported to {export / 'negatives'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
