"""Tests of llave.eval (MMEB evaluation): P@1 ties, summaries, one encode per unique item, the CLI end to end,
resuming, and bad input caught before any encoding."""

import json
import math
import os
import random
import warnings
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np
import pytest
import torch
from PIL import Image

from llave.cli import build_parser
from llave.data import EvalRow, format_text
from llave.testing import HashingEncoder
from llave.eval import (
    EvalInputError,
    collect_items,
    correct_at_1,
    evaluate_datasets,
    evaluate_mmeb,
    mmeb_summary,
    precision_at_1,
    read_scores,
)


# ---------------------------------------------------------------- precision_at_1
def test_precision_at_1_hand_made_and_ties():
    scores = torch.tensor([[1.0, 0.0, 0.5], [0.2, 0.3, 0.1], [0.7, 0.7, 0.7], [0.1, 0.1, 0.2]])
    assert correct_at_1(scores).tolist() == [True, False, True, False]
    assert precision_at_1(scores) == 50.0
    assert precision_at_1(scores.numpy()) == 50.0  # numpy input works too
    assert precision_at_1(torch.tensor([[0.0, -0.0]])) == 100.0  # -0.0 == 0.0: a tie


def test_precision_at_1_matches_first_argmax_on_ties():
    rng = np.random.default_rng(1)
    for width in (1, 2, 5, 40):
        scores = rng.integers(0, 2, size=(500, width)).astype(np.float32)
        expected = (np.argmax(scores, axis=1) == 0).mean() * 100
        assert precision_at_1(torch.from_numpy(scores)) == pytest.approx(expected)


def test_precision_at_1_rejects_bad_matrices():
    with pytest.raises(ValueError, match="NaN"):
        precision_at_1(torch.tensor([[0.5, float("nan")]]))
    with pytest.raises(ValueError, match="non-empty 2-D"):
        precision_at_1(torch.zeros(2, 0))
    with pytest.raises(ValueError, match="not finite"):
        precision_at_1(torch.tensor([[math.inf, 0.0]]))


# ---------------------------------------------------------------- mmeb_summary
def test_mmeb_summary_hand_made():
    scores = {"VOC2007": 80.0, "ObjectNet": 20.0, "CIRR": 40.0, "RefCOCO": 90.0, "MSCOCO": 70.0}
    with pytest.warns(UserWarning, match="31 of the 36 MMEB datasets are missing"):
        summary = mmeb_summary(scores)
    assert summary["Classification"] == 50.0 and summary["VQA"] is None
    assert summary["Retrieval"] == 40.0 and summary["Grounding"] == 80.0
    assert summary["IND"] == pytest.approx((80 + 40 + 70) / 3) and summary["OOD"] == 55.0
    assert summary["Overall"] == 60.0
    assert summary["benchmark"] == "MMEB" and summary["num_datasets"] == 5
    assert len(summary["missing"]) == 31 and "OK-VQA" in summary["missing"] and "CIRR" not in summary["missing"]


def test_mmeb_summary_full_run_has_no_missing_and_no_warning():
    reference = json.loads((Path(__import__("llave").__file__).parent / "reference" / "mmeb.json").read_text())
    names = [n for splits in reference["meta_tasks"].values() for ns in splits.values() for n in ns]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        summary = mmeb_summary({name: 50.0 for name in names})
    assert summary["missing"] == [] and summary["Overall"] == 50.0


def test_mmeb_summary_rejects_unknown_names():
    with pytest.raises(ValueError, match=r"unknown dataset names \['Nope'\]"):
        mmeb_summary({"ImageNet-1K": 1.0, "Nope": 2.0})


def test_mmeb_summary_mini_names():
    from llave import minimmeb

    names = [n for splits in minimmeb.MINI_TASKS.values() for ns in splits.values() for n in ns]
    summary = mmeb_summary({name: 10.0 * (i % 3) for i, name in enumerate(names)}, warn=False)
    assert summary["benchmark"] == "MMEB-mini" and summary["missing"] == []
    assert summary["Overall"] == pytest.approx(np.mean([10.0 * (i % 3) for i in range(len(names))]))
    with pytest.warns(UserWarning, match="MMEB-mini datasets are missing"):
        assert mmeb_summary({names[0]: 5.0})["missing"] == names[1:]


