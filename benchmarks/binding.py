"""Does batching a picture's questions, or one reference's queries, together teach binding? (issue 29)

A study of MMEB-mini format 3 (its committed results were measured there): format 4 replaced the sets it measures, so
this script refuses to run on another format; check out commit 2697e2e to run it again.

  python benchmarks/binding.py --out runs/binding [--variants byimage bytext objects-bytext]
      [--json benchmarks/results/binding.json]

Seed 0's InfoNCE demo run (2,000 steps of 32 pairs, no video), as `llave demo` trains it, with one change to how
batches are drawn (`TrainConfig.batch_together`, duplicate targets deferred to another batch):
`byimage` puts the pairs that share a query image in one batch (the four questions of a VQA picture, the three
objects of a grounding scene: each answer a negative for the others); `bytext` the pairs that share their query
text (the same reference, "the red object", in 32 pictures: negatives that share the named colour and differ in
what only the picture shows; a subset whose queries all share one instruction is not grouped);
`objects-bytext` is `bytext` from the start that reads shape best (`benchmarks/shape_remedies.py`'s `objects`, which
must have been run into `runs/shape_remedies/objects`). Each run is compared with seed 0's InfoNCE run of the
committed demo (data/demo), and on the two grounding sets the share of queries whose top candidate is one of the
picture's own three crops is measured (`picture_picks`). A finished run folder is reused. A run takes about 6
minutes with two threads (12 to 25 side by side with other work).
"""

import argparse
import json
from pathlib import Path

VARIANTS = {  # name: (start: None for the shipped model, else a checkpoint folder; TrainConfig fields)
    "byimage": (None, {"batch_together": "image", "defer_duplicate_targets": True}),
    "bytext": (None, {"batch_together": "text", "defer_duplicate_targets": True}),
    "objects-bytext": (
        "runs/shape_remedies/objects/checkpoint-2000",
        {"batch_together": "text", "defer_duplicate_targets": True},
    ),
}
GROUNDING = ("Mini-Grounding", "Mini-Grounding-Outline")


def picture_picks(checkpoint: Path, rows: int = 500) -> dict:
    "Per grounding set: % of queries whose top candidate is one of the picture's three crops (candidates 0-2)."
    from llave.eval import evaluate_datasets
    from llave.mini.demo import quiet_transformers
    from llave.minimmeb import mini_eval_dataset
    from llave.model import LLaVE

    with quiet_transformers():
        model = LLaVE.from_pretrained(checkpoint).eval()
    picks = {}

    def record(name, scores, vectors, queries, candidates):
        picks[name] = 100 * (scores.argmax(1) < 3).float().mean().item()

    datasets = {name: mini_eval_dataset(name)[:rows] for name in GROUNDING}
    evaluate_datasets(model, datasets, batch_size=64, on_similarities=record, log=None)
    return picks


def run_variant(out: Path, name: str) -> dict:
    "Train (or reuse) and evaluate one variant: its P@1 per dataset, summary and picture picks."
    from llave.mini.demo import DemoSettings, evaluate_run, mini_datasets, train_run
    from llave.mini.pretrain import pretrained_model
    from llave.minimmeb import default_root

    start, extra = VARIANTS[name]
    settings, root = DemoSettings(seeds=1, video=False, v2=False, show_progress=False), default_root()
    checkpoint = train_run(
        out / name, Path(start) if start else pretrained_model(), "InfoNCE", {"alpha": 0.0}, 0, settings, extra=extra
    )
    saved = out / name / "result.json"
    result = (
        json.loads(saved.read_text())
        if saved.exists()
        else evaluate_run(checkpoint, root, mini_datasets(root, 500), settings)
    )
    saved.write_text(json.dumps(result, indent=1))
    return {"mmeb": result["mmeb"], "summary": result["summary"], "picture_picks": picture_picks(checkpoint)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="runs/binding")
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS))
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    from llave.minimmeb import MINI_FORMAT

    if MINI_FORMAT != 3:
        parser.exit(
            2,
            f"this study measured MMEB-mini format 3, and this llave builds format {MINI_FORMAT}: run it from commit 2697e2e\n",
        )
    from llave.mini.demo import DEMO_RESULTS

    committed = json.loads((DEMO_RESULTS / "results.json").read_text())["results"]["0"]["InfoNCE"]
    record = {
        "baseline": {
            "mmeb": committed["mmeb"],
            "summary": committed["summary"],
            "picture_picks": picture_picks(DEMO_RESULTS / "models" / "InfoNCE"),
        },
        "variants": {name: run_variant(Path(args.out), name) for name in args.variants},
    }
    for name, result in {"committed seed 0": record["baseline"], **record["variants"]}.items():
        scores = {k: round(result["mmeb"][k], 1) for k in ("Mini-VQA-Scene", "Mini-VQA-Outline", *GROUNDING)}
        print(
            name,
            f"Overall {result['summary']['Overall']:.1f}",
            scores,
            "picture picks",
            {k: round(v, 1) for k, v in result["picture_picks"].items()},
        )
    if args.json:
        Path(args.json).write_text(json.dumps(record, indent=1) + "\n")


if __name__ == "__main__":
    main()
