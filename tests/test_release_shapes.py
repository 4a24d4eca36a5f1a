"""The reproducer's path at the released models' shapes, on a CPU.

Shallow, random, release-shaped checkpoints (the real widths, heads, vocabulary rows, special-token ids and config
fields of LLaVE-0.5B, -2B and -7B; 1-2 layers per tower) go through what a reproducer runs: `llave convert`,
`LLaVE.encode` on a small, a large and a very wide image and a 32-frame clip (token counts checked against the
released formulas), `llave eval mmeb`, `llave eval video` on a 32-frame clip, and two training steps of each GPU
preset with gradient checkpointing and GradCache. This CPU has no fast bf16 matrix multiply (about 1 GFLOP/s
against 100 in fp32), so the preset steps run in fp32 and bf16 autocast gets one short step of its own.
"""

import json
import math
import os
import shutil

os.environ.setdefault("HF_HUB_OFFLINE", "1")
import numpy as np
import pytest
import torch
from safetensors.torch import load_file
from transformers import AutoProcessor

from llave.cli import main
from llave.model import VIDEO_PROMPT, LLaVE, image_token_count, video_token_count
from llave.testing import (
    hub_snapshot,
    mmeb_eval_fixture,
    mmeb_train_fixture,
    picture,
    release_checkpoint,
    release_source_checkpoint,
    video_fixture,
)
from llave.train import load_config

GRID36 = [[384 * h, 384 * w] for h in range(1, 7) for w in range(1, 7)]
SUBSETS = load_config("llave-0.5b").subsets  # the 20 MMEB-train subsets every GPU preset lists

pytestmark = pytest.mark.slow  # every test here: seconds to a minute, GBs of memory


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    "A folder for this module's checkpoints (several GB), removed at the end rather than left to pytest's rotation."
    folder = tmp_path_factory.mktemp("release")
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def converted(root, size: str, **changes):
    "A release-shaped source checkpoint of `size` in the llava_qwen layout, converted with `llave convert`."
    source = release_source_checkpoint(root / f"LLaVE-{size}", size, **changes)
    assert main(["convert", str(source), str(root / f"llave-{size}")]) == 0
    shutil.rmtree(source)
    return root / f"llave-{size}"


@pytest.fixture(scope="module")
def hub(root):
    """LLaVE-0.5B's shapes (2 layers per tower) published offline as zhibinlan/LLaVE-0.5B: a hub cache on disk that
    `snapshot_download` answers from under HF_HUB_OFFLINE=1, as it would after a download; llave's cache beside it."""
    import huggingface_hub.constants

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(root / "hub"))
        patch.setenv("LLAVE_CACHE", str(root / "llave-cache"))
        hub_snapshot(root / "hub", "zhibinlan/LLaVE-0.5B", release_source_checkpoint(root / "LLaVE-0.5b", "0.5b"))
        yield "zhibinlan/LLaVE-0.5B"


@pytest.fixture(scope="module")
def llave_05b(root, hub):
    "LLaVE-0.5B's shapes with 2 layers per tower, converted by `llave convert zhibinlan/LLaVE-0.5B DST`."
    assert main(["convert", hub, str(root / "llave-0.5b")]) == 0
    return root / "llave-0.5b"


@pytest.fixture(scope="module")
def model_05b(llave_05b):
    return LLaVE.from_pretrained(llave_05b, torch_dtype=torch.float32)


@pytest.mark.parametrize(
    "preset,layers", [("llave-2b", 1), pytest.param("llave-7b", 1, marks=pytest.mark.bigmem)]
)  # ~19 GB resident
def test_presets_2b_7b_take_two_steps(preset, layers, root):
    """llave-2b (GradCache) and llave-7b (untied head), one layer per tower at their real widths and vocabularies, text
    pairs. First in this module, before the module's fixtures hold other models: 6.1 GB resident for llave-2b."""
    size = preset.split("-")[1]  # converted in memory: the source is never written or read back
    model = release_checkpoint(root / f"llave-{size}", size, text_layers=layers, vision_layers=layers)
    data = mmeb_train_fixture(root / f"train-{size}", SUBSETS, pairs={"MSCOCO_i2t": 2})
    chunks = "gradcache_chunk_size=2" if size == "2b" else "gradcache_chunk_size=none"  # 7B: one backward a step
    logs = train_two_steps(preset, model, data, root / f"run-{size}", "precision=fp32", "save_every=0", chunks)
    assert [log["step"] for log in logs] == [1, 2]
    assert all(math.isfinite(log["loss"]) and log["grad_norm"] > 0 for log in logs)
    assert logs[0]["lr"] == load_config(preset).learning_rate  # one warmup step of 2 (3% rounded up)
    assert not list((root / f"run-{size}").glob("checkpoint-*"))  # save_every=0: no 7B-sized checkpoint on disk
    shutil.rmtree(model)