# ---------------------------------------------------------------- pipeline vs a naive reference
def random_datasets(seed: int) -> dict[str, list[EvalRow]]:
    "Ragged rows with heavy reuse of items within and across datasets, exact duplicates and gold copies."
    rng = random.Random(seed)
    words = ["red", "blue", "cat", "dog", "car", "tree", "big", "small"]
    pool = [
        (" ".join(rng.sample(words, rng.randint(1, 3))), rng.choice([None, None, f"/img/{rng.randint(0, 9)}.png"]))
        for _ in range(30)
    ]
    datasets = {}
    for d in range(3):
        rows = []
        for r in range(rng.randint(5, 25)):
            candidates = [rng.choice(pool) for _ in range(rng.randint(1, 8))]
            if rng.random() < 0.3:
                candidates.insert(rng.randint(1, len(candidates)), candidates[0])  # a copy of the gold: a tie
            query = rng.choice(pool)
            rows.append(EvalRow(query[0], query[1], [c[0] for c in candidates], [c[1] for c in candidates], f"d{d}", r))
        datasets[f"d{d}"] = rows
    return datasets


def naive_correct(encoder, rows) -> int:
    correct = 0
    for row in rows:
        query = encoder.encode(texts=[row.query_text], images=[row.query_image])[0]
        candidates = encoder.encode(texts=row.candidate_texts, images=row.candidate_images)
        correct += int(np.argmax((candidates @ query).numpy()) == 0)
    return correct


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_evaluate_datasets_matches_naive_and_encodes_each_item_once(seed):
    datasets, encoder = random_datasets(seed), HashingEncoder(dim=8)  # small dim: many ties and collisions
    unique = {
        (text, image)
        for rows in datasets.values()
        for row in rows
        for text, image in [(row.query_text, row.query_image), *zip(row.candidate_texts, row.candidate_images)]
    }
    records, stats = evaluate_datasets(encoder, datasets, batch_size=3, log=None)
    for name, rows in datasets.items():
        assert records[name]["num_correct"] == naive_correct(encoder, rows)
        assert records[name]["num_pred"] == len(rows)
        assert records[name]["acc"] == pytest.approx(records[name]["num_correct"] / len(rows))
    assert stats["unique_items"] == stats["encoded_items"] == len(unique)
    assert stats["naive_items"] == sum(1 + len(r.candidate_texts) for rows in datasets.values() for r in rows)


def test_collect_items_shares_items_between_datasets():
    a = [EvalRow("q", None, ["x", "y"], [None, "/i/1.png"], "a", 0)]
    b = [EvalRow("q", None, ["y", "x"], [None, "/i/../i/1.png"], "b", 0)]
    table = collect_items({"a": a, "b": b})
    assert len(table.items) == 5  # q, x, y+image (a), then y, x+image (b): the image path is normalised
    assert table.candidates["b"].tolist() == [[3, 4]]
    assert table.queries["a"].tolist() == table.queries["b"].tolist() == [0]


# ---------------------------------------------------------------- the command on local MMEB-format data
def write_mmeb_dir(root: Path, n_rows: int = 6) -> Path:
    "A local MMEB-eval-format directory: ImageNet-1K and ImageNet-A share their label candidates; MSCOCO_t2i has image candidates."
    images = root / "images"
    images.mkdir(parents=True)
    colours = {"red": (230, 20, 20), "green": (20, 200, 20), "blue": (20, 20, 230), "white": (250, 250, 250)}
    for name, rgb in colours.items():
        Image.new("RGB", (32, 32), rgb).save(images / f"{name}.png")
    data = root / "eval"
    data.mkdir()
    labels = list(colours)

    def write(name, rows):
        with open(data / f"{name}.jsonl", "w") as handle:
            for row in rows:
                handle.write(json.dumps(row) + "\n")

    classify = lambda k: {
        "qry_text": "<|image_1|> Represent the given image for classification",
        "qry_img_path": f"images/{labels[k % 4]}.png",
        "tgt_text": [labels[k % 4]] + [l for l in labels if l != labels[k % 4]],
        "tgt_img_path": [""] * 4,
    }
    write("ImageNet-1K", [classify(k) for k in range(n_rows)])
    write("ImageNet-A", [classify(k + 1) for k in range(n_rows)])
    write(
        "MSCOCO_t2i",
        [
            {
                "qry_text": f"a {labels[k % 4]} picture",
                "qry_img_path": "",
                "tgt_text": ["<|image_1|> Represent the given image."] * (2 + k % 3),
                "tgt_img_path": [f"images/{labels[(k + j) % 4]}.png" for j in range(2 + k % 3)],
            }
            for k in range(n_rows)
        ],
    )
    return root


