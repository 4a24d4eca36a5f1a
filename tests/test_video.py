"""Zero-shot text-video retrieval (llave.video): metrics, frame sampling, decoding, loaders, bad input, the CLI."""

import csv
import json
import os
import pickle

import av
import numpy as np
import pytest
import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from llave import video
from llave.cli import build_parser
from llave.model import video_token_count
from llave.core import CAPTION_PROMPT, VIDEO_PROMPT
from llave.video import (
    VideoDecodeError,
    decode_video,
    gold_ranks,
    load_msrvtt,
    load_msvd,
    load_video_set,
    make_video_set,
    multi_caption_metrics,
    probe_video,
    read_caption_pickle,
    retrieval_metrics,
    sample_frame_indices,
    video_to_text_scores,
    write_video,
)


# ---------------------------------------------------------------- metrics


def test_metrics_on_hand_made_matrix():
    sim = np.array(
        [
            [0.9, 0.1, 0.2, 0.3],
            [0.8, 0.5, 0.6, 0.1],  # 0.8 and 0.6 beat the gold: rank 3
            [0.1, 0.2, 0.3, 0.4],  # 0.4 beats the gold: rank 2
            [0.4, 0.4, 0.4, 0.4],
        ]
    )  # all tied: rank 1 (ties favour the gold)
    assert gold_ranks(sim, [0, 1, 2, 3]).tolist() == [1, 3, 2, 1]
    assert retrieval_metrics(sim) == {"R@1": 50.0, "R@5": 100.0, "R@10": 100.0, "MdR": 1.5, "MnR": 1.75}


def test_metrics_with_chosen_ranks():
    ranks = [1, 1, 1, 2, 3, 5, 6, 7, 10, 11, 12, 4]
    sim = np.zeros((12, 12))
    for row, rank in enumerate(ranks):
        sim[row, row] = 0.5
        others = [column for column in range(12) if column != row]
        sim[row, others[: rank - 1]] = 1.0
    metrics = retrieval_metrics(torch.tensor(sim, dtype=torch.float32))
    assert metrics["R@1"] == pytest.approx(25.0)
    assert metrics["R@5"] == pytest.approx(100 * 7 / 12)
    assert metrics["R@10"] == pytest.approx(100 * 10 / 12)
    assert metrics["MdR"] == 4.5
    assert metrics["MnR"] == pytest.approx(63 / 12)


def test_metrics_equal_naive_reference():
    sim = np.random.default_rng(1).normal(size=(30, 30))
    ranks = [1 + sorted(-sim[i]).index(-sim[i, i]) for i in range(30)]  # position of the gold in a sorted row
    metrics = retrieval_metrics(sim)
    assert metrics["R@5"] == pytest.approx(100 * np.mean([r <= 5 for r in ranks]))
    assert metrics["MdR"] == np.median(ranks) and metrics["MnR"] == pytest.approx(np.mean(ranks))


def test_multi_caption_protocol_small_case():
    sim = np.array(
        [
            [0.9, 0.2, 0.1],  # video 0
            [0.3, 0.6, 0.1],  # video 0
            [0.5, 0.4, 0.7],  # video 1
            [0.2, 0.1, 0.8],  # video 2
            [0.6, 0.3, 0.5],
        ]
    )  # video 2
    caption_video = [0, 0, 1, 2, 2]
    np.testing.assert_array_equal(
        video_to_text_scores(sim, caption_video), [[0.9, 0.5, 0.6], [0.6, 0.4, 0.3], [0.1, 0.7, 0.8]]
    )
    metrics = multi_caption_metrics(sim, caption_video)
    t2v, v2t = metrics["text_to_video"], metrics["video_to_text"]  # ranks 1 2 3 1 2 and 1 2 1
    assert (t2v["R@1"], t2v["R@5"], t2v["MdR"]) == (40.0, 100.0, 2.0) and t2v["MnR"] == pytest.approx(1.8)
    assert v2t["R@1"] == pytest.approx(200 / 3) and v2t["MdR"] == 1.0 and v2t["MnR"] == pytest.approx(4 / 3)


def test_one_caption_per_video_is_the_square_case():
    sim = np.random.default_rng(0).normal(size=(15, 15))
    metrics = multi_caption_metrics(sim, list(range(15)))
    assert metrics["text_to_video"] == retrieval_metrics(sim)
    assert metrics["video_to_text"] == retrieval_metrics(sim.T)


