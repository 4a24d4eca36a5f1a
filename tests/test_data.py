"Loaders of llave.data on hand-written fixtures and on MMEB-mini; every bad-input case; the batch sampler."

import json
import os
import warnings

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PIL import Image

from llave.core import dataset_task
from llave.data import (
    DataError,
    EvalRow,
    ModalityBatchSampler,
    TrainPair,
    format_text,
    load_eval_dataset,
    load_image,
    load_train_pairs,
)
from llave.minimmeb import MINI_TRAIN_SUBSETS, MiniConfig, build_mini, mini_eval_dataset, mini_train_pairs

TRAIN = [
    {
        "qry": "<|image_1|>\nRepresent the given image for classification",
        "qry_image_path": "images/a.png",
        "pos_text": "tench",
        "pos_image_path": "",
    },
    {
        "qry": "Find me an everyday image that matches the given caption: a red square",
        "qry_image_path": "",
        "pos_text": "<|image_1|>\nRepresent the given image.",
        "pos_image_path": "images/b.png",
    },
    {
        "qry": "<|image_1|>\nFind an image caption describing the given everyday image.",
        "qry_image_path": "images/b.png",
        "pos_text": "a blue square",
        "pos_image_path": "",
    },
]
EVAL = [
    {
        "qry_text": "<|image_1|>\nRepresent the given image for classification",
        "qry_img_path": "images/a.png",
        "tgt_text": ["tench", "goldfish", "shark"],
        "tgt_img_path": ["", "", ""],
    },
    {
        "qry_text": "Find me an everyday image that matches the given caption: red",
        "qry_img_path": "",
        "tgt_text": ["<|image_1|>\nRepresent the given image.", "<|image_1|>\nRepresent the given image."],
        "tgt_img_path": ["images/a.png", "images/b.png"],
    },
]


def write_jsonl(path, rows):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


@pytest.fixture
def root(tmp_path):
    (tmp_path / "images").mkdir()
    Image.new("RGB", (8, 8), "red").save(tmp_path / "images/a.png")
    Image.new("RGB", (8, 8), "blue").save(tmp_path / "images/b.png")
    write_jsonl(tmp_path / "Toy.jsonl", TRAIN)
    write_jsonl(tmp_path / "Toy-Eval.jsonl", EVAL)
    return tmp_path


def test_format_text():
    assert format_text("<|image_1|>\nRepresent the given image.", True) == "<image>\nRepresent the given image."
    assert format_text("  <|image_2|>  caption ", False) == "    caption "  # markers dropped, the rest verbatim
    assert format_text("plain", False) == "plain"


def test_train_pairs_jsonl(root):
    pairs = load_train_pairs(root, ["Toy"], check_images=True)
    assert [p.row for p in pairs] == [0, 1, 2]
    assert pairs[0] == TrainPair(
        "<image>\nRepresent the given image for classification", str(root / "images/a.png"), "tench", None, "Toy", 0
    )
    assert pairs[1].query_image is None and pairs[1].target_image == str(root / "images/b.png")
    assert pairs[1].target_text == "<image>\nRepresent the given image."


def test_first_rows_not_a_sample(root):
    assert [p.row for p in load_train_pairs(root, "Toy", max_rows=2)] == [0, 1]


def test_json_and_parquet_and_snapshot_layouts(root):
    (root / "AsJson.json").write_text(json.dumps(TRAIN))
    pq.write_table(pa.Table.from_pylist(TRAIN), root / "AsParquet.parquet")
    snapshot = root / "Snap"
    snapshot.mkdir()
    pq.write_table(pa.Table.from_pylist(TRAIN[:2]), snapshot / "original-00000-of-00002.parquet")
    pq.write_table(pa.Table.from_pylist(TRAIN[2:]), snapshot / "original-00001-of-00002.parquet")
    pq.write_table(pa.Table.from_pylist(TRAIN[:1]), snapshot / "diverse_instruction-00000-of-00001.parquet")
    reference = load_train_pairs(root, "Toy")
    for name in ("AsJson", "AsParquet", "Snap"):
        pairs = load_train_pairs(root, name)
        assert [(p.query_text, p.query_image, p.target_text, p.target_image) for p in pairs] == [
            (p.query_text, p.query_image, p.target_text, p.target_image) for p in reference
        ]
    assert len(load_train_pairs(root, "Snap", split="diverse_instruction")) == 1
    assert len(load_train_pairs(root, "Snap", max_rows=1)) == 1