def unique_items(data: Path, names, max_rows=None) -> set:
    "Unique (formatted text, absolute image) items of the given datasets, computed straight from the files."
    items = set()
    for name in names:
        for line in (data / "eval" / f"{name}.jsonl").read_text().splitlines()[:max_rows]:
            row = json.loads(line)
            pairs = [(row["qry_text"], row["qry_img_path"])] + list(zip(row["tgt_text"], row["tgt_img_path"]))
            for text, image in pairs:
                path = str((data / image).resolve()) if image else None
                items.add((format_text(text, path is not None), path))
    return items


class NoEncoder:
    "Fails if anything is encoded: bad input must be caught before encoding."

    def encode(self, **kwargs):
        raise AssertionError("encode was called")


class CountingHashEncoder(HashingEncoder):
    def __init__(self):
        super().__init__(dim=32)
        self.items, self.encode_calls = [], 0

    def encode(self, texts=None, images=None, **kwargs):
        self.items += list(zip(texts, images or [None] * len(texts)))
        self.encode_calls += 1
        return super().encode(texts=texts, images=images, **kwargs)


def test_evaluate_mmeb_writes_scores_resumes_and_overwrites(tmp_path):
    data, out = write_mmeb_dir(tmp_path / "data"), tmp_path / "out"
    encoder = CountingHashEncoder()
    summary = evaluate_mmeb("stub", str(data), str(out), encoder=encoder, log=lambda m: None)
    names = ["ImageNet-1K", "ImageNet-A", "MSCOCO_t2i"]
    assert len(encoder.items) == len(set(encoder.items)) == len(unique_items(data, names))
    for name in names:
        record = json.loads((out / f"{name}_score.json").read_text())
        assert set(record) >= {"acc", "num_correct", "num_pred"} and record["num_pred"] == 6
    assert not [p for p in out.iterdir() if p.name.endswith(".tmp")]
    saved = json.loads((out / "summary.json").read_text())
    assert saved["summary"] == summary and set(saved["per_dataset"]) == set(names)
    assert saved["encoding"]["encoded_items"] == len(encoder.items)
    markdown = (out / "summary.md").read_text()
    assert "LLaVE-7B (paper)" in markdown and "Missing 33 datasets" in markdown
    # a re-run scores nothing (the encoder would fail) and gives the same summary
    again = evaluate_mmeb("stub", str(data), str(out), encoder=NoEncoder(), log=lambda m: None)
    assert again == summary
    # --overwrite redoes the requested datasets only
    (out / "ImageNet-A_score.json").write_text(
        json.dumps({"acc": 0.0, "num_correct": 0, "num_pred": 6, "max_rows": None})
    )
    encoder = CountingHashEncoder()
    evaluate_mmeb(
        "stub", str(data), str(out), subsets=["ImageNet-A"], overwrite=True, encoder=encoder, log=lambda m: None
    )
    assert json.loads((out / "ImageNet-A_score.json").read_text())["acc"] == saved["per_dataset"]["ImageNet-A"] / 100
    assert len(encoder.items) == len(unique_items(data, ["ImageNet-A"]))