@pytest.mark.parametrize(
    "sim, message",
    [
        (np.ones((2, 3)), "square"),
        (np.ones(4), "2-D"),
        (np.zeros((0, 0)), "non-empty"),
        (np.array([[1.0, np.nan], [0.0, 1.0]]), "NaN"),
        (np.array([[1.0, np.inf], [0.0, 1.0]]), "non-finite"),
    ],
)
def test_metrics_reject_bad_matrices(sim, message):
    with pytest.raises(ValueError, match=message):
        retrieval_metrics(sim)


@pytest.mark.parametrize(
    "caption_video, message",
    [
        ([0, 0, 0, 2, 2], r"\[1\] have no caption"),
        ([0, 0, 1, 2], "one video index per caption"),
        ([0, 0, 1, 2, 3], r"\[0, 3\)"),
        ([0.0, 0.0, 1.0, 2.0, 2.0], "one video index per caption"),
    ],
)
def test_multi_caption_rejects_bad_assignments(caption_video, message):
    with pytest.raises(ValueError, match=message):
        multi_caption_metrics(np.zeros((5, 3)), caption_video)


# ---------------------------------------------------------------- frames


@pytest.mark.parametrize(
    "num_frames, fps, target, cap, expected",
    [
        (300, 30.0, 3.0, 32, list(range(0, 300, 10))),  # 10 s at 30 fps: 30 frames
        (450, 30.0, 3.0, 32, np.linspace(0, 449, 32).astype(int).tolist()),  # 15 s: 45 > 32, linspace
        (96, 30.0, 3.0, 32, list(range(0, 96, 10))),
        (100, 25.0, 3.0, 32, list(range(0, 100, 8))),  # round(8.33) = 8
        (40, 29.97, 3.0, 32, [0, 10, 20, 30]),
        (20, 7.5, 3.0, 32, list(range(0, 20, 2))),  # round(2.5) = 2 (ties to even)
        (5, 2.0, 3.0, 32, [0, 1, 2, 3, 4]),  # slower than 3 fps: every frame
        (1, 30.0, 3.0, 32, [0]),
        (12, 6.0, 3.0, 32, [0, 2, 4, 6, 8, 10]),  # MMEB-mini clips
        (300, 30.0, 1.0, 8, [0, 42, 85, 128, 170, 213, 256, 299]),
        (330, 30.0, 3.0, 32, np.linspace(0, 329, 32).astype(int).tolist()),  # 33 frames at step 10: capped
        (320, 30.0, 3.0, 32, list(range(0, 320, 10))),  # exactly 32: kept as is
    ],
)
def test_frame_indices(num_frames, fps, target, cap, expected):
    indices = sample_frame_indices(num_frames, fps, target, cap)
    assert indices == expected
    assert len(indices) <= cap and indices == sorted(set(indices)) and indices[-1] < num_frames


def test_linspace_keeps_first_and_last_frame():
    indices = sample_frame_indices(1000, 30.0)
    assert (len(indices), indices[0], indices[-1]) == (32, 0, 999)


@pytest.mark.parametrize(
    "args, message",
    [
        ((0, 30.0), "at least one frame"),
        ((10, 0.0), "positive"),
        ((10, 30.0, -3.0), "positive"),
        ((10, float("nan")), "positive"),
        ((10, 30.0, 3.0, 0), "max_frames"),
    ],
)
def test_frame_indices_bad_input(args, message):
    with pytest.raises(ValueError, match=message):
        sample_frame_indices(*args)


def ramp(count=30, height=32, width=48):
    "Flat grey frames whose level 8*i tells frame i apart after lossy coding."
    levels = np.arange(count) * 8
    return levels, np.broadcast_to(levels[:, None, None, None], (count, height, width, 3)).astype(np.uint8)


@pytest.mark.parametrize("suffix", [".mp4", ".webm", ".mkv"])
def test_decode_keeps_the_sampled_frames(tmp_path, suffix):
    levels, frames = ramp()
    path = write_video(tmp_path / f"ramp{suffix}", frames, fps=15)
    assert probe_video(path) == (30, 15.0)
    decoded = decode_video(path)  # 3 fps from 15: every 5th frame
    assert decoded.shape == (6, 32, 48, 3) and decoded.dtype == np.uint8
    assert np.abs(decoded.reshape(6, -1).mean(1) - levels[::5]).max() < 4
    few = decode_video(path, fps=15, max_frames=4)  # linspace(0, 29, 4) -> 0, 9, 19, 29
    assert np.abs(few.reshape(4, -1).mean(1) - levels[[0, 9, 19, 29]]).max() < 4