def test_image_root(root, tmp_path_factory):
    elsewhere = tmp_path_factory.mktemp("tables")
    write_jsonl(elsewhere / "Toy.jsonl", TRAIN)
    pairs = load_train_pairs(elsewhere, "Toy", image_root=root, check_images=True)
    assert pairs[0].query_image == str(root / "images/a.png")


def test_missing_columns_names_file_expected_and_found(root):
    write_jsonl(root / "NoPos.jsonl", [{"qry": "q", "qry_image_path": "", "pos_text": "t"}])
    with pytest.raises(DataError) as error:
        load_train_pairs(root, "NoPos")
    message = str(error.value)
    assert "NoPos.jsonl" in message and "missing columns ['pos_image_path']" in message
    assert "expected ['qry', 'qry_image_path', 'pos_text', 'pos_image_path']" in message
    assert "found ['pos_text', 'qry', 'qry_image_path']" in message
    write_jsonl(root / "EvalNoTgt.jsonl", [{"qry_text": "q", "qry_img_path": "", "tgt_text": ["a"]}])
    with pytest.raises(DataError, match=r"EvalNoTgt.jsonl: missing columns \['tgt_img_path'\]"):
        load_eval_dataset(root, "EvalNoTgt")


def test_missing_subset_names_source(root):
    with pytest.raises(DataError, match="no data for 'Nope'"):
        load_train_pairs(root, "Nope")


def test_missing_image_names_subset_row_path(root):
    (root / "images/b.png").unlink()
    with pytest.raises(DataError) as error:
        load_train_pairs(root, "Toy", check_images=True)
    assert "subset 'Toy', row 1" in str(error.value) and "not found" in str(error.value)
    assert str(root / "images/b.png") in str(error.value)


def test_corrupt_image_names_subset_row_path(root):
    (root / "images/a.png").write_bytes(b"\x89PNG garbage")
    with pytest.raises(DataError) as error:
        load_train_pairs(root, "Toy", check_images=True)
    assert "subset 'Toy', row 0: corrupt or unreadable image" in str(error.value)
    assert str(root / "images/a.png") in str(error.value)
    with pytest.raises(DataError, match="row 0"):
        load_eval_dataset(root, "Toy-Eval", check_images=True)


def test_skip_bad_counts_and_reports(root):
    (root / "images/b.png").unlink()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        pairs = load_train_pairs(root, "Toy", skip_bad=True)
    assert [p.row for p in pairs] == [0]
    assert [(s, r) for s, r, _, _ in pairs.skipped] == [("Toy", 1), ("Toy", 2)]
    assert any("Toy: skipped 2 row(s)" in str(w.message) for w in caught)
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        rows = load_eval_dataset(root, "Toy-Eval", skip_bad=True)
    assert [r.row for r in rows] == [0] and rows.skipped[0][:2] == ("Toy-Eval", 1)


def test_load_image(root):
    assert load_image(root / "images/a.png").size == (8, 8)
    with pytest.raises(DataError, match=r"subset 'S', row 4: image file not found: .*x\.jpg"):
        load_image(root / "x.jpg", subset="S", row=4)


def test_eval_rows(root):
    rows = load_eval_dataset(root, "Toy-Eval", check_images=True)
    assert rows[0] == EvalRow(
        "<image>\nRepresent the given image for classification",
        str(root / "images/a.png"),
        ["tench", "goldfish", "shark"],
        [None, None, None],
        "Toy-Eval",
        0,
    )
    assert rows[1].candidate_texts == ["<image>\nRepresent the given image."] * 2
    assert rows[1].candidate_images == [str(root / "images/a.png"), str(root / "images/b.png")]


def test_uneven_candidates_name_the_row(root):
    bad = EVAL + [{"qry_text": "q", "qry_img_path": "", "tgt_text": ["a", "b", "c"], "tgt_img_path": ["", ""]}]
    write_jsonl(root / "Uneven.jsonl", bad)
    with pytest.raises(DataError, match="Uneven.jsonl: row 2: tgt_text has 3 candidates but tgt_img_path has 2"):
        load_eval_dataset(root, "Uneven")


def test_empty_candidates_name_the_row(root):
    write_jsonl(root / "Empty.jsonl", [{"qry_text": "q", "qry_img_path": "", "tgt_text": [], "tgt_img_path": []}])
    with pytest.raises(DataError, match="Empty.jsonl: row 0: empty candidate list"):
        load_eval_dataset(root, "Empty")


