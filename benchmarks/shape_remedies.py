"""What the generative stage teaches the tiny VLM about each attribute, and what changes it (issue 29's diagnosis).

  python benchmarks/shape_remedies.py --out runs/shape_remedies [--variants shipped base steps4000 patch8 wide]
      [--questions 100] [--contrastive base] [--json benchmarks/results/shape_remedies.json]

Every variant but `shipped` (llave/pretrained/tiny-mmeb-mini, made from format 2's pairs) pretrains the tiny
LLaVA-OV on format 3's training pairs without its grounding pairs (their answers name one attribute, not the object)
plus `llave pretrain`'s 1,000 line drawings plus 1,000 three-object referring scenes (each crop named, one question, one
caption): `base` for 2,000 steps; `steps4000` twice as long; `patch8` with 8-pixel patches (4x the image tokens);
`wide` with a vision tower of width 128 and 4 layers. Each model then answers the classification question greedily
(`describe`) about `--questions` single objects of the training pairs and of Mini-Classify-Object's evaluation rows,
scored per attribute (`attribute_accuracy`). `--contrastive NAME` also trains and evaluates seed 0's InfoNCE demo run
from that variant (2,000 steps, no video), for its VQA-Scene and Grounding P@1. A finished run folder is reused.
On 2 cores each pretraining takes 6 (base) to 14 (patch8) minutes with one thread.
"""

import argparse
import json
import random
import tomllib
from pathlib import Path

VARIANTS = {
    "base": {},
    "steps4000": {"steps": 4000},
    "patch8": {"sizes": {"patch_size": 8}},
    "wide": {"sizes": {"vision_hidden": 128, "vision_intermediate": 256, "vision_layers": 4, "vision_heads": 4}},
}


def referring_examples(folder: Path, count: int, seed: int = 0) -> list:
    "Generative examples of `count` filled three-object scenes: each crop's name, one question, one caption."
    from llave.core import write_png_atomic
    from llave.data import format_text
    from llave.mini.pretrain import CROP_INSTRUCTION, GenerativeExample
    from llave.minimmeb import PROMPTS, caption, crop, referring_scene, render, scene_questions

    rng, examples = random.Random(f"{seed}/referring"), []
    folder.mkdir(parents=True, exist_ok=True)
    for index in range(count):
        scene = referring_scene(rng, "filled")
        image = str(write_png_atomic(folder / f"{index:05d}.png", render(scene)))
        for k, obj in enumerate(scene.objects):
            path = str(write_png_atomic(folder / f"{index:05d}_crop{k}.png", crop(scene, k)))
            examples.append(GenerativeExample(path, CROP_INSTRUCTION, obj.phrase))
        question, answer = rng.choice(scene_questions(scene))
        examples.append(
            GenerativeExample(image, format_text(PROMPTS["vqa"].format(question=question), True), answer.phrase)
        )
        examples.append(GenerativeExample(image, format_text(PROMPTS["i2t"], True), caption(scene)))
    return examples


def pretrain_variant(out: Path, name: str) -> Path:
    "Pretrain variant `name` under `out/name` (reused when finished); its final checkpoint."
    import llave.mini.pretrain as stage
    from llave.minimmeb import mini_train_pairs
    from llave.train import CONFIG_DIRECTORY

    run, variant = out / name, VARIANTS[name]
    steps = variant.get("steps", 2000)
    sizes = None
    if "sizes" in variant:
        base = tomllib.loads((CONFIG_DIRECTORY / "tiny_model.toml").read_text())["model"]
        sizes = run.parent / f"{name}.toml"
        sizes.parent.mkdir(parents=True, exist_ok=True)
        sizes.write_text("[model]\n" + "".join(f"{k} = {v!r}\n" for k, v in {**base, **variant["sizes"]}.items()))

    def examples(config):
        pairs = [p for p in mini_train_pairs() if p.subset != "Mini_Grounding"]
        drawings = stage.line_drawing_examples(run / "line-drawings", config.line_drawings, config.seed)
        return stage.generative_examples(pairs) + drawings + referring_examples(run / "referring", 1000, config.seed)

    stage.pretrain_examples = examples
    config = stage.PretrainConfig(
        output_dir=str(run), steps=steps, show_progress=False, tiny_sizes=str(sizes) if sizes else None
    )
    final = run / f"checkpoint-{steps}"
    if not final.exists():
        stage.pretrain(config, resume=bool(stage.checkpoint_directories(run)))
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