def write_frameless_video(path):
    "A Matroska file with a video stream and no frames: a one-frame clip cut right after its header."
    whole = write_video(path.with_suffix(".one.mkv"), np.zeros((1, 16, 16, 3), np.uint8), fps=10).read_bytes()
    for cut in range(16, len(whole)):
        path.write_bytes(whole[:cut])
        try:
            with av.open(str(path)) as container:
                if container.streams.video:
                    return path
        except av.FFmpegError:
            continue
    raise RuntimeError("could not make a frameless clip")


def test_decode_errors_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="absent.mp4"):
        decode_video(tmp_path / "absent.mp4")
    (tmp_path / "garbage.mp4").write_bytes(b"\x00not a video at all" * 10)
    with pytest.raises(VideoDecodeError, match="garbage.mp4"):
        decode_video(tmp_path / "garbage.mp4")
    empty = write_frameless_video(tmp_path / "empty.mkv")
    with pytest.raises(VideoDecodeError, match="empty.mkv has no frames"):
        decode_video(empty)
    whole = write_video(tmp_path / "whole.mp4", ramp()[1], fps=15).read_bytes()
    start = whole.find(b"mdat") + 4
    corrupt = bytearray(whole)
    corrupt[start : start + 4000] = bytes(4000)  # zero the first frames' data
    (tmp_path / "corrupt.mp4").write_bytes(bytes(corrupt))
    with pytest.raises(VideoDecodeError, match="corrupt.mp4"):
        decode_video(tmp_path / "corrupt.mp4")


def test_write_video_rejects_bad_shapes(tmp_path):
    with pytest.raises(ValueError, match=r"\[T, H, W, 3\]"):
        write_video(tmp_path / "x.mp4", np.zeros((4, 16, 16)), fps=10)


# ---------------------------------------------------------------- loaders


def clip(level=100):
    return np.full((10, 16, 16, 3), level, np.uint8)


def write_csv(path, rows, header=("key", "vid_key", "video_id", "sentence")):
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def test_msrvtt_loader_mp4_then_webm(tmp_path):
    write_video(tmp_path / "videos" / "video7.mp4", clip(), fps=10)
    write_video(tmp_path / "videos" / "video7.webm", clip(), fps=10)
    write_video(tmp_path / "videos" / "video9.webm", clip(), fps=10)
    annotations = write_csv(tmp_path / "test.csv", [["r0", "m0", "video9", "a cat"], ["r1", "m1", "video7", " a dog "]])
    videos = load_msrvtt(annotations, tmp_path / "videos")
    assert videos.video_ids == ["video9", "video7"] and videos.captions == ["a cat", "a dog"]
    assert [p.name for p in videos.video_paths] == ["video9.webm", "video7.mp4"]
    assert videos.caption_video == [0, 1] and videos.skipped == {}


def test_msrvtt_loader_groups_repeated_video_ids(tmp_path):
    for name in ("a", "b"):
        write_video(tmp_path / "v" / f"{name}.mp4", clip(), fps=10)
    annotations = write_csv(tmp_path / "t.csv", [["", "", "a", "one"], ["", "", "b", "two"], ["", "", "a", "three"]])
    videos = load_msrvtt(annotations, tmp_path / "v")
    assert videos.video_ids == ["a", "b"] and videos.caption_video == [0, 1, 0]


def test_msrvtt_loader_bad_input(tmp_path):
    (tmp_path / "v").mkdir()
    with pytest.raises(ValueError, match=r"missing column\(s\) \['sentence'\]"):
        load_msrvtt(write_csv(tmp_path / "a.csv", [["x"]], header=("video_id",)), tmp_path / "v")
    with pytest.raises(ValueError, match="b.csv line 3: empty"):
        load_msrvtt(write_csv(tmp_path / "b.csv", [["", "", "x", "s"], ["", "", "y", ""]]), tmp_path / "v")
    with pytest.raises(FileNotFoundError, match="nope.csv"):
        load_msrvtt(tmp_path / "nope.csv", tmp_path / "v")
    with pytest.raises(ValueError, match="no rows"):
        load_msrvtt(write_csv(tmp_path / "c.csv", []), tmp_path / "v")


