"Tests of llave.model that a notebook shows badly: many bad inputs, padding sides, dtypes, round trips."

import os
import warnings
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
import numpy as np
import pytest
import torch
from PIL import Image

from llave.model import (
    LLaVE,
    PROMPT_END,
    TINY_SIZES,
    VIDEO_PROMPT,
    llave_prompt,
    load_tiny_sizes,
    parameter_role,
    tiny_llava_onevision,
    train_tiny_tokenizer,
)

ROOT = Path(__file__).resolve().parents[1]
TEXTS = ["a red circle", "the blue square left of the green star and the yellow triangle", "one", "Represent it."]


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory):
    return tiny_llava_onevision(tmp_path_factory.mktemp("m") / "tiny", seed=1)


@pytest.fixture()
def llave(tiny_dir):
    return LLaVE.from_pretrained(tiny_dir)


def images(n=4):
    rng = np.random.default_rng(0)
    return [Image.fromarray(rng.integers(0, 255, (64 - 8 * i, 64, 3), dtype=np.uint8)) for i in range(n)]


def test_prompt_is_the_released_one(llave):
    text = "<image>\nFind me an everyday image that matches the given caption: a dog."
    expected = (
        "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n"
        + text
        + "<|im_end|>\n<|im_start|>assistant\n\n<|im_end|>\n"
    )
    assert llave_prompt(text) == expected
    conversation = [{"role": "user", "content": text}, {"role": "assistant", "content": "\n"}]
    assert llave.tokenizer.apply_chat_template(conversation, tokenize=False) == expected
    for token in ["<|im_start|>", "<|im_end|>", "<|endoftext|>", "<image>", "<video>"]:
        assert token in llave.tokenizer.get_vocab()
    assert llave.tokenizer.pad_token == "<|endoftext|>"


def test_left_and_right_padding_give_the_same_embeddings(llave):
    right = llave.encode(TEXTS, images())
    llave.tokenizer.padding_side = "left"
    batch = llave.prepare(TEXTS, images())
    assert batch["attention_mask"][:, 0].min() == 0 and batch["attention_mask"][:, -1].min() == 1
    left = llave.encode(TEXTS, images())
    torch.testing.assert_close(left, right, atol=1e-5, rtol=0)
    assert torch.allclose(right.norm(dim=1), torch.ones(len(TEXTS)), atol=1e-5)


def test_encode_restores_order_and_matches_single_items(llave):
    everything = llave.encode(TEXTS, images(), batch_size=3)
    permutation = [2, 0, 3, 1]
    shuffled = llave.encode([TEXTS[i] for i in permutation], [images()[i] for i in permutation], batch_size=2)
    torch.testing.assert_close(shuffled, everything[permutation], atol=1e-5, rtol=0)
    single = llave.encode(TEXTS[1:2], images()[1:2])
    torch.testing.assert_close(single[0], everything[1], atol=1e-5, rtol=0)
    assert everything.dtype == torch.float32 and everything.device.type == "cpu"


def test_pooling_ignores_padding_and_normalize_flag(llave):
    raw = llave.encode(TEXTS, normalize=False)
    torch.testing.assert_close(torch.nn.functional.normalize(raw, dim=1), llave.encode(TEXTS), atol=1e-6, rtol=0)
    assert not torch.allclose(raw.norm(dim=1), torch.ones(len(TEXTS)))


def test_image_token_put_in_front_when_missing(llave):
    image = images(1)
    torch.testing.assert_close(llave.encode(["a cat"], image), llave.encode(["<image>\na cat"], image))
    with pytest.raises(ValueError, match="item 0.*no image"):
        llave.encode(["<image>\na cat", "x"], [None, image[0]])
    with pytest.raises(ValueError, match="2 texts but 1 images"):
        llave.encode(["a", "b"], image)


def test_round_trip_save_and_load(llave, tmp_path):
    before = llave.encode(TEXTS, images())
    llave.save_pretrained(tmp_path / "copy")
    after = LLaVE.from_pretrained(tmp_path / "copy").encode(TEXTS, images())
    assert torch.equal(before, after)


def test_non_rgb_images_are_converted(llave, tmp_path):
    rgb = Image.new("RGB", (64, 64), (200, 30, 30))
    palette = rgb.convert("P")
    grey = rgb.convert("L")
    rgba = rgb.convert("RGBA")
    path = tmp_path / "grey.png"
    grey.save(path)
    out = llave.encode(["x"] * 4, [palette, grey, rgba, str(path)])
    torch.testing.assert_close(out[0], llave.encode(["x"], [palette.convert("RGB")])[0])
    torch.testing.assert_close(out[1], out[3], atol=1e-6, rtol=0)
    torch.testing.assert_close(out[2], llave.encode(["x"], [rgb])[0], atol=1e-6, rtol=0)


def test_unreadable_images_name_the_path(llave, tmp_path):
    with pytest.raises(ValueError, match="missing.jpg"):
        llave.encode(["x"], [str(tmp_path / "missing.jpg")])
    corrupt = tmp_path / "corrupt.png"
    corrupt.write_bytes(b"not a png at all")
    with pytest.raises(ValueError, match="corrupt.png"):
        llave.encode(["x"], [corrupt])