def test_converted_config_is_the_released_one(llave_05b, model_05b):
    "Tower input 384 (not 27 × 14 = 378), 36 pinpoints, the real special-token ids, the checkpoint's own sequence limit."
    config = json.loads((llave_05b / "config.json").read_text())
    vision, text = config["vision_config"], config["text_config"]
    assert (vision["image_size"], vision["patch_size"], vision["hidden_size"], vision["num_attention_heads"]) == (
        384,
        14,
        1152,
        16,
    )
    assert (text["hidden_size"], text["vocab_size"], text["num_key_value_heads"]) == (896, 151936, 2)
    assert (config["image_token_index"], config["video_token_index"]) == (151646, 151647)
    assert sorted(config["image_grid_pinpoints"]) == GRID36
    assert (config["tokenizer_model_max_length"], config["mm_newline_position"]) == (32768, "one_token")
    assert config["dtype"] == "bfloat16"  # as released; training loads it in fp32
    assert model_05b.tokenizer.convert_tokens_to_ids(
        ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<image>", "<video>"]
    ) == [151643, 151644, 151645, 151646, 151647]
    assert model_05b.max_length == 32768
    added = json.loads((llave_05b / "tokenizer_config.json").read_text())["added_tokens_decoder"]  # as released
    assert {int(i): token["content"] for i, token in added.items()} == {
        151643: "<|endoftext|>",
        151644: "<|im_start|>",
        151645: "<|im_end|>",
        151646: "<image>",
        151647: "<video>",
    }


def test_sentence_transformers_loads_the_converted_folder(llave_05b, model_05b):
    """`llave convert` writes sentence-transformers' files: `SentenceTransformer(folder).encode` equals `LLaVE.encode`
    to 1e-5 at LLaVE-0.5B's widths, with Qwen2's vocabulary and anyres tiles (text, image, text with image)."""
    from sentence_transformers import SentenceTransformer

    sentence_model = SentenceTransformer(str(llave_05b), device="cpu", model_kwargs={"dtype": torch.float32})
    text, image = "What is in the picture?", picture(500, 300)
    for inputs, ours in (
        (text, model_05b.encode(text)),
        (image, model_05b.encode(images=image)),
        ({"text": text, "image": image}, model_05b.encode(text, image)),
    ):
        torch.testing.assert_close(torch.as_tensor(sentence_model.encode(inputs)), ours, atol=1e-5, rtol=0)


IMAGE = -200  # where the released code (llava/train/train.py, preprocess_qwen) puts its IMAGE_TOKEN_INDEX
RELEASED_ROWS = [  # (MMEB text, has image, the user turn's ids after `<|im_start|>user\n`, typed from the released code)
    ("<|image_1|> Represent the given image for classification", True, [IMAGE, 21950, 279, 2661, 2168, 369, 23850]),
    (
        "<|image_1|>\nRepresent the given image for classification",
        True,
        [IMAGE, 198, 65743, 279, 2661, 2168, 369, 23850],
    ),
    ("<|image_1|> Represent the given image.\n", True, [IMAGE, 21950, 279, 2661, 2168, 624]),  # verbatim, "\n" kept
    ("Represent the given image. <|image_1|>", True, [IMAGE, 198, 65743, 279, 2661, 2168, 13]),  # moved to the front
    ("10.5 ", False, [16, 15, 13, 20, 220]),  # not stripped
]


@pytest.mark.parametrize("text, has_image, user", RELEASED_ROWS)
def test_mmeb_rows_give_the_released_token_ids(model_05b, text, has_image, user):
    """Each MMEB row form becomes the token sequence the released preprocessing feeds the model: the system turn, the
    user turn (the text as `preprocess_multimodal` leaves it), and the assistant turn holding "\n"; Qwen2's real ids."""
    from llave.data import format_text

    system = [151644, 8948, 198, 2610, 525, 264, 10950, 17847, 13, 151645, 198]  # <|im_start|>system\nYou are ...
    released = system + [151644, 872, 198] + user + [151645, 198] + [151644, 77091, 271, 151645, 198]
    batch = model_05b.prepare([format_text(text, has_image)], [picture(64, 64)] if has_image else None)
    ids = batch["input_ids"][0][batch["attention_mask"][0].bool()].tolist()
    image = model_05b.model.config.image_token_id
    ids = [IMAGE if token == image else token for i, token in enumerate(ids) if token != image or ids[i - 1] != image]
    assert ids == released