def test_missing_video_error_and_skip_mode(tmp_path):
    write_video(tmp_path / "v" / "here.mp4", clip(), fps=10)
    annotations = write_csv(tmp_path / "t.csv", [["", "", "here", "one"], ["", "", "gone", "two"]])
    with pytest.raises(FileNotFoundError, match="1 video\\(s\\) missing .*: gone"):
        load_msrvtt(annotations, tmp_path / "v")
    videos = load_msrvtt(annotations, tmp_path / "v", skip_bad=True)
    assert (
        videos.video_ids == ["here"]
        and videos.captions == ["one"]
        and videos.skipped == {"gone": "video file not found"}
    )
    with pytest.raises(FileNotFoundError, match="video folder not found"):
        load_msrvtt(annotations, tmp_path / "no-such-folder")


def test_make_video_set_checks_ids(tmp_path):
    (tmp_path / "v").mkdir()
    with pytest.raises(ValueError, match="caption for unknown video id 'ghost'"):
        make_video_set("s", ["a"], [("a", "x"), ("ghost", "y")], tmp_path / "v")
    with pytest.raises(ValueError, match="without a caption: b"):
        make_video_set("s", ["a", "b"], [("a", "x")], tmp_path / "v")
    with pytest.raises(ValueError, match="listed twice"):
        make_video_set("s", ["a", "a"], [("a", "x")], tmp_path / "v")


def msvd_folder(tmp_path, captions, test_ids):
    for video_id in test_ids:
        write_video(tmp_path / "videos" / f"{video_id}.mp4", clip(), fps=10)
    (tmp_path / "test_list.txt").write_text("".join(f"{v}\n" for v in test_ids) + "\n")
    (tmp_path / "raw-captions.pkl").write_bytes(pickle.dumps(captions))
    return tmp_path


def test_msvd_loader_uses_every_caption(tmp_path):
    captions = {
        "v1": [["a", "man", "sings"], ["someone", "is", "singing"]],
        "v2": [["a", "cat"]],
        "train_only": [["not", "a", "test", "clip"]],
    }
    folder = msvd_folder(tmp_path, captions, ["v2", "v1"])
    for annotations in (folder / "raw-captions.pkl", folder):
        videos = load_msvd(annotations, folder / "videos")
        assert videos.video_ids == ["v2", "v1"]
        assert videos.captions == ["a cat", "a man sings", "someone is singing"]
        assert videos.caption_video == [0, 1, 1]
    assert load_video_set("msvd", folder / "videos", folder / "raw-captions.pkl").name == "msvd"


@pytest.mark.parametrize(
    "captions, message",
    [
        ({"v1": [["a"]]}, "no captions for video 'v2'"),
        ({"v1": [["a"]], "v2": []}, "non-empty list of captions"),
        ({"v1": [["a"]], "v2": [[1, 2]]}, "video 'v2' caption 0: a caption must be a list of token strings"),
        ({"v1": [["a"]], "v2": [["a"], []]}, "video 'v2' caption 1: empty caption"),
        ([["a"]], "expected a dict"),
    ],
)
def test_msvd_loader_bad_captions(tmp_path, captions, message):
    folder = msvd_folder(tmp_path, captions, ["v1", "v2"])
    with pytest.raises(ValueError, match=message):
        load_msvd(folder / "raw-captions.pkl", folder / "videos")


class Exploit:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.mkdir, (str(self.marker),))


def test_caption_pickle_refuses_code(tmp_path):
    marker = tmp_path / "pwned"
    (tmp_path / "evil.pkl").write_bytes(pickle.dumps({"v1": Exploit(marker)}))
    with pytest.raises(ValueError, match="refusing global"):
        read_caption_pickle(tmp_path / "evil.pkl")
    assert not marker.exists()
    (tmp_path / "cut.pkl").write_bytes(pickle.dumps({"v1": [["a"]]})[:-3])
    with pytest.raises(ValueError, match="cut.pkl"):
        read_caption_pickle(tmp_path / "cut.pkl")


def test_load_video_set_dispatch_errors(tmp_path):
    with pytest.raises(ValueError, match="unknown video dataset"):
        load_video_set("kinetics")
    with pytest.raises(ValueError, match="needs both"):
        load_video_set("msvd", annotations=tmp_path)


# ---------------------------------------------------------------- evaluation with a stand-in model


