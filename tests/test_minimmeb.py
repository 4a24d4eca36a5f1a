"MMEB-mini: determinism (and the committed manifest), layout, hard negatives, held-out combinations, the CLI."

import csv
import json
import os
import pickle
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import pytest

from llave.minimmeb import (
    HELD_OUT,
    MINI_EVAL_DATASETS,
    MINI_TASKS,
    MINI_TRAIN_SUBSETS,
    MiniConfig,
    build_mini,
    committed_manifest,
    ensure_mini,
    mini_eval_dataset,
    mini_train_pairs,
    read_mp4,
    verify_mini,
)

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    return build_mini(tmp_path_factory.mktemp("a") / "mini", seed=0, config=MiniConfig.small())


@pytest.fixture(scope="module")
def full(tmp_path_factory):
    return build_mini(tmp_path_factory.mktemp("full") / "mmeb-mini", seed=0)


def manifest(root):
    return json.loads((Path(root) / "manifest.json").read_text())


def test_same_seed_same_bytes(small, tmp_path):
    again = build_mini(tmp_path / "again", seed=0, config=MiniConfig.small())
    assert manifest(again)["files"] == manifest(small)["files"]
    assert verify_mini(again, small / "manifest.json") == []
    other = build_mini(tmp_path / "other", seed=1, config=MiniConfig.small())
    assert manifest(other)["digest"] != manifest(small)["digest"]


def test_verify_detects_changes(small, tmp_path):
    copy = build_mini(tmp_path / "copy", seed=0, config=MiniConfig.small())
    (copy / "eval/Mini-Grounding.jsonl").write_text("{}\n")
    assert verify_mini(copy, small / "manifest.json") == ["eval/Mini-Grounding.jsonl: checksum differs"]
    from llave.minimmeb import summary

    assert "eval/Mini-Grounding.jsonl: differs" in verify_mini(copy, summary(manifest(small)))


@pytest.mark.slow
def test_full_build_matches_committed_manifest_and_budget(full):
    data = manifest(full)
    assert data["bytes"] <= 50e6
    reference = json.loads((REPO / "data/mmeb-mini.manifest.json").read_text())
    assert committed_manifest() == reference
    assert verify_mini(full, reference) == []


@pytest.mark.slow
def test_full_sizes(full):
    for name in MINI_EVAL_DATASETS:
        rows = mini_eval_dataset(name, full)
        assert len(rows) == 1000, name
        assert all(len(r.candidate_texts) == 9 for r in rows), name
    pairs = mini_train_pairs(full)
    assert 10000 <= len(pairs) <= 20000


def test_task_map_shape():
    reference = json.loads((REPO / "llave/reference/mmeb.json").read_text())["meta_tasks"]
    assert set(MINI_TASKS) == set(reference)
    assert all(set(v) == {"IND", "OOD"} and v["IND"] and v["OOD"] for v in MINI_TASKS.values())
    assert len(MINI_TRAIN_SUBSETS) == len(set(MINI_TRAIN_SUBSETS)) == 6


def test_every_eval_dataset_loads_with_distinct_candidates(small):
    for name in MINI_EVAL_DATASETS:
        rows = mini_eval_dataset(name, small, check_images=True)
        assert rows, name
        for r in rows:
            assert len(set(zip(r.candidate_texts, r.candidate_images))) == len(r.candidate_texts) == 9, (name, r.row)


def one_off(a, b):
    return sum(x != y for x, y in zip(a.split(), b.split())) == 1 and len(a.split()) == len(b.split())


def test_classification_negatives_are_one_attribute_off(small):
    for row in mini_eval_dataset("Mini-Classify-Object", small):
        assert sum(one_off(row.candidate_texts[0], t) for t in row.candidate_texts[1:]) >= 7


def test_i2t_negatives_are_near(small):
    for row in mini_eval_dataset("Mini-Retrieval-i2t", small):
        gold = row.candidate_texts[0]
        assert all(sorted(gold.split()) == sorted(t.split()) or one_off(gold, t) for t in row.candidate_texts[1:])


def test_edit_candidates_contain_unedited_image(small):
    for row in mini_eval_dataset("Mini-Retrieval-Edit", small):
        assert row.query_image in row.candidate_images[1:]


