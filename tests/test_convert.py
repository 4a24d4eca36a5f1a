"Tests of `llave convert`: a tiny LLaVA-NeXT llava_qwen checkpoint converted and compared with the same weights."

import json
import os
import subprocess
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")
import pytest
import torch
from PIL import Image
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from llave.convert import KEY_MAPPING, convert_checkpoint, grid_pinpoints, rename_key
from llave.testing import hub_snapshot, tiny_source_checkpoint
from llave.model import LLaVE

TEXTS = ["<image>\na red circle", "a blue square", "<image>\nRepresent the given image.", "x"]
IMAGES = [Image.new("RGB", (64, 64), "red"), None, Image.new("RGB", (80, 48), "blue"), None]


def test_every_key_mapped_and_embeddings_equal(tmp_path):
    src, direct = tiny_source_checkpoint(tmp_path / "src", seed=3)
    dst = convert_checkpoint(src, tmp_path / "dst", vision_heads=2)
    with safe_open(src / "model.safetensors", "pt") as handle:
        source = {k: handle.get_slice(k).get_shape() for k in handle.keys()}
    converted = load_file(dst / "model.safetensors")
    assert set(converted) == {rename_key(k) for k in source}
    assert all(list(converted[rename_key(k)].shape) == shape for k, shape in source.items())
    assert set(converted) == set(direct.model.state_dict())
    model = LLaVE.from_pretrained(dst)
    config = model.model.config
    assert model.tokenizer.convert_tokens_to_ids(["<image>", "<video>"]) == [
        config.image_token_id,
        config.video_token_id,
    ]
    assert config.text_config.vocab_size == direct.model.config.text_config.vocab_size > len(model.tokenizer)
    torch.testing.assert_close(model.encode(TEXTS, IMAGES), direct.encode(TEXTS, IMAGES), atol=1e-6, rtol=0)


def test_embedding_matrix_grows_when_the_tokenizer_outgrows_it(tmp_path):
    src, direct = tiny_source_checkpoint(tmp_path / "src", extra_rows=0)
    model = LLaVE.from_pretrained(convert_checkpoint(src, tmp_path / "dst", vision_heads=2))
    rows = model.model.config.text_config.vocab_size
    assert rows == len(model.tokenizer) == direct.model.config.text_config.vocab_size + 2
    old = direct.model.get_input_embeddings().weight
    new = model.model.get_input_embeddings().weight
    assert torch.equal(new[: len(old)], old) and torch.allclose(new[len(old) :], old.mean(0).expand(2, -1))
    # the source model cannot look up the ids of <image>/<video> (they lie past its matrix): compare texts only
    texts = [t for t, image in zip(TEXTS, IMAGES) if image is None]
    torch.testing.assert_close(model.encode(texts), direct.encode(texts), atol=1e-6, rtol=0)
    assert model.encode(TEXTS, IMAGES).shape == (len(TEXTS), model.dim)


def test_bad_sources_are_refused(tmp_path):
    src, _ = tiny_source_checkpoint(tmp_path / "src")
    weights = load_file(src / "model.safetensors")
    with pytest.raises(ValueError, match="attention heads"):
        convert_checkpoint(src, tmp_path / "out")
    save_file({**weights, "model.mystery.weight": torch.zeros(2)}, src / "model.safetensors")
    with pytest.raises(KeyError, match="model.mystery.weight"):
        convert_checkpoint(src, tmp_path / "out", vision_heads=2)
    less = {k: v for k, v in weights.items() if k != "model.mm_projector.2.bias"}
    save_file(less, src / "model.safetensors")
    with pytest.raises(ValueError, match="missing.*linear_2.bias"):
        convert_checkpoint(src, tmp_path / "out", vision_heads=2)
    save_file({**weights, "model.norm.weight": torch.zeros(7)}, src / "model.safetensors")
    with pytest.raises(ValueError, match="shapes.*norm.weight"):
        convert_checkpoint(src, tmp_path / "out", vision_heads=2)
    save_file(weights, src / "model.safetensors")
    config = json.loads((src / "config.json").read_text())
    (src / "config.json").write_text(json.dumps({**config, "mm_projector_type": "linear"}))
    with pytest.raises(ValueError, match="mm_projector_type"):
        convert_checkpoint(src, tmp_path / "out", vision_heads=2)
    assert not (tmp_path / "out").exists()


def test_tied_embeddings_without_lm_head(tmp_path):
    src, direct = tiny_source_checkpoint(tmp_path / "src")
    weights = load_file(src / "model.safetensors")
    weights.pop("lm_head.weight")
    save_file(weights, src / "model.safetensors")
    config = json.loads((src / "config.json").read_text())
    (src / "config.json").write_text(json.dumps({**config, "tie_word_embeddings": True}))
    model = LLaVE.from_pretrained(convert_checkpoint(src, tmp_path / "dst", vision_heads=2))
    assert model.model.config.tie_word_embeddings
    torch.testing.assert_close(model.encode(TEXTS, IMAGES), direct.encode(TEXTS, IMAGES), atol=1e-6, rtol=0)