def test_long_text_is_truncated_keeping_the_pooled_token(llave):
    short = LLaVE(llave.model, llave.processor, max_length=72)
    texts = ["red " * 300, "blue " * 300, "green"]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = short.encode(texts, [images(1)[0], None, None], batch_size=2)
        short.encode(texts)
    assert len([w for w in caught if "truncated" in str(w.message)]) == 1
    batch = short.prepare(texts[:2], [images(1)[0], None])
    end = llave.tokenizer(PROMPT_END, add_special_tokens=False)["input_ids"]
    assert batch["input_ids"].shape[1] == 72
    assert batch["input_ids"][0, -len(end) :].tolist() == end
    assert int((batch["input_ids"][0] == llave.model.config.image_token_id).sum()) == 36
    torch.testing.assert_close(out[2], llave.encode(["green"])[0], atol=1e-5, rtol=0)
    with pytest.raises(ValueError, match="too small"):
        LLaVE(llave.model, llave.processor, max_length=30).encode(["red " * 50], images(1))


def test_images_without_an_image_processor_are_a_clear_error(llave):
    text_only = LLaVE(llave.model, llave.tokenizer)
    assert text_only.encode(["a"]).shape == (1, llave.dim)
    with pytest.raises(ValueError, match="no image processor"):
        text_only.encode(["a"], images(1))


def test_video_path(llave):
    rng = np.random.default_rng(0)
    videos = [rng.integers(0, 255, (t, 64, 64, 3), dtype=np.uint8) for t in (3, 2, 3)]
    batch = llave.prepare([VIDEO_PROMPT], videos=videos[:1])
    assert "pixel_values_videos" in batch and batch["pixel_values_videos"].shape[:2] == (1, 3)
    assert int((batch["input_ids"] == llave.model.config.video_token_id).sum()) == 4 * 3 + 1
    together = llave.encode_video(videos, batch_size=4)
    for i, video in enumerate(videos):
        torch.testing.assert_close(llave.encode_video([video])[0], together[i], atol=1e-5, rtol=0)
    frames = [Image.fromarray(f) for f in videos[1]]
    torch.testing.assert_close(llave.encode_video([frames])[0], together[1], atol=1e-5, rtol=0)
    captions = llave.encode_video(videos, texts=["<video>\nA clip."] * 3)
    assert not torch.allclose(captions, together)


def test_bfloat16_model_gives_float32_unit_vectors(tiny_dir):
    model = LLaVE.from_pretrained(tiny_dir, torch_dtype=torch.bfloat16)
    assert model.dtype == torch.bfloat16
    out = model.encode(TEXTS, images())
    assert out.dtype == torch.float32
    assert torch.allclose(out.norm(dim=1), torch.ones(len(TEXTS)), atol=1e-5)


def test_trainer_hooks(llave):
    llave.freeze_vision()
    groups = llave.parameter_groups(1e-4, projector_lr=1e-3)
    assert [(g["name"], g["lr"]) for g in groups] == [("language", 1e-4), ("projector", 1e-3)]
    names = {id(p): n for n, p in llave.model.named_parameters()}
    assert all(parameter_role(names[id(p)]) == g["name"] for g in groups for p in g["params"])
    llave.freeze_vision(False)
    assert [g["name"] for g in llave.parameter_groups(1e-4, vision_lr=1e-6)] == ["language", "projector", "vision"]
    llave.freeze_vision()

    def gradients():
        llave.model.train()
        llave.model.zero_grad()
        q = llave(**llave.prepare(TEXTS, images()))
        t = llave(**llave.prepare(TEXTS))
        (q @ t.T).logsumexp(1).mean().backward()
        return {n: p.grad.clone() for n, p in llave.model.named_parameters() if p.grad is not None}

    plain = gradients()
    llave.gradient_checkpointing(True)
    checkpointed = gradients()
    llave.gradient_checkpointing(False)
    assert plain.keys() == checkpointed.keys() and not any("vision_tower" in n for n in plain)
    assert "model.multi_modal_projector.linear_1.weight" in plain
    for name in plain:
        torch.testing.assert_close(plain[name], checkpointed[name], atol=1e-5, rtol=1e-4)


def test_tiny_sizes_config_file_matches_defaults():
    assert load_tiny_sizes(ROOT / "llave" / "configs" / "tiny_model.toml") == TINY_SIZES


def test_tiny_model_sizes_and_corpus(tmp_path):
    corpus = ["zebra zebra zebra striped horse"] * 20
    tokenizer = train_tiny_tokenizer(corpus, vocab_size=384)
    assert len(tokenizer(" zebra", add_special_tokens=False)["input_ids"]) == 1
    with pytest.raises(ValueError, match="unknown tiny-model sizes"):
        tiny_llava_onevision(tmp_path / "bad", hidden=3)
    directory = tiny_llava_onevision(tmp_path / "t", corpus=corpus, text_layers=1, vocab_size=384)
    model = LLaVE.from_pretrained(directory)
    assert model.model.config.text_config.num_hidden_layers == 1
    assert model.model.config.text_config.vocab_size == len(model.tokenizer) <= 384
    same = LLaVE.from_pretrained(tiny_llava_onevision(tmp_path / "t2", corpus=corpus, text_layers=1, vocab_size=384))
    assert torch.equal(model.encode(["zebra"]), same.encode(["zebra"]))


