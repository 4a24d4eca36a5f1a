"""Training: DDP vs one process (torchrun, gloo), GradCache, exact resume, the NaN guard, config errors, the CLI."""

import contextlib
import dataclasses
import json
import re
import shutil
from pathlib import Path

import pytest
import torch
from PIL import Image
from safetensors.torch import load_file

from llave.cli import main
from llave.model import tiny_llava_onevision
from llave.train import NonFiniteLossError, TrainConfig, checkpoint_directories, config_from_dict, load_config, train
from torchrun import run_torchrun

DISTRIBUTED = Path(__file__).parent / "distributed"
COLOURS = ["red", "green", "blue", "yellow", "purple", "orange", "white", "black"]


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    "Eight image->caption pairs in MMEB-train format, and a tiny LLaVA-OV trained on nothing yet."
    root = tmp_path_factory.mktemp("toy")
    (root / "train").mkdir()
    rows, pairs = [], []
    for index, colour in enumerate(COLOURS):
        Image.new("RGB", (64, 64), colour).save(root / f"{colour}.png")
        rows.append(
            {
                "qry": "<|image_1|> Represent the given image.",
                "qry_image_path": f"{colour}.png",
                "pos_text": f"a {colour} square",
                "pos_image_path": "",
            }
        )
        pairs.append(
            {
                "query_text": "<image>\nRepresent the given image.",
                "query_image": str(root / f"{colour}.png"),
                "target_text": f"a {colour} square",
                "target_image": None,
                "subset": "toy",
                "row": index,
            }
        )
    (root / "train" / "toy.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (root / "pairs.json").write_text(json.dumps(pairs))
    model = tiny_llava_onevision(root / "model", corpus=[r["pos_text"] for r in rows], seed=0)
    return root, model


def toy_config(toy, output_dir, **changes) -> TrainConfig:
    root, model = toy
    values = dict(
        model=str(model),
        data=str(root / "train"),
        image_root=str(root),
        batch_size=8,
        max_steps=6,
        learning_rate=1e-4,
        warmup_ratio=0.2,
        tau=0.05,
        log_every=1,
        save_every=3,
        keep_last=3,
        output_dir=str(output_dir),
        show_progress=False,
        freeze_vision=False,
        max_grad_norm=None,
    )
    return config_from_dict({**values, **changes})


def weights(checkpoint: Path) -> dict:
    return {k: v for f in sorted(checkpoint.glob("*.safetensors")) for k, v in load_file(f).items()}


@pytest.mark.slow
def test_ddp_gradients_equal_single_process(toy):
    "Two ranks (gloo) with half the batch each: same loss and parameter gradients as one process (plain, GradCache)."
    root, model = toy
    result = run_torchrun([str(DISTRIBUTED / "train_worker.py"), str(model), str(root / "pairs.json")])
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    lines = [line for line in result.stdout.splitlines() if line.startswith("gradcache=")]
    assert len(lines) == 2 and all(line.endswith(" ok") for line in lines), output


@pytest.mark.slow
def test_torchrun_cli_trains_and_saves(toy, tmp_path):
    "`llave train` under torchrun with 2 processes: runs, logs from rank 0 only, writes a loadable checkpoint."
    torchrun_train(toy_config(toy, tmp_path / "run", batch_size=4, max_steps=2, save_every=2), tmp_path)
    assert [p.name for p in checkpoint_directories(tmp_path / "run")] == ["checkpoint-2"]
    assert len((tmp_path / "run" / "metrics.jsonl").read_text().splitlines()) == 2
    assert (tmp_path / "run" / "checkpoint-2" / "random_state_rank1.pt").exists()
    assert (tmp_path / "run" / "checkpoint-2" / "modules.json").exists()  # loads in sentence-transformers too


def torchrun_train(config: TrainConfig, folder: Path, *extra: str) -> None:
    "`llave train` under torchrun with 2 processes on `config` written to a TOML file in `folder`."
    path = folder / f"{Path(config.output_dir).name}.toml"
    path.write_text(
        "".join(f"{k} = {json.dumps('none' if v is None else v)}\n" for k, v in dataclasses.asdict(config).items())
    )
    result = run_torchrun(
        [str(DISTRIBUTED / "run_cli.py"), "train", str(path), *extra],
        clean=None if "--resume" in extra else Path(config.output_dir),
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.slow
def test_fsdp_equals_ddp_and_resumes_exactly(toy, tmp_path):
    "FSDP (fully_shard, 2 ranks) ends with DDP's weights; a sharded run resumed from its step-2 checkpoint is exact."
    # max_grad_norm 1000 never clips here (norms 5-75) but makes both runs compute and log the global gradient norm:
    # under FSDP each rank holds a shard of every gradient, so a norm of the local shards would be wrong
    # FSDP embeds a step's queries and targets in one padded forward without the shared prefix (`inputs_supported`):
    # DDP is asked for the same, so both compute the same sums
    settings = dict(
        batch_size=4,
        max_steps=4,
        save_every=2,
        learning_rate=1e-3,
        warmup_ratio=0.25,
        max_grad_norm=1000.0,
        share_prefix=False,
        group_overhead=None,
    )
    torchrun_train(toy_config(toy, tmp_path / "ddp", sharding="ddp", **settings), tmp_path)
    torchrun_train(toy_config(toy, tmp_path / "fsdp", sharding="fsdp", **settings), tmp_path)
    ddp, fsdp = weights(tmp_path / "ddp" / "checkpoint-4"), weights(tmp_path / "fsdp" / "checkpoint-4")
    assert ddp.keys() == fsdp.keys() and max((ddp[k] - fsdp[k]).abs().max().item() for k in ddp) < 1e-6
    norms = [
        [json.loads(line)["grad_norm"] for line in (tmp_path / run / "metrics.jsonl").read_text().splitlines()]
        for run in ("ddp", "fsdp")
    ]
    assert len(norms[0]) == 4 and min(norms[0]) > 1 and max(abs(a / b - 1) for a, b in zip(*norms)) < 1e-5
    shutil.copytree(tmp_path / "fsdp" / "checkpoint-2", tmp_path / "resumed" / "checkpoint-2")
    torchrun_train(toy_config(toy, tmp_path / "resumed", sharding="fsdp", **settings), tmp_path, "--resume")
    resumed = weights(tmp_path / "resumed" / "checkpoint-4")
    assert all(torch.equal(fsdp[k], resumed[k]) for k in fsdp)
    for name in ("modules.json", "1_Pooling/config.json"):  # FSDP's own save path writes what save_pretrained writes
        assert (tmp_path / "fsdp" / "checkpoint-4" / name).read_text() == (
            tmp_path / "ddp" / "checkpoint-4" / name
        ).read_text()
    moved = weights(tmp_path / "fsdp" / "checkpoint-2")
    assert max((fsdp[k] - moved[k]).abs().max().item() for k in fsdp) > 1e-4  # steps 3-4 did change the weights


def test_loss_falls_and_resume_is_exact(toy, tmp_path):
    "6 steps straight vs 3 steps, stop, resume for 3 more: identical weights; and the loss falls."
    straight = toy_config(toy, tmp_path / "straight")
    train(straight)
    losses = [json.loads(line)["loss"] for line in (tmp_path / "straight" / "metrics.jsonl").read_text().splitlines()]
    assert losses[-1] < losses[0]
    expected = weights(tmp_path / "straight" / "checkpoint-6")
    saved = json.loads((tmp_path / "straight" / "checkpoint-6" / "config.json").read_text())
    assert saved["mm_newline_position"] == "grid"  # what the released training writes in every checkpoint

    interrupted = toy_config(toy, tmp_path / "interrupted")
    shutil.copytree(tmp_path / "straight" / "checkpoint-3", tmp_path / "interrupted" / "checkpoint-3")
    train(interrupted, resume=True)
    actual = weights(tmp_path / "interrupted" / "checkpoint-6")
    assert expected.keys() == actual.keys()
    assert all(torch.equal(expected[k], actual[k]) for k in expected)


def test_gradcache_run_matches_plain_run(toy, tmp_path):
    """Three steps with GradCache chunks of 3 against three plain steps: the first loss (same weights, same batch) to
    1e-6, the later ones to 1e-4 (of ~8), and the weights.

    Adam divides by the gradient's running RMS, so float rounding in a near-zero gradient can move that weight by up
    to lr per step (measured: 0.02% of the weights differ by more than 1e-6, the largest by 8.6e-5, and the later
    losses by up to 2.5e-5, depending on the machine's kernels). So the weights are held to the bound (3 steps x lr)
    and, in the mean, to a thousandth of how far the three steps moved them (measured: 4e-5 of it); a wrong gradient
    moves most weights differently and fails the mean by orders of magnitude."""
    train(toy_config(toy, tmp_path / "plain", max_steps=3))
    train(toy_config(toy, tmp_path / "cached", max_steps=3, gradcache_chunk_size=3))
    losses = [
        [json.loads(line)["loss"] for line in (tmp_path / run / "metrics.jsonl").read_text().splitlines()]
        for run in ("plain", "cached")
    ]
    assert len(losses[0]) == 3 and abs(losses[0][0] - losses[1][0]) < 1e-6
    assert max(abs(a - b) for a, b in zip(*losses)) < 1e-4
    plain, cached = weights(tmp_path / "plain" / "checkpoint-3"), weights(tmp_path / "cached" / "checkpoint-3")
    start = weights(Path(toy[1]))
    differ = torch.cat([(plain[k] - cached[k]).abs().flatten() for k in plain])
    moved = torch.cat([(plain[k] - start[k]).abs().flatten() for k in plain])
    assert differ.max().item() < 3 * 1e-4 and differ.mean().item() < 1e-3 * moved.mean().item()


def test_accumulation_is_the_mean_of_micro_batch_gradients(toy, tmp_path):
    """Two accumulated micro-batches of 4: the gradient is the mean of each micro-batch's own contrastive gradient
    (each query meets only its micro-batch's 3 negatives), not the gradient of one batch of 8."""
    from llave.model import LLaVE
    from llave.train import PairEncoder, load_pairs, make_loss, train_step

    config = toy_config(toy, tmp_path, batch_size=4, gradient_accumulation_steps=2)
    model = LLaVE.from_pretrained(config.model, torch_dtype=torch.float32).train()
    encoder, loss_fn, pairs = PairEncoder(model), make_loss(config), load_pairs(config)
    halves = [pairs[:4], pairs[4:]]

    def gradient(batches) -> tuple[torch.Tensor, float]:
        model.zero_grad(set_to_none=True)
        stats = train_step(encoder, model, loss_fn, batches, config, contextlib.nullcontext)
        return torch.cat([p.grad.flatten() for p in model.parameters() if p.grad is not None]), stats["loss"]

    accumulated, loss = gradient(halves)
    separate = [gradient([half]) for half in halves]
    expected = (separate[0][0] + separate[1][0]) / 2
    torch.testing.assert_close(accumulated, expected, rtol=1e-4, atol=1e-7)
    assert abs(loss - (separate[0][1] + separate[1][1]) / 2) < 1e-5
    whole, _ = gradient([pairs])
    assert (whole - accumulated).norm() > 0.05 * whole.norm()  # 7 negatives per query instead of 3


def test_nan_loss_stops_and_keeps_the_last_checkpoint(toy, tmp_path):
    calls = []

    def loss_becoming_nan(q, t):
        calls.append(1)
        loss = (q * t).sum(-1).mean()
        return loss * float("nan") if len(calls) == 3 else loss

    config = toy_config(toy, tmp_path / "run", save_every=2, max_steps=6)
    with pytest.raises(NonFiniteLossError, match=r"loss is nan at step 3.*checkpoint-2"):
        train(config, loss_fn=loss_becoming_nan)
    assert [p.name for p in checkpoint_directories(tmp_path / "run")] == ["checkpoint-2"]
    assert weights(tmp_path / "run" / "checkpoint-2")


def test_nan_loss_through_the_cli_is_one_line(toy, tmp_path, capsys):
    "`llave train` on a NaN: exit status 3 and one line naming the step and the last good checkpoint, no traceback."
    path = tmp_path / "run.toml"
    config = toy_config(toy, tmp_path / "run", max_steps=1, save_every=1)
    path.write_text(
        "".join(f"{k} = {json.dumps('none' if v is None else v)}\n" for k, v in dataclasses.asdict(config).items())
    )
    assert main(["train", str(path)]) == 0
    capsys.readouterr()
    # tau = 1e-45 rounds to float32's smallest subnormal: s / tau overflows to infinity, and the loss to nan
    assert main(["train", str(path), "max_steps=2", "tau=1e-45", "--resume"]) == 3
    error = capsys.readouterr().err.strip()
    assert "Traceback" not in error, error  # above it: only transformers' loading bar
    assert re.fullmatch(
        rf"llave train: loss is (nan|inf) at step 2: training stopped before the update; "
        rf"last good checkpoint: {re.escape(str(tmp_path / 'run' / 'checkpoint-1'))}",
        error.splitlines()[-1],
    ), error


def test_resume_without_checkpoint_is_an_error(toy, tmp_path):
    with pytest.raises(FileNotFoundError, match="no checkpoint in"):
        train(toy_config(toy, tmp_path / "empty"), resume=True)


def test_bad_config_keys(tmp_path, capsys):
    with pytest.raises(ValueError, match=r"unknown config key\(s\) \['alpah'\]; valid keys: .*alpha"):
        load_config("tiny", ["alpah=3"])
    assert main(["train", "tiny", "alpah=3"]) == 2
    assert "valid keys" in capsys.readouterr().err
    bad = tmp_path / "bad.toml"
    bad.write_text("learning_rate = 1e-5\nwarmup = 0.1\n")
    with pytest.raises(ValueError, match=r"bad.toml: unknown config key\(s\) \['warmup'\]"):
        load_config(bad)
    with pytest.raises(ValueError, match="is not key=value"):
        load_config("tiny", ["alpha"])


@pytest.mark.slow
@pytest.mark.parametrize(
    "changes",
    [
        dict(cache_inputs=True, freeze_vision=True),
        dict(cache_inputs=False, gradcache_chunk_size=4, gradient_accumulation_steps=2),
    ],
)
def test_data_workers_change_nothing_and_resume_exactly(toy, tmp_path, changes):
    """Inputs prepared by 2 worker processes ahead of the step (the input cache with a frozen tower; the processor's
    padded batches with GradCache and accumulation): the same weights as without them, bitwise, and a run resumed
    from step 2 with workers ends on them too."""
    settings = dict(max_steps=4, save_every=2, keep_last=2, **changes)
    train(toy_config(toy, tmp_path / "plain", **settings))
    train(toy_config(toy, tmp_path / "workers", num_workers=2, **settings))
    plain, workers = weights(tmp_path / "plain" / "checkpoint-4"), weights(tmp_path / "workers" / "checkpoint-4")
    assert plain.keys() == workers.keys() and all(torch.equal(plain[k], workers[k]) for k in plain)
    losses = [
        [json.loads(line)["loss"] for line in (tmp_path / run / "metrics.jsonl").read_text().splitlines()]
        for run in ("plain", "workers")
    ]
    assert losses[0] == losses[1] and len(losses[0]) == 4
    shutil.copytree(tmp_path / "workers" / "checkpoint-2", tmp_path / "resumed" / "checkpoint-2")
    train(toy_config(toy, tmp_path / "resumed", num_workers=2, **settings), resume=True)
    resumed = weights(tmp_path / "resumed" / "checkpoint-4")
    assert all(torch.equal(workers[k], resumed[k]) for k in workers)
    moved = weights(tmp_path / "workers" / "checkpoint-2")
    assert max((workers[k] - moved[k]).abs().max().item() for k in workers) > 1e-6  # steps 3-4 trained


def test_typed_config_values():
    "Python values, command-line strings and TOML values reach the same typed config; wrong types name the field."
    from pathlib import Path
    from llave.mini.pretrain import PretrainConfig

    typed = config_from_dict(
        dict(
            alpha=3,
            subsets=["A", "B"],
            gradcache_chunk_size=None,
            show_progress=False,
            image_root=Path("/images"),
            max_grad_norm=None,
        )
    )
    text = config_from_dict(
        dict(
            alpha="3",
            subsets="A, B",
            gradcache_chunk_size="none",
            show_progress="false",
            image_root="/images",
            max_grad_norm="null",
        )
    )
    assert typed == text and typed.alpha == 3.0 and isinstance(typed.alpha, float) and typed.image_root == "/images"
    for values, message in (
        ({"alpha": True}, "alpha must be float, got True"),
        ({"batch_size": None}, "batch_size cannot be None"),
        ({"subsets": [1]}, "subsets must be a list of strings"),
        ({"batch_size": "4.5"}, "batch_size must be int"),
        ({"show_progress": "maybe"}, "show_progress must be true or false"),
    ):
        with pytest.raises(ValueError, match=message):
            config_from_dict(values)
    assert config_from_dict({"steps": "5"}, PretrainConfig()).steps == 5  # any config dataclass


def test_presets_carry_the_paper_settings():
    for name, lr in (("llave-0.5b", 1e-5), ("llave-2b", 1e-5), ("llave-7b", 5e-6)):
        config = load_config(name)
        assert (config.alpha, config.tau, config.learning_rate, config.weight_decay) == (9.0, 0.02, lr, 0.0)
        assert (config.warmup_ratio, config.epochs, config.batch_size, config.max_rows_per_subset) == (
            0.03,
            1.0,
            4,
            50000,
        )
        assert config.freeze_vision and config.gradient_checkpointing and config.precision == "bf16"
    assert load_config("llave-7b").sharding == "fsdp"


def test_tensorboard_events_equal_the_metrics_file(toy, tmp_path):
    "`report_to=tensorboard`: every logged number of metrics.jsonl, hardness profile included, in the event file."
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    train(toy_config(toy, tmp_path / "run", max_steps=3, save_every=0, report_to="tensorboard"))
    logged = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    events = EventAccumulator(str(tmp_path / "run" / "tensorboard")).Reload()
    for key in ("loss", "lr", "effective_negatives", "top_negative_share"):
        recorded = [(event.step, event.value) for event in events.Scalars(f"train/{key}")]
        assert recorded == [(row["step"], pytest.approx(row[key], rel=1e-6)) for row in logged]


def test_an_unknown_tracker_fails_before_the_model_loads(toy, tmp_path, capsys):
    from llave.cli import main

    assert main(["train", "tiny", f"output_dir={tmp_path / 'run'}", "report_to=tensorbord"]) == 2
    assert "report_to: unknown ['tensorbord']" in capsys.readouterr().err and not (tmp_path / "run").exists()