def test_max_rows_and_mismatch_with_existing_scores(tmp_path):
    data, out = write_mmeb_dir(tmp_path / "data"), tmp_path / "out"
    encoder = CountingHashEncoder()
    evaluate_mmeb("stub", str(data), str(out), subsets=["MSCOCO_t2i"], max_rows=2, encoder=encoder, log=lambda m: None)
    assert json.loads((out / "MSCOCO_t2i_score.json").read_text())["num_pred"] == 2
    assert len(encoder.items) == len(unique_items(data, ["MSCOCO_t2i"], max_rows=2))
    with pytest.raises(EvalInputError, match="scored with max_rows=2, this run asks max_rows=None"):
        evaluate_mmeb("stub", str(data), str(out), subsets=["MSCOCO_t2i"], encoder=NoEncoder(), log=lambda m: None)
    (out / "MSCOCO_t2i_score.json").write_text("{not json")
    with pytest.raises(EvalInputError, match="unreadable score file"):
        read_scores(out, ["MSCOCO_t2i"], 2)


def run_cli(argv, capsys):
    args = build_parser(["llave.eval"]).parse_args(["eval", "mmeb", *argv])
    status = args.func(args)
    return status, capsys.readouterr().err


def test_cli_bad_input_fails_before_encoding(tmp_path, capsys, monkeypatch):
    data, model = write_mmeb_dir(tmp_path / "data"), tmp_path / "model"
    model.mkdir()
    import llave.eval

    monkeypatch.setattr(llave.eval, "load_encoder", lambda *a, **k: NoEncoder())
    out = str(tmp_path / "out")
    base = ["--model", str(model), "--out", out]
    cases = [
        (["--data", str(data), "--subsets", "ImageNet-1K", "Bogus"], "unknown dataset names ['Bogus']"),
        (["--data", str(data / "eval"), "--image-root", str(tmp_path / "nope")], "--image-root"),
        (["--data", str(data / "eval")], "--image-root is required"),
        (["--data", str(tmp_path / "missing")], "no such directory"),
        (["--data", str(data), "--max-rows", "0"], "--max-rows must be positive"),
        (["--data", str(data), "--model", str(tmp_path / "no-model")], "--model"),
    ]
    for extra, message in cases:
        status, err = run_cli(base + extra, capsys)
        assert status == 2 and message in err, (extra, err)
    (data / "eval" / "ImageNet-R.jsonl").write_text("")
    status, err = run_cli(base + ["--data", str(data), "--subsets", "ImageNet-1K", "ImageNet-R"], capsys)
    assert status == 2 and "dataset ImageNet-R is empty" in err
    (data / "eval" / "ImageNet-R.jsonl").unlink()
    (data / "images" / "blue.png").unlink()
    status, err = run_cli(base + ["--data", str(data)], capsys)
    assert status == 2 and "image not found" in err and "blue.png" in err
    assert not Path(out).exists() or not list(Path(out).glob("*_score.json"))


# ---------------------------------------------------------------- the tiny model, end to end
@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    from llave import model

    return model.tiny_llava_onevision(tmp_path_factory.mktemp("tiny") / "model", seed=0)


def count_forward_rows(monkeypatch):
    "Patch LLaVE.from_pretrained so the loaded model counts the rows that go through its transformer."
    from llave.model import LLaVE

    rows = []
    original = LLaVE.from_pretrained.__func__

    def load(cls, *args, **kwargs):
        encoder = original(cls, *args, **kwargs)
        encoder.model.model.register_forward_hook(
            lambda module, args, kwargs, output: rows.append(kwargs["input_ids"].shape[0]), with_kwargs=True
        )
        return encoder

    monkeypatch.setattr(LLaVE, "from_pretrained", classmethod(load))
    return rows


def test_cli_tiny_model_one_forward_per_unique_item(tmp_path, capsys, monkeypatch, tiny_model):
    data, out = write_mmeb_dir(tmp_path / "data"), tmp_path / "out"
    rows = count_forward_rows(monkeypatch)
    status, err = run_cli(
        ["--model", str(tiny_model), "--data", str(data), "--out", str(out), "--batch-size", "4"], capsys
    )
    assert status == 0, err
    names = ["ImageNet-1K", "ImageNet-A", "MSCOCO_t2i"]
    assert sum(rows) == len(unique_items(data, names))
    saved = json.loads((out / "summary.json").read_text())
    assert saved["encoding"]["encoded_items"] == sum(rows)
    assert saved["encoding"]["naive_items"] > sum(rows)
    for name in names:
        record = json.loads((out / f"{name}_score.json").read_text())
        assert record["num_pred"] == 6 and 0 <= record["num_correct"] <= 6