class LevelModel:
    "Stand-in: a clip's embedding is its mean grey level on a half circle; a caption 'level N' maps the same way."

    def __init__(self):
        self.calls = []

    @staticmethod
    def embed(levels):
        angles = torch.tensor(levels, dtype=torch.float32) / 255 * torch.pi
        return torch.stack([angles.cos(), angles.sin()], dim=1)

    def encode(self, texts=None, batch_size=32, normalize=True, show_progress=True):
        prefix = CAPTION_PROMPT.format(caption="")
        assert all(t.startswith(prefix) for t in texts)
        return self.embed([float(t[len(prefix) :].split()[1]) for t in texts])

    def encode_video(self, videos, texts=None, batch_size=8, normalize=True, show_progress=True, max_length=None):
        assert texts == [VIDEO_PROMPT] * len(videos)
        self.calls.append([len(v) for v in videos])
        return self.embed([float(np.asarray(v).mean()) for v in videos])


def level_set(tmp_path, levels=(20, 90, 160, 230)):
    for number, level in enumerate(levels):
        write_video(tmp_path / "videos" / f"c{number}.mp4", clip(level), fps=10)
    rows = [["", "", f"c{n}", f"level {level} clip"] for n, level in enumerate(levels)]
    return write_csv(tmp_path / "test.csv", rows)


def test_evaluation_batches_clips_and_uses_prompts(tmp_path):
    annotations = level_set(tmp_path)
    model = LevelModel()
    result = video.evaluate_video_retrieval(model, load_msrvtt(annotations, tmp_path / "videos"), batch_size=3)
    assert model.calls == [[4, 4, 4], [4]]  # 1 s at 10 fps -> frames 0, 3, 6, 9; one video input each
    assert result["text_to_video"]["R@1"] == 100.0 and result["video_to_text"]["R@1"] == 100.0
    assert (result["num_videos"], result["num_captions"], result["skipped"]) == (4, 4, {})


def test_evaluation_skip_mode_reports_undecodable(tmp_path):
    annotations = level_set(tmp_path)
    (tmp_path / "videos" / "c2.mp4").write_bytes(b"broken")
    videos = load_msrvtt(annotations, tmp_path / "videos")
    with pytest.raises(VideoDecodeError, match="video 'c2'.*c2.mp4"):
        video.evaluate_video_retrieval(LevelModel(), videos)
    result = video.evaluate_video_retrieval(LevelModel(), videos, skip_bad=True)
    assert (result["num_videos"], result["num_captions"]) == (3, 3)
    assert list(result["skipped"]) == ["c2"] and "c2.mp4" in result["skipped"]["c2"]


def run_cli(argv):
    args = build_parser(["llave.video"]).parse_args(["eval", "video", *argv])
    return args.func(args)


def test_cli_with_stand_in_model(tmp_path, monkeypatch, capsys):
    annotations = level_set(tmp_path)
    (tmp_path / "videos" / "c1.mp4").unlink()
    monkeypatch.setattr(video, "load_eval_model", lambda path, device=None, dtype="auto": LevelModel())
    base = [
        "--model",
        "stand-in",
        "--dataset",
        "msrvtt",
        "--videos",
        str(tmp_path / "videos"),
        "--annotations",
        str(annotations),
        "--out",
        str(tmp_path / "out"),
    ]
    with pytest.raises(FileNotFoundError, match="c1"):
        run_cli(base)
    assert run_cli([*base, "--skip-bad", "--fps", "10", "--max-frames", "5"]) == 0
    result = json.loads((tmp_path / "out" / "video_msrvtt.json").read_text())
    assert (result["num_videos"], result["fps"], result["max_frames"]) == (3, 10.0, 5)
    assert result["skipped"] == {"c1": "video file not found"}
    assert result["paper_table4_t2v"]["LLaVE-7B (zero-shot)"] == [46.8, 71.1, 80.0]
    assert os.listdir(tmp_path / "out") == ["video_msrvtt.json"]  # atomic write leaves no temporary file
    printed = capsys.readouterr().out
    assert "skipped 1 video(s): c1" in printed and "LLaVE-7B (zero-shot)" in printed and "46.8" in printed


# ---------------------------------------------------------------- the real tiny model on MMEB-mini's video sets


@pytest.fixture(scope="module")
def tiny_model_dir(tmp_path_factory):
    from llave.model import tiny_llava_onevision

    return tiny_llava_onevision(tmp_path_factory.mktemp("tiny") / "model")


@pytest.fixture(scope="module")
def mini_root(tmp_path_factory):
    from llave.minimmeb import MiniConfig, build_mini

    return build_mini(tmp_path_factory.mktemp("mini") / "mmeb-mini", config=MiniConfig.small())