def test_a_broken_source_layout_is_refused_before_anything_is_written(tmp_path, monkeypatch):
    "A llava_qwen folder is converted on load; one the converter cannot read fails naming its file and field."
    monkeypatch.setenv("LLAVE_CACHE", str(tmp_path / "cache"))
    (tmp_path / "config.json").write_text('{"model_type": "llava_qwen"}')
    with pytest.raises(ValueError, match="config.json: image_aspect_ratio None is not anyres_max_N"):
        LLaVE.from_pretrained(tmp_path)
    assert not (tmp_path / "cache").exists()


def tiny_qwen2_vl(directory, seed=0):
    "A tiny random Qwen2-VL (vision: 2 blocks of width 64, patch 14, merge 2; LM as the tiny LLaVA-OV's)."
    from transformers import (
        AddedToken,
        Qwen2VLConfig,
        Qwen2VLForConditionalGeneration,
        Qwen2VLImageProcessor,
        Qwen2VLProcessor,
        Qwen2VLVideoProcessor,
    )
    from llave.model import QWEN_CHAT_TEMPLATE

    tokenizer = train_tiny_tokenizer(media_tokens=False)
    specials = ["<|vision_start|>", "<|vision_end|>", "<|image_pad|>", "<|video_pad|>"]
    tokenizer.add_tokens([AddedToken(t, special=True, normalized=False) for t in specials], special_tokens=True)
    start, end, image, video = tokenizer.convert_tokens_to_ids(specials)
    rope = {"rope_type": "default", "rope_theta": 10000.0, "mrope_section": [4, 6, 6]}
    config = Qwen2VLConfig(
        vision_config=dict(
            depth=2,
            embed_dim=64,
            hidden_size=128,
            num_heads=2,
            patch_size=14,
            spatial_merge_size=2,
            temporal_patch_size=2,
            mlp_ratio=2,
        ),
        text_config=dict(
            vocab_size=len(tokenizer),
            hidden_size=128,
            intermediate_size=256,
            num_hidden_layers=2,
            num_attention_heads=4,
            num_key_value_heads=2,
            max_position_embeddings=1024,
            rope_parameters=rope,
            pad_token_id=tokenizer.pad_token_id,
            bos_token_id=tokenizer.pad_token_id,
            eos_token_id=tokenizer.eos_token_id,
        ),
        vision_start_token_id=start,
        vision_end_token_id=end,
        image_token_id=image,
        video_token_id=video,
    )
    torch.manual_seed(seed)
    model = Qwen2VLForConditionalGeneration(config)
    pixels = dict(min_pixels=56 * 56, max_pixels=56 * 56 * 4)
    processor = Qwen2VLProcessor(
        image_processor=Qwen2VLImageProcessor(**pixels),
        tokenizer=tokenizer,
        video_processor=Qwen2VLVideoProcessor(**pixels),
        chat_template=QWEN_CHAT_TEMPLATE,
    )
    model.save_pretrained(directory)
    processor.save_pretrained(directory)
    return directory


def test_qwen2_vl_is_supported(tmp_path):
    model = LLaVE.from_pretrained(tiny_qwen2_vl(tmp_path / "qwen2vl"))
    assert model.family == "qwen2_vl"
    texts = ["<image>\na red circle", "a blue square and some more words", "x"]
    pictures = [Image.new("RGB", (56, 56), "red"), None, Image.new("RGB", (112, 56), "blue")]
    batch = model.prepare(texts, pictures)
    assert (batch["input_ids"] == model.model.config.image_token_id).sum(1).tolist() == [4, 0, 8]
    right = model.encode(texts, pictures)
    model.tokenizer.padding_side = "left"
    torch.testing.assert_close(model.encode(texts, pictures), right, atol=1e-5, rtol=0)
    single = torch.cat([model.encode([t], [p]) for t, p in zip(texts, pictures)])
    torch.testing.assert_close(single, right, atol=1e-5, rtol=0)
    model.freeze_vision()
    assert [g["name"] for g in model.parameter_groups(1e-4)] == ["language", "projector"]
    video = np.zeros((4, 56, 56, 3), np.uint8)
    assert model.encode_video([video, video]).shape == (2, model.dim)
    model.save_pretrained(tmp_path / "copy")
    assert torch.equal(LLaVE.from_pretrained(tmp_path / "copy").encode(texts, pictures), right)


def test_a_mixed_batch_from_prepare_matches_encode(llave):
    pictures = [images(1)[0], None, images(2)[1]]
    texts = ["<image>\nred", "a blue star", "green"]
    with torch.no_grad():
        mixed = llave(**llave.prepare(texts, pictures))
    torch.testing.assert_close(mixed, llave.encode(texts, pictures), atol=1e-5, rtol=0)
