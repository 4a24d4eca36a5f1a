"""What the generative stage teaches the tiny VLM about each attribute, and what changes it (issue 29's diagnosis).

A study of MMEB-mini format 3 (its committed results were measured there): format 4 replaced the sets it measures, so
this script refuses to run on another format; check out commit 2697e2e to run it again.

  python benchmarks/shape_remedies.py --out runs/shape_remedies [--variants shipped base steps4000 patch8 wide objects]
      [--questions 100] [--contrastive base objects] [--json benchmarks/results/shape_remedies.json]

Every variant but `shipped` (llave/pretrained/tiny-mmeb-mini as committed) runs `llave pretrain`'s recipe with a
change (`VARIANTS`): `base` adds 1,000 three-object referring scenes to format 3's training pairs and the 1,000 line
drawings; `objects` adds 10,000 single objects besides; `steps4000` trains `base` twice as long; `patch8` uses
8-pixel patches (4x the image tokens); `wide` a vision tower of width 128 and 4 layers. Each model then answers the
classification question greedily (`describe`) about `--questions` single objects of the training pairs and of Mini-
Classify-Object's evaluation rows, scored per attribute (`attribute_accuracy`). `--contrastive NAME` also trains and
evaluates seed 0's InfoNCE demo run from that variant (2,000 steps, no video), for every dataset's P@1. A finished
run folder is reused. On 2 cores a pretraining takes 6 (base) to 14 (patch8) minutes with one thread; measuring a
model, about one.
"""

import argparse
import json
import tomllib
from pathlib import Path

VARIANTS = {  # PretrainConfig changes to `llave pretrain`'s (shipped) recipe; "sizes": tiny_model.toml fields changed
    "base": {"referring_scenes": 1000},
    "steps4000": {"referring_scenes": 1000, "steps": 4000},
    "patch8": {"referring_scenes": 1000, "sizes": {"patch_size": 8}},
    "wide": {
        "referring_scenes": 1000,
        "sizes": {"vision_hidden": 128, "vision_intermediate": 256, "vision_layers": 4, "vision_heads": 4},
    },
    "objects": {"referring_scenes": 1000, "single_objects": 10000},
}


def pretrain_variant(out: Path, name: str) -> Path:
    "Pretrain variant `name` under `out/name` (reused when finished); its final checkpoint."
    from llave.mini.pretrain import PretrainConfig, checkpoint_directories, pretrain
    from llave.train import CONFIG_DIRECTORY

    run, changes = out / name, dict(VARIANTS[name])
    sizes = changes.pop("sizes", None)
    if sizes:
        base = tomllib.loads((CONFIG_DIRECTORY / "tiny_model.toml").read_text())["model"]
        path = out / f"{name}.toml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("[model]\n" + "".join(f"{k} = {v!r}\n" for k, v in {**base, **sizes}.items()))
        changes["tiny_sizes"] = str(path)
    config = PretrainConfig(output_dir=str(run), show_progress=False, **changes)
    final = run / f"checkpoint-{config.steps}"
    if not final.exists():
        pretrain(config, resume=bool(checkpoint_directories(run)))
    return final


def measure(checkpoint: Path, questions: int) -> dict:
    "Per-attribute accuracy (%) of greedy answers on training pairs and evaluation rows of single objects."
    from llave.mini.pretrain import attribute_accuracy, describe
    from llave.minimmeb import mini_eval_dataset, mini_train_pairs
    from llave.model import LLaVE

    model = LLaVE.from_pretrained(checkpoint).eval()
    sides = {
        "train": [
            (p.query_image, p.query_text, p.target_text)
            for p in mini_train_pairs()
            if p.subset == "Mini_Classify_Object"
        ],
        "eval": [
            (r.query_image, r.query_text, r.candidate_texts[0]) for r in mini_eval_dataset("Mini-Classify-Object")
        ],
    }
    return {
        side: attribute_accuracy(
            [describe(model, i, t) for i, t, _ in rows[:questions]], [g for *_, g in rows[:questions]]
        )
        for side, rows in sides.items()
    }


def contrastive(out: Path, checkpoint: Path) -> dict:
    "Seed 0's InfoNCE demo run (2,000 steps, no video) from `checkpoint`: P@1 of every MMEB-mini dataset."
    from llave.mini.demo import DemoSettings, run_one
    from llave.minimmeb import default_root

    settings = DemoSettings(seeds=1, video=False, show_progress=False)
    return json.loads(run_one(out, default_root(), checkpoint, 0, "InfoNCE", settings).read_text())["mmeb"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="runs/shape_remedies")
    parser.add_argument("--variants", nargs="+", default=["shipped", *VARIANTS])
    parser.add_argument("--questions", type=int, default=100)
    parser.add_argument("--contrastive", nargs="*", default=[])
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    from llave.minimmeb import MINI_FORMAT

    if MINI_FORMAT != 3:
        parser.exit(
            2,
            f"this study measured MMEB-mini format 3, and this llave builds format {MINI_FORMAT}: run it from commit 2697e2e\n",
        )
    from llave.mini.pretrain import pretrained_model

    out, record = Path(args.out), {"questions": args.questions, "variants": {}}
    for name in args.variants:
        checkpoint = pretrained_model() if name == "shipped" else pretrain_variant(out, name)
        record["variants"][name] = {"accuracy": measure(checkpoint, args.questions), **VARIANTS.get(name, {})}
        if name in args.contrastive:
            record["variants"][name]["contrastive"] = contrastive(out / f"{name}-demo", checkpoint)
        print(name, json.dumps(record["variants"][name]), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(record, indent=1) + "\n")


if __name__ == "__main__":
    main()
