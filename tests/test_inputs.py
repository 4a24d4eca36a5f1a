"""The training path without waste (llave.inputs): cached, length-grouped, prefix-shared training equals the padded
computation run by run; `llave train` on MMEB-train-shaped rows computes nothing on padding; progress callbacks."""

import json

import pytest
import torch
from PIL import Image

from llave.inputs import _CACHES, input_cache, length_groups
from llave.model import LLaVE, tiny_llava_onevision
from llave.train import config_from_dict, train

COLOURS = ["red", "green", "blue", "yellow", "purple", "orange", "white", "black"]


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    "MMEB-train-shaped rows of three forms (image query, text query with an image target, text pair), images of two sizes."
    root = tmp_path_factory.mktemp("inputs")
    (root / "train").mkdir()
    rows = []
    for index, colour in enumerate(COLOURS):
        Image.new("RGB", (64, 64) if index % 2 else (96, 48), colour).save(root / f"{colour}.png")
        rows.append(
            {
                "qry": "<|image_1|> Represent the given image.",
                "qry_image_path": f"{colour}.png",
                "pos_text": f"a {colour} square" + " big" * index,
                "pos_image_path": "",
            }
        )
        rows.append(
            {
                "qry": f"Find me an everyday image that matches the given caption: a {colour} thing",
                "qry_image_path": "",
                "pos_text": "<|image_1|> Represent the given image.",
                "pos_image_path": f"{colour}.png",
            }
        )
    (root / "train" / "toy.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    model = tiny_llava_onevision(
        root / "model", corpus=[r["pos_text"] for r in rows] + [r["qry"] for r in rows], seed=0
    )
    return root, model


def config(toy, output_dir, **changes):
    root, model = toy
    values = dict(
        model=str(model),
        data=str(root / "train"),
        image_root=str(root),
        batch_size=8,
        max_steps=4,
        learning_rate=1e-3,
        warmup_ratio=0.0,
        tau=0.05,
        log_every=1,
        save_every=4,
        output_dir=str(output_dir),
        show_progress=False,
        freeze_vision=True,
        max_grad_norm=None,
        seed=1,
    )
    return config_from_dict({**values, **changes})


def losses(output_dir):
    return [json.loads(line)["loss"] for line in (output_dir / "metrics.jsonl").read_text().splitlines()]


@pytest.mark.parametrize(
    "changes",
    [dict(), dict(freeze_vision=False), dict(gradcache_chunk_size=4), dict(group_overhead=None, share_prefix=False)],
)
def test_cached_training_equals_the_padded_path(toy, tmp_path, changes):
    """Four steps: the same losses as the processor's padded batches (per side), and the same final weights: each
    within Adam's bound of one update a step (rounding can flip a near-zero gradient's sign), in the mean to 1% of
    how far training moved them."""
    _CACHES.clear()
    plain = config(toy, tmp_path / "plain", cache_inputs=False, **changes)
    cached = config(toy, tmp_path / "cached", **changes)
    train(plain), train(cached)
    assert losses(tmp_path / "plain") == pytest.approx(losses(tmp_path / "cached"), abs=2e-5)
    start = LLaVE.from_pretrained(toy[1]).state_dict()
    first = LLaVE.from_pretrained(tmp_path / "plain" / "checkpoint-4").state_dict()
    second = LLaVE.from_pretrained(tmp_path / "cached" / "checkpoint-4").state_dict()
    difference = torch.cat([(first[n] - second[n]).abs().flatten() for n in first])
    movement = torch.cat([(first[n] - start[n]).abs().flatten() for n in first])
    assert difference.max() <= 4 * plain.learning_rate * 1.01
    assert difference.mean() <= 0.01 * movement.mean()


def test_train_computes_nothing_on_padding(toy, tmp_path):
    "With `group_overhead=0` every forward of `llave train` sees rows of one length: no padded position is computed."
    root, model = toy
    masks, steps = [], []
    original = LLaVE.forward

    def spy(self, normalize=True, **batch):
        masks.append(batch["attention_mask"].clone())
        return original(self, normalize, **batch)

    LLaVE.forward = spy
    try:
        train(config(toy, tmp_path / "run", group_overhead=0), on_step=lambda step, total: steps.append((step, total)))
    finally:
        LLaVE.forward = original
    assert masks and all(bool(mask.all()) for mask in masks)
    assert steps == [(1, 4), (2, 4), (3, 4), (4, 4)]


def test_cache_is_shared_by_runs_of_one_start_only(toy):
    "Runs from the same frozen tower share a cache (and prepare each item once); another tower gets its own."
    root, path = toy
    _CACHES.clear()
    model = LLaVE.from_pretrained(path)
    first, again = input_cache(model), input_cache(LLaVE.from_pretrained(path))
    assert first is again
    other = LLaVE.from_pretrained(path)
    with torch.no_grad():
        next(other.model.model.vision_tower.parameters()).add_(1.0)
    assert input_cache(other) is not first
    assert input_cache(other, frozen_tower=False) is input_cache(model, frozen_tower=False)
    images = [str(root / "red.png"), None]
    first.items(["<image>\nx", "y"], images)
    first.items(["<image>\nx", "y"], images)
    assert first.prepared == 2


def test_length_groups_is_optimal_on_small_cases():
    "Against every contiguous cut of a sorted list: the DP's cost is the least."
    import itertools

    lengths = [3, 3, 4, 9, 9, 10, 30]

    def cost(ends, overhead):
        starts = [0] + ends[:-1]
        return sum((end - start) * lengths[end - 1] + overhead for start, end in zip(starts, ends))

    for overhead in (0, 5, 40, 1000):
        ends = length_groups(lengths, overhead)
        best = min(
            cost(list(cut) + [len(lengths)], overhead)
            for k in range(len(lengths))
            for cut in itertools.combinations(range(1, len(lengths)), k)
        )
        assert cost(ends, overhead) == best and ends[-1] == len(lengths)