def test_cli_tiny_model_on_mmeb_mini(tmp_path, capsys, monkeypatch, tiny_model):
    from llave import minimmeb

    root = minimmeb.build_mini(tmp_path / "mini", config=minimmeb.MiniConfig.small())
    names = sorted(p.stem for p in (Path(root) / "eval").glob("*.jsonl"))
    rows = count_forward_rows(monkeypatch)
    out = tmp_path / "out"
    status, err = run_cli(
        ["--model", str(tiny_model), "--data", str(root), "--out", str(out), "--max-rows", "3", "--batch-size", "32"],
        capsys,
    )
    assert status == 0, err
    assert sum(rows) == len(unique_items(Path(root), names, max_rows=3))
    saved = json.loads((out / "summary.json").read_text())
    assert saved["summary"]["benchmark"] == "MMEB-mini" and saved["summary"]["missing"] == []
    assert set(saved["per_dataset"]) == set(names)
    assert all(json.loads((out / f"{n}_score.json").read_text())["num_pred"] == 3 for n in names)


@pytest.mark.slow
def test_two_processes_score_exactly_as_one(tmp_path):
    """`torchrun --nproc_per_node=2 -m llave eval mmeb`: the ranks share the unique items, rank 0 writes; every
    dataset's score equals one process's, and the ranks together encoded each item once."""
    from llave import minimmeb
    from llave.cli import main
    from llave.mini.pretrain import pretrained_model
    from torchrun import run_torchrun

    root = minimmeb.build_mini(tmp_path / "mini", config=minimmeb.MiniConfig.small())
    command = [
        "eval",
        "mmeb",
        "--model",
        str(pretrained_model()),
        "--data",
        str(root),
        "--max-rows",
        "12",
        "--batch-size",
        "8",
        "--subsets",
        "Mini-Classify-Object",
        "Mini-Retrieval-t2i",
        "Mini-VQA-Scene",
    ]
    assert main(command + ["--out", str(tmp_path / "one")]) == 0
    result = run_torchrun(["-m", "llave"] + command + ["--out", str(tmp_path / "two")], clean=tmp_path / "two")
    assert result.returncode == 0, result.stdout + result.stderr
    one, two = (json.loads((tmp_path / out / "summary.json").read_text()) for out in ("one", "two"))
    assert one["per_dataset"] == two["per_dataset"] and two["encoding"]["processes"] == 2
    assert two["encoding"]["encoded_items"] <= (one["encoding"]["encoded_items"] + 1) // 2 + 3  # rank 0's share
    assert result.stdout.count("Mini-VQA-Scene: P@1") == 1  # rank 0 alone reports


class Interrupted(CountingHashEncoder):
    "Stops the run (as a kill would) at its `calls`-th encode call."

    def __init__(self, calls: int):
        super().__init__()
        self.calls = calls

    def encode(self, texts=None, images=None, **kwargs):
        self.calls -= 1
        if self.calls < 0:
            raise KeyboardInterrupt
        return super().encode(texts=texts, images=images, **kwargs)


def test_an_interrupted_run_resumes_inside_a_dataset(tmp_path, monkeypatch):
    "Stopped during MSCOCO_t2i, the run starts again where it stopped: no item encoded twice, the same scores."
    from llave import eval as evaluation

    monkeypatch.setattr(evaluation, "STORE_CHUNK", 2)  # a file every 2 items
    data = write_mmeb_dir(tmp_path / "data", n_rows=12)
    run = lambda encoder, out: evaluation.evaluate_mmeb(
        "m", str(data / "eval"), str(out), image_root=str(data), encoder=encoder, log=None, batch_size=2
    )
    reference = CountingHashEncoder()
    expected = run(reference, tmp_path / "reference")
    first = Interrupted(calls=reference.encode_calls - 2)  # stopped two calls before the end
    with pytest.raises(KeyboardInterrupt):
        run(first, tmp_path / "out")
    stored = list((tmp_path / "out" / ".embeddings").glob("*/*.safetensors"))
    assert [p.parent.name for p in stored] == ["MSCOCO_t2i"] * len(stored) and stored  # stopped inside the last one
    second = CountingHashEncoder()
    assert run(second, tmp_path / "out") == expected
    assert sorted(first.items + second.items, key=repr) == sorted(reference.items, key=repr)  # each item once
    assert not list((tmp_path / "out" / ".embeddings").glob("*/*.safetensors"))  # cleared when scored