def test_bad_json_line(root):
    (root / "Broken.jsonl").write_text(json.dumps(TRAIN[0]) + "\n{oops\n")
    with pytest.raises(DataError, match="Broken.jsonl: line 2 is not JSON"):
        load_train_pairs(root, "Broken")


def test_dataset_task():
    assert dataset_task("MSCOCO_i2t") == ("Retrieval", "IND")
    assert dataset_task("Country211") == ("Classification", "OOD")
    assert dataset_task("Mini-Retrieval-Novel-t2i") == ("Retrieval", "OOD")
    assert dataset_task("Mini_Grounding") == ("Grounding", "IND")
    with pytest.raises(KeyError, match="unknown dataset 'Foo'"):
        dataset_task("Foo")


def test_loaders_on_mmeb_mini(tmp_path):
    root = build_mini(tmp_path / "mini", config=MiniConfig.small())
    pairs = mini_train_pairs(root, check_images=True)
    assert {p.subset for p in pairs} == set(MINI_TRAIN_SUBSETS)
    assert all(p.query_text.startswith("<image>\n") == (p.query_image is not None) for p in pairs)
    rows = mini_eval_dataset("Mini-Retrieval-t2i", root, check_images=True)
    assert len(rows) == MiniConfig.small().eval_queries
    assert all(r.query_image is None and all(r.candidate_images) for r in rows)
    same = load_eval_dataset(root / "eval", "Mini-Retrieval-t2i", image_root=root)
    assert same == rows


# --- the sampler -------------------------------------------------------------------------------------------


def test_sampler_groups_by_modality():
    groups = [i % 3 == 0 for i in range(100)]
    sampler = ModalityBatchSampler(groups, 8, seed=0)
    batches = list(sampler)
    assert sum(groups) == 34  # 34 of one modality, 66 of the other
    assert len(batches) == len(sampler) == 34 // 8 + 66 // 8  # full batches only, within each modality
    assert sorted(len(b) for b in batches) == [8] * 12
    assert all(len({groups[i] for i in b}) == 1 for b in batches)
    flat = [i for b in batches for i in b]
    assert len(flat) == len(set(flat))
    assert {groups[i] for b in batches for i in b} == {True, False}


def test_sampler_by_subset_from_pairs():
    pairs = [TrainPair("q", "img" if i % 2 else None, f"t{i}", None, f"S{i % 4}", i) for i in range(64)]
    sampler = ModalityBatchSampler.from_pairs(pairs, 4, by_subset=True, seed=3)
    for batch in sampler:
        assert len({pairs[i].subset for i in batch}) == 1
        assert len({pairs[i].query_image is None for i in batch}) == 1
    mixed = ModalityBatchSampler.from_pairs(pairs, 4, seed=3)
    assert any(len({pairs[i].subset for i in b}) > 1 for b in mixed)


def test_sampler_deterministic_and_seeded():
    groups = [i % 2 for i in range(50)]
    first = list(ModalityBatchSampler(groups, 5, seed=7, num_steps=30))
    assert first == list(ModalityBatchSampler(groups, 5, seed=7, num_steps=30))
    assert first != list(ModalityBatchSampler(groups, 5, seed=8, num_steps=30))
    assert first[:10] != first[10:20]  # each epoch is reshuffled


def test_sampler_resume_gives_same_batches():
    groups = [i % 2 for i in range(50)]
    full = list(ModalityBatchSampler(groups, 5, seed=7, num_steps=37))
    for start in (0, 1, 9, 10, 23, 36):
        resumed = ModalityBatchSampler(groups, 5, seed=7, start_step=start, num_steps=37)
        assert list(resumed) == full[start:] and len(resumed) == 37 - start
        assert resumed.batch(start) == full[start]


def test_sampler_distinct_targets():
    keys = [f"label{i % 10}" for i in range(200)]
    for seed in range(3):
        batches = list(ModalityBatchSampler([0] * 200, 10, seed=seed, distinct=keys))
        assert len(batches) >= 18
        assert all(len({keys[i] for i in b}) == 10 for b in batches)


def test_sampler_bad_arguments():
    with pytest.raises(ValueError, match="no full batch of 8"):
        ModalityBatchSampler([0] * 5, 8)
    with pytest.raises(ValueError, match="distinct has 2 keys for 3 items"):
        ModalityBatchSampler([0] * 3, 1, distinct=["a", "b"])
    assert sorted(len(b) for b in ModalityBatchSampler([0] * 5, 2, drop_last=False)) == [1, 2, 2]