def test_grid_pinpoints_forms():
    assert grid_pinpoints("(1x1),...,(6x6)", 384)[-1] == [2304, 2304]
    assert len(grid_pinpoints("(1x1),...,(6x6)", 384)) == 36
    # LLaVA-NeXT lists [width, height]; transformers reads [height, width]: a list is swapped pair by pair
    assert grid_pinpoints([[384, 768], [768, 384]], 384) == [[768, 384], [384, 768]]
    assert grid_pinpoints("[[1152, 384]]", 384) == [[384, 1152]]
    assert len({target for _, target in KEY_MAPPING}) == len(KEY_MAPPING)


def test_cli(tmp_path):
    from llave.cli import build_parser

    src, direct = tiny_source_checkpoint(tmp_path / "src")
    args = build_parser(["llave.convert"]).parse_args(
        ["convert", str(src), str(tmp_path / "dst"), "--vision-heads", "2"]
    )
    assert args.func(args) == 0
    model = LLaVE.from_pretrained(tmp_path / "dst")
    torch.testing.assert_close(
        model.encode(TEXTS[:2], IMAGES[:2]), direct.encode(TEXTS[:2], IMAGES[:2]), atol=1e-6, rtol=0
    )


@pytest.fixture
def hub(tmp_path, monkeypatch):
    "An offline hub cache holding a tiny released-layout checkpoint as zhibinlan/LLaVE-tiny; llave's cache beside it."
    import huggingface_hub.constants

    source, direct = tiny_source_checkpoint(tmp_path / "files", seed=7)
    snapshot = hub_snapshot(tmp_path / "hub", "zhibinlan/LLaVE-tiny", source, commit="b" * 40)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setenv("LLAVE_CACHE", str(tmp_path / "llave"))
    return snapshot, direct


def test_from_pretrained_by_hub_id_converts_once(hub, tmp_path, capsys):
    snapshot, direct = hub
    model = LLaVE.from_pretrained("zhibinlan/LLaVE-tiny", vision_heads=2)
    torch.testing.assert_close(model.encode(TEXTS, IMAGES), direct.encode(TEXTS, IMAGES), atol=1e-6, rtol=0)
    cached = tmp_path / "llave" / "converted" / "zhibinlan--LLaVE-tiny" / ("b" * 40)
    assert (cached / "model.safetensors").is_file() and capsys.readouterr().out.count("converting") == 1
    again = LLaVE.from_pretrained("zhibinlan/LLaVE-tiny", revision="b" * 40)  # no vision_heads: nothing to convert
    assert capsys.readouterr().out.count("converting") == 0
    torch.testing.assert_close(again.encode(TEXTS, IMAGES), direct.encode(TEXTS, IMAGES), atol=1e-6, rtol=0)
    with pytest.raises(FileNotFoundError, match="revision v2.*not in the hub cache"):
        LLaVE.from_pretrained("zhibinlan/LLaVE-tiny", revision="v2")


def test_from_pretrained_converts_a_local_release_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("LLAVE_CACHE", str(tmp_path / "llave"))
    source, direct = tiny_source_checkpoint(tmp_path / "LLaVE-tiny", seed=8)
    model = LLaVE.from_pretrained(source, vision_heads=2)
    torch.testing.assert_close(model.encode(TEXTS, IMAGES), direct.encode(TEXTS, IMAGES), atol=1e-6, rtol=0)
    (converted,) = (tmp_path / "llave" / "converted" / "local").iterdir()
    assert converted.name.startswith("LLaVE-tiny-") and not (source / "model-converted").exists()


@pytest.mark.slow
def test_cli_converts_a_hub_id_offline(hub, tmp_path):
    "`llave convert OWNER/NAME DST` in a fresh process: HF_HUB_CACHE and HF_HUB_OFFLINE=1 honoured, nothing downloaded."
    snapshot, direct = hub
    environment = {**os.environ, "HF_HUB_CACHE": str(tmp_path / "hub"), "HF_HUB_OFFLINE": "1"}
    command = [
        sys.executable,
        "-m",
        "llave",
        "convert",
        "zhibinlan/LLaVE-tiny",
        str(tmp_path / "dst"),
        "--vision-heads",
        "2",
    ]
    done = subprocess.run(command, env=environment, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    model = LLaVE.from_pretrained(tmp_path / "dst")
    torch.testing.assert_close(model.encode(TEXTS, IMAGES), direct.encode(TEXTS, IMAGES), atol=1e-6, rtol=0)
    missing = subprocess.run(
        command[:4] + ["zhibinlan/LLaVE-none", str(tmp_path / "x")],
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert missing.returncode == 2 and "zhibinlan/LLaVE-none (revision main): not in the hub cache" in missing.stderr
    assert "Traceback" not in missing.stderr