def test_image_token_counts_and_a_large_image(model_05b):
    "Small, large (3×4 tiles) and very wide (1×6 tiles) images: the released counts; the large one embeds."
    expected = {(64, 64): 729 + 27 * 28, (1500, 1000): 729 + 73 * 109, (4000, 200): 729 + 9 * 163}
    for (width, height), tokens in expected.items():
        batch = model_05b.prepare(["<image>\nRepresent the given image."], [picture(width, height)])
        count = int((batch["input_ids"] == model_05b.model.config.image_token_id).sum())
        assert count == image_token_count(height, width, GRID36) == tokens, (width, height)
    with torch.no_grad():  # 8,686 tokens: over the 4,096 of training, within 32,768
        embedding = model_05b(**model_05b.prepare(["<image>\nA photo."], [picture(1500, 1000)]))
    assert embedding.shape == (1, 896) and torch.isfinite(embedding).all()
    assert math.isclose(embedding.norm().item(), 1.0, rel_tol=1e-5)


def test_32_frame_clip_fits_the_video_limit(model_05b, llave_05b):
    "A 32-frame clip is 6,273 tokens (one newline) or 6,720 (a newline per row): over 4,096, within 8,192."
    clip = np.zeros((32, 64, 64, 3), dtype=np.uint8)
    batch = model_05b.prepare([VIDEO_PROMPT], videos=[clip], max_length=8192)
    assert int((batch["input_ids"] == model_05b.model.config.video_token_id).sum()) == video_token_count(32) == 6273
    with pytest.raises(ValueError, match="max_length=4096 is too small"):
        model_05b.prepare([VIDEO_PROMPT], videos=[clip], max_length=4096)
    model_05b.model.config.mm_newline_position = "grid"  # what the released training script writes
    try:
        grid = LLaVE(model_05b.model, AutoProcessor.from_pretrained(llave_05b))  # its own processor: it is patched
        batch = grid.prepare([VIDEO_PROMPT], videos=[clip], max_length=8192)
        assert (
            int((batch["input_ids"] == grid.model.config.video_token_id).sum())
            == video_token_count(32, newline="grid")
            == 6720
        )
        with torch.no_grad():  # 4 frames × 14 rows × 15 tokens through the model
            assert torch.isfinite(grid(**grid.prepare([VIDEO_PROMPT], videos=[clip[:4]]))).all()
    finally:
        del model_05b.model.config.mm_newline_position


def test_eval_mmeb_cli(hub, root, capsys):
    """Small and very wide query images, label and image candidates: `llave eval mmeb --max-rows 2` on the released
    checkpoint by its hub id (converted once into llave's cache, then found there)."""
    data = mmeb_eval_fixture(root / "mmeb-eval", candidates=2)
    out = root / "mmeb-out"
    assert (
        main(
            [
                "eval",
                "mmeb",
                "--model",
                hub,
                "--data",
                str(data),
                "--image-root",
                str(data),
                "--out",
                str(out),
                "--max-rows",
                "2",
            ]
        )
        == 0
    )
    assert capsys.readouterr().out.count(f"converting {hub}") == 1
    assert (root / "llave-cache" / "converted" / "zhibinlan--LLaVE-0.5B").is_dir()
    summary = json.loads((out / "summary.json").read_text())
    assert sorted(summary["per_dataset"]) == ["ImageNet-1K", "MSCOCO_t2i"] and summary["max_length"] is None
    assert all(0 <= score <= 100 for score in summary["per_dataset"].values())


def test_eval_video_cli(hub, root, capsys):
    """A 32-frame clip (40 frames at 3 fps) with two captions: refused at 4,096 tokens, evaluated at 8,192; the model
    by its hub id, found already converted in llave's cache."""
    videos, annotations = video_fixture(root / "video", clips=1, frames=40, fps=3.0, captions=2)
    out = root / "video-out"
    command = [
        "eval",
        "video",
        "--model",
        hub,
        "--dataset",
        "msrvtt",
        "--videos",
        str(videos),
        "--annotations",
        str(annotations),
        "--out",
        str(out),
    ]
    assert main(command + ["--max-length", "4096"]) == 2  # a clear error, not a crash
    assert "max_length=4096 is too small" in capsys.readouterr().err
    assert main(command) == 0  # the released evaluation's 8,192
    result = json.loads((out / "video_msrvtt.json").read_text())
    assert (result["num_videos"], result["num_captions"], result["max_frames"], result["max_length"]) == (
        1,
        2,
        32,
        8192,
    )
    assert result["text_to_video"]["R@1"] == 100.0  # one clip: every caption finds it
    assert "converting" not in capsys.readouterr().out