def test_worker_processes_give_the_same_scores(tmp_path):
    "`--workers 2`: images decoded and prepared in two processes while the model runs; every score as without them."
    from llave import minimmeb
    from llave.cli import main
    from llave.mini.pretrain import pretrained_model

    root = minimmeb.build_mini(tmp_path / "mini", config=minimmeb.MiniConfig.small())
    command = [
        "eval",
        "mmeb",
        "--model",
        str(pretrained_model()),
        "--data",
        str(root),
        "--max-rows",
        "12",
        "--batch-size",
        "4",
        "--subsets",
        "Mini-Classify-Object",
        "Mini-Retrieval-i2t",
        "Mini-Grounding",
    ]
    assert main(command + ["--out", str(tmp_path / "plain")]) == 0
    assert main(command + ["--out", str(tmp_path / "workers"), "--workers", "2"]) == 0
    plain, workers = (json.loads((tmp_path / out / "summary.json").read_text()) for out in ("plain", "workers"))
    assert plain["per_dataset"] == workers["per_dataset"]

    class Plain:
        def encode(self, texts=None, images=None, batch_size=32):
            return torch.zeros(len(texts), 4)

    from llave.eval import WorkerEncoder

    with pytest.raises(EvalInputError, match="--workers: Plain.encode takes no num_workers"):
        WorkerEncoder(Plain(), 2)


def test_one_progress_bar_per_dataset_reaches_its_items(tmp_path, monkeypatch):
    "A bar per dataset that encodes anything, counting its items to the end; ImageNet-A's items were all ImageNet-1K's."
    from llave import eval as evaluation

    bars = []

    class Bar:
        def __init__(self, total, desc, **kwargs):
            self.total, self.desc, self.n, self.closed = total, desc, 0, False
            bars.append(self)

        def update(self, n):
            self.n += n

        def close(self):
            self.closed = True

    monkeypatch.setattr(evaluation, "tqdm", Bar)
    data = write_mmeb_dir(tmp_path / "data")
    evaluate_mmeb(
        "m",
        str(data / "eval"),
        str(tmp_path / "out"),
        image_root=str(data),
        encoder=HashingEncoder(dim=8),
        log=None,
        show_progress=True,
        batch_size=2,
    )
    assert [(bar.desc, bar.n, bar.closed) for bar in bars] == [("ImageNet-1K", 8, True), ("MSCOCO_t2i", 8, True)]
    assert all(bar.n == bar.total for bar in bars)


@pytest.mark.slow
def test_mmeb_v2_two_processes_score_exactly_as_one(tmp_path):
    """`torchrun --nproc_per_node=2 -m llave eval mmeb-v2` on MMEB-mini-V2 (small): the ranks share every set's items
    (videos, pages, texts; `shard_map`), rank 0 writes; every score equals one process's."""
    from llave.cli import main
    from llave.mini.pretrain import pretrained_model
    from llave.minimmeb_v2 import MiniV2Config, build_mini_v2
    from torchrun import run_torchrun

    root = build_mini_v2(tmp_path / "v2", config=MiniV2Config.small())
    command = ["eval", "mmeb-v2", "--model", str(pretrained_model()), "--data", str(root), "--batch-size", "4"]
    assert main(command + ["--out", str(tmp_path / "one")]) == 0
    result = run_torchrun(["-m", "llave"] + command + ["--out", str(tmp_path / "two")], clean=tmp_path / "two")
    assert result.returncode == 0, result.stdout + result.stderr
    one, two = (json.loads((tmp_path / out / "summary.json").read_text()) for out in ("one", "two"))
    assert set(one["per_dataset"]) == {"Mini-V-CLS", "Mini-V-QA", "Mini-V-RET", "Mini-V-MRET", "Mini-VisDoc"}
    assert one["per_dataset"] == pytest.approx(two["per_dataset"], abs=1e-6)
    assert result.stdout.count("Mini-VisDoc: ndcg_linear@5") == 1  # rank 0 alone reports