@pytest.mark.slow
def test_two_part_sets_show_five_objects_and_need_both_halves(full):
    """Format 4: each grounding or VQA picture's five objects are candidates (the picture heuristic: one in five); the
    other grounding candidates come from the same cell of other scenes; VQA-Outline asks about the outline scenes."""
    from llave.minimmeb import GRID_OBJECTS, PICTURE_FLOOR

    assert PICTURE_FLOOR == {name: 20.0 for name in PICTURE_FLOOR} and GRID_OBJECTS == 5
    for grounding, vqa, folder in (
        ("Mini-Grounding", "Mini-VQA-Scene", "refer"),
        ("Mini-Grounding-Outline", "Mini-VQA-Outline", "refer_outline"),
    ):
        grounding_rows, vqa_rows = mini_eval_dataset(grounding, full), mini_eval_dataset(vqa, full)
        assert len(grounding_rows) == len(vqa_rows) == 1000
        crops_of = {}
        for row in grounding_rows:
            stem = row.query_image.removesuffix(".png")
            assert Path(row.query_image).parent.name == folder
            own = [c for c in row.candidate_images if c.startswith(stem + "_crop")]
            assert len(own) == 5 and row.candidate_images[0] in own, row
            cell = row.query_text.rsplit("the object in the ", 1)[1]
            crops_of.setdefault(cell, set()).add(row.candidate_images[0])
        for row in grounding_rows:  # the words alone: the gold and four crops of the same cell, from other scenes
            cell = row.query_text.rsplit("the object in the ", 1)[1]
            stem = row.query_image.removesuffix(".png")
            others = [c for c in row.candidate_images if not c.startswith(stem + "_crop")]
            assert len(others) == 4 and all(c in crops_of[cell] for c in others), row
        answers = {}
        for row in vqa_rows:
            assert Path(row.query_image).parent.name == folder and "Which object is in the " in row.query_text
            answers.setdefault(row.query_image, set()).add(row.candidate_texts[0])
        for row in vqa_rows:  # every object of the picture is a candidate; the others are its objects resized
            scene = answers[row.query_image]
            resized = {("small" if p.startswith("large") else "large") + p[p.index(" ") :] for p in scene}
            assert len(scene) == 5 and scene <= set(row.candidate_texts), row
            assert set(row.candidate_texts) - scene <= resized and len(set(row.candidate_texts)) == 9, row
        from PIL import Image

        crops = sorted((full / "images/eval" / folder).glob("*_crop*.png"))
        assert len(crops) == 1000 and {Image.open(c).size for c in crops} == {(22, 22)}  # padded: one size


def test_held_out_combinations(small):
    def objects(text):
        words = text.replace(",", " ").split()
        return {(words[i], words[i + 1]) for i in range(len(words) - 1)}

    train = [
        p.target_text for p in mini_train_pairs(small) if p.subset in ("Mini_Classify_Object", "Mini_Retrieval_i2t")
    ]
    assert train and not any(objects(t) & HELD_OUT for t in train)
    novel = mini_eval_dataset("Mini-Classify-Novel", small)
    assert all(objects(r.candidate_texts[0]) & HELD_OUT for r in novel)
    for row in mini_eval_dataset("Mini-Retrieval-t2i", small):
        assert not objects(row.query_text) & HELD_OUT


def test_video_layouts(small):
    vtt = small / "video/mini_vtt"
    with open(vtt / "MSRVTT_JSFUSION_test.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["key", "vid_key", "video_id", "sentence"]
    assert len(rows) == MiniConfig.small().vtt_videos == len({r["video_id"] for r in rows})
    frames = read_mp4(vtt / f"videos/{rows[0]['video_id']}.mp4")
    assert len(frames) == MiniConfig.small().frames and frames[0].size == (64, 64)
    vd = small / "video/mini_vd"
    ids = (vd / "test_list.txt").read_text().split()
    captions = pickle.loads((vd / "raw-captions.pkl").read_bytes())
    assert sorted(ids) == sorted(captions) and len(ids) == MiniConfig.small().vd_videos
    assert all(len(c) == 3 and all(isinstance(t, list) and t for t in c) for c in captions.values())
    assert all((vd / f"videos/{i}.mp4").is_file() for i in ids)


def test_ensure_mini_reuses_existing(small):
    before = (small / "manifest.json").stat().st_mtime_ns
    assert ensure_mini(small) == small
    assert (small / "manifest.json").stat().st_mtime_ns == before


def test_cli(tmp_path, capsys):
    from llave.cli import build_parser

    args = build_parser(["llave.minimmeb"]).parse_args(
        ["data", "mini", "--out", str(tmp_path / "m"), "--seed", "2", "--small"]
    )
    assert args.func(args) == 0
    assert "MMEB-mini (seed 2)" in capsys.readouterr().out
    assert manifest(tmp_path / "m")["seed"] == 2
    assert verify_mini(tmp_path / "m") == []