def test_video_prompt_and_token_layout_match_the_model(tiny_model_dir, mini_root):
    from llave import model as model_module

    assert VIDEO_PROMPT == "<video>\nRepresent the given video."  # the released evaluation's wording
    llave_model = model_module.LLaVE.from_pretrained(tiny_model_dir)
    frames = decode_video(mini_root / "video" / "mini_vtt" / "videos" / "video0.mp4")
    assert frames.shape[0] == 6  # 12 frames at 6 fps, sampled at 3 fps
    batch = llave_model.prepare([VIDEO_PROMPT], videos=[frames])
    assert tuple(batch["pixel_values_videos"].shape[:2]) == (1, 6)  # all frames as one video input
    video_tokens = int((batch["input_ids"] == llave_model.model.config.video_token_id).sum())
    assert video_tokens == video_token_count(6, image_size=64, patch_size=16) == 6 * 4 + 1


@pytest.mark.parametrize("dataset, counts", [("mini", (8, 8)), ("mini_vtt", (8, 8)), ("mini_vd", (6, 18))])
def test_cli_end_to_end_tiny_model_on_mini(tiny_model_dir, mini_root, tmp_path, capsys, dataset, counts):
    assert (
        run_cli(
            [
                "--model",
                str(tiny_model_dir),
                "--dataset",
                dataset,
                "--mini-root",
                str(mini_root),
                "--out",
                str(tmp_path),
                "--batch-size",
                "4",
            ]
        )
        == 0
    )
    result = json.loads((tmp_path / f"video_{dataset}.json").read_text())
    assert (result["num_videos"], result["num_captions"]) == counts
    assert result["dataset"] == ("mini_vtt" if dataset == "mini" else dataset)
    for direction in ("text_to_video", "video_to_text"):
        metrics = result[direction]
        assert set(metrics) == {"R@1", "R@5", "R@10", "MdR", "MnR"}
        assert 0 <= metrics["R@1"] <= metrics["R@5"] <= metrics["R@10"] == 100.0  # fewer than 10 videos
        assert 1 <= metrics["MdR"] <= counts[0] and 1 <= metrics["MnR"] <= counts[0]
    printed = capsys.readouterr().out
    assert "text->video" in printed and "video->text" in printed and "Table 4" in printed


def test_tiny_model_evaluation_matches_manual_similarity(tiny_model_dir, mini_root):
    from llave.model import LLaVE

    llave_model = LLaVE.from_pretrained(tiny_model_dir)
    videos = load_video_set("mini_vd", mini_root=mini_root)
    result = video.evaluate_video_retrieval(llave_model, videos, batch_size=8)
    clips = [decode_video(path) for path in videos.video_paths]
    video_embeddings = llave_model.encode_video(clips, texts=[VIDEO_PROMPT] * len(clips), show_progress=False)
    text_embeddings = llave_model.encode(
        texts=[CAPTION_PROMPT.format(caption=c) for c in videos.captions], show_progress=False
    )
    expected = multi_caption_metrics(text_embeddings @ video_embeddings.T, videos.caption_video)
    for direction in ("text_to_video", "video_to_text"):
        assert result[direction] == pytest.approx(expected[direction])


@pytest.mark.slow
def test_two_processes_give_one_process_metrics(tiny_model_dir, mini_root, tmp_path):
    "`torchrun --nproc_per_node=2 -m llave eval video`: the clips shared among the ranks, the same metrics, one file."
    from torchrun import run_torchrun

    command = [
        "eval",
        "video",
        "--model",
        str(tiny_model_dir),
        "--dataset",
        "mini_vd",
        "--mini-root",
        str(mini_root),
        "--batch-size",
        "2",
    ]
    assert run_cli(command[2:] + ["--out", str(tmp_path / "one")]) == 0
    result = run_torchrun(["-m", "llave"] + command + ["--out", str(tmp_path / "two")], clean=tmp_path / "two")
    assert result.returncode == 0, result.stdout + result.stderr
    one, two = (json.loads((tmp_path / out / "video_mini_vd.json").read_text()) for out in ("one", "two"))
    assert two["processes"] == 2 and result.stdout.count("results written to") == 1
    assert {k: two[k] for k in ("text_to_video", "video_to_text", "num_videos")} == {
        k: one[k] for k in ("text_to_video", "video_to_text", "num_videos")
    }