def train_two_steps(preset: str, model, data, output, *extra) -> list[dict]:
    "`llave train PRESET` on `model` and `data`: two steps of 2 pairs without accumulation (`extra` overrides)."
    assert (
        main(
            [
                "train",
                preset,
                f"model={model}",
                f"data={data}",
                f"image_root={data}",
                f"output_dir={output}",
                "max_steps=2",
                "batch_size=2",
                "gradient_accumulation_steps=1",
                "log_every=1",
                "show_progress=false",
                *extra,
            ]
        )
        == 0
    )
    return [json.loads(line) for line in (output / "metrics.jsonl").read_text().splitlines()]


def test_preset_05b_takes_two_steps(llave_05b, root):
    "llave-0.5b as written (20 subsets, 2×2 grid, clipping, checkpointing, frozen tower) with GradCache: an image and a text step."
    data = mmeb_train_fixture(
        root / "train-0.5b", SUBSETS, pairs={"ImageNet_1K": 2, "MSCOCO_i2t": 2}, image_subsets=["ImageNet_1K"]
    )  # one batch of each modality: both steps differ
    # no warmup: with the preset's (one step of two) the first step runs at lr 0, as the Trainer's, and if that is
    # the image step the projector, which has no gradient in the text step, would never move
    logs = train_two_steps(
        "llave-0.5b",
        llave_05b,
        data,
        root / "run-0.5b",
        "precision=fp32",
        "save_every=2",
        "gradcache_chunk_size=2",
        "warmup_ratio=0",
    )
    assert [log["step"] for log in logs] == [1, 2] and all(math.isfinite(log["loss"]) for log in logs)
    checkpoint = root / "run-0.5b" / "checkpoint-2"
    saved = json.loads((checkpoint / "config.json").read_text())
    assert sorted(saved["image_grid_pinpoints"]) == [[384, 384], [384, 768], [768, 384], [768, 768]]
    before, after = load_file(llave_05b / "model.safetensors"), load_file(checkpoint / "model.safetensors")
    layer, tower = (
        "model.language_model.layers.0.mlp.down_proj.weight",
        "model.vision_tower.encoder.layers.0.mlp.fc1.weight",
    )
    assert after[layer].dtype == torch.float32  # fp32 master weights from a bf16 checkpoint
    assert not torch.equal(after[layer], before[layer].float())  # trained
    assert torch.equal(after[tower], before[tower].float())  # the vision tower stays frozen
    assert not torch.equal(
        after["model.multi_modal_projector.linear_1.weight"],
        before["model.multi_modal_projector.linear_1.weight"].float(),
    )  # the image step reached it


def test_bf16_autocast_step_at_release_widths(llave_05b, root):
    "One bf16-autocast step of llave-0.5b on text pairs (bf16 matmuls are ~100x slower than fp32 on this CPU)."
    data = mmeb_train_fixture(root / "train-bf16", SUBSETS, pairs={"MSCOCO_i2t": 2})
    logs = train_two_steps(
        "llave-0.5b", llave_05b, data, root / "run-bf16", "precision=bf16", "max_steps=1", "save_every=0"
    )
    assert len(logs) == 1 and math.isfinite(logs[0]["loss"])


def test_cached_grouped_inputs_equal_the_padded_batch(model_05b, tmp_path):
    """At LLaVE-0.5B's shapes and with the real Qwen2 vocabulary: saved tower outputs (anyres tiles of three sizes),
    rows grouped by length and the shared system prefix give the padded batch's embeddings."""
    from llave.inputs import InputCache, embed_rows, shared_prefix

    tokenizer = model_05b.tokenizer
    prefix = tokenizer.convert_ids_to_tokens(shared_prefix(model_05b))
    assert prefix[0] == "<|im_start|>" and prefix[-3:] == ["<|im_start|>", "user", "Ċ"]
    images = []
    for index, size in enumerate([(64, 64), (500, 300), (300, 700)]):
        images.append(str(tmp_path / f"{index}.png"))
        picture(*size).save(images[-1])
    texts = [
        "<image>\nRepresent the given image.",
        "Find me an everyday image that matches the given caption: a dog",
        "<image>\nWhat is in the image?",
        "\nstarts with a newline",
        "<image>\nIdentify the object.",
    ]
    images = [images[0], None, images[1], None, images[2]]
    cache = InputCache(model_05b, frozen_tower=True)
    with torch.no_grad():
        padded = model_05b(**model_05b.prepare(texts, images))
        grouped = embed_rows(model_05b, cache.row_batch(texts, images, overhead=0))
    torch.testing.assert_close(grouped, padded, atol=2e-5, rtol=1e-4)
    assert all(bool(group["attention_mask"].all()) for group in cache.row_batch(texts, images, 0).groups)