def test_mmeb_v2_sampling_options_and_declared_sets(tmp_path, capsys):
    "`--frames 8 NAME=N` / `--fps` parse per dataset with clear errors; a bad datasets.json names the file and entry."
    from llave.cli import main
    from llave.core import InputError
    from llave.data import DataError
    from llave.mmeb_v2 import per_dataset, sampling_values, v2_entries

    frames = sampling_values(["8", "Mini-V-QA=16"], int, "--frames")
    assert (per_dataset(frames, "Mini-V-QA", 8), per_dataset(frames, "K700", 4)) == (16, 8)
    assert per_dataset(sampling_values(["K700=2"], float, "--fps"), "MSVD") is None
    with pytest.raises(InputError, match="--frames K700=x: expected a number or NAME=number"):
        sampling_values(["K700=x"], int, "--frames")
    with pytest.raises(InputError, match="--fps 0: must be positive"):
        sampling_values(["0"], float, "--fps")
    (tmp_path / "datasets.json").write_text(json.dumps({"datasets": [{"name": "Mine", "modality": "Video"}]}))
    with pytest.raises(DataError, match=r"datasets.json: dataset 0: missing \['task', 'metric', 'format'\]"):
        v2_entries(tmp_path)
    entry = {"name": "Mine", "modality": "Video", "task": "CLS", "metric": "hit@1", "format": "K701"}
    (tmp_path / "datasets.json").write_text(json.dumps({"datasets": [entry]}))
    with pytest.raises(DataError, match="format 'K701' unknown, or not of modality 'Video'"):
        v2_entries(tmp_path)
    for change, message in (
        ({"format": "K700", "modality": "VisDoc"}, "format 'K700' unknown, or not of modality 'VisDoc'"),
        ({"format": "K700", "name": "MSVD"}, "the name 'MSVD' is already taken"),
    ):
        (tmp_path / "datasets.json").write_text(json.dumps({"datasets": [{**entry, **change}]}))
        with pytest.raises(DataError, match=message):
            v2_entries(tmp_path)
    command = ["eval", "mmeb-v2", "--model", "m", "--data", str(tmp_path), "--out", str(tmp_path / "o")]
    assert main(command + ["--frames", "many"]) == 2
    assert "--frames many: expected a number or NAME=number" in capsys.readouterr().err


def test_mmeb_v2_on_a_folder_of_declared_sets(tmp_path):
    "MMEB-mini-V2 scored by name: its own summary (5 of 5 sets, none missing); a mistyped NAME= is an error."
    from llave.core import InputError
    from llave.minimmeb_v2 import MINI_V2_DATASETS, MiniV2Config, build_mini_v2
    from llave.mmeb_v2 import evaluate_v2
    from llave.testing import HashingEncoder

    class VideoHashing(HashingEncoder):
        def encode_video(self, videos, texts=None, **kwargs):
            return self.encode(texts=texts, images=[f"clip{len(v)}" for v in videos])

    root = build_mini_v2(tmp_path / "v2", config=MiniV2Config.small())
    with pytest.raises(InputError, match=r"--frames: \['Mini-V-QAA'\] are not among the datasets evaluated"):
        evaluate_v2(None, root, tmp_path / "out", encoder=VideoHashing(), frames={None: 8, "Mini-V-QAA": 4}, log=None)
    summary = evaluate_v2(None, root, tmp_path / "out", encoder=VideoHashing(), frames={"Mini-V-QA": 4}, log=None)
    assert (summary["num_datasets"], summary["missing"], summary["Image"]) == (5, [], None)
    assert "5 of 5 datasets scored" in (tmp_path / "out" / "summary.md").read_text()
    assert {d["name"] for d in MINI_V2_DATASETS} == set(
        json.loads((tmp_path / "out" / "summary.json").read_text())["per_dataset"]
    )
