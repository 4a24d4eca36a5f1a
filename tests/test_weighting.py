"scripts/sweeps.py and llave.mini.weighting's inputs: arguments, bad input, and a tiny end-to-end alpha sweep."

import importlib.util
import json
import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from llave.mini.demo import DemoSettings
from llave.mini.weighting import alpha_sweep, export_sweep, negatives_settings, read_metrics, training_logs

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "sweeps.py"


def load_script():
    spec = importlib.util.spec_from_file_location("sweeps_script", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_script_defaults_are_the_notebook_sweeps():
    args = load_script().parse(["both"])
    assert args.alphas == [0.0, 1.0, 3.0, 9.0, 15.0, 25.0]
    assert args.batch_sizes == [8, 16, 32, 128] and args.chunk_size == 32 and args.budget == "pairs"
    assert args.seeds == 3 and (args.start, args.steps, args.eval_rows, args.video) == ("pretrained", 2000, 500, True)
    assert (
        args.reuse_demo is None
        and load_script().parse(["alpha", "--reuse-demo", "runs/demo"]).reuse_demo == "runs/demo"
    )
    assert args.line_drawings is None  # the generative recipe's own (1000), as `llave demo --from-scratch`


def test_script_line_drawings_only_for_a_generative_stage_run_here(tmp_path):
    with pytest.raises(ValueError, match="is set only with start='pretrain'"):
        load_script().main(["alpha", "--line-drawings", "0", "--runs", str(tmp_path / "runs")])
    assert not (tmp_path / "runs").exists()  # refused before anything runs


@pytest.mark.parametrize("argv", [[], ["gamma"], ["alpha", "--budget", "epochs"], ["alpha", "--seeds", "two"]])
def test_script_rejects_bad_arguments(argv, capsys):
    with pytest.raises(SystemExit) as error:
        load_script().parse(argv)
    assert error.value.code == 2
    assert "error" in capsys.readouterr().err


@pytest.mark.slow
def test_script_runs_a_tiny_alpha_sweep_and_exports_it(tmp_path):
    argv = [
        "alpha",
        "--seeds",
        "1",
        "--steps",
        "2",
        "--eval-rows",
        "2",
        "--alphas",
        "0",
        "9",
        "--no-video",
        "--runs",
        str(tmp_path / "runs"),
        "--export",
        str(tmp_path / "export"),
        "--no-progress",
    ]
    assert load_script().main(argv) == 0
    exported = tmp_path / "export" / "alpha_sweep"
    results = json.loads((exported / "results.json").read_text())
    assert results["settings"]["losses"] == {"alpha=0": 0.0, "alpha=9": 9.0}
    assert results["settings"]["video"] is False
    assert (results["settings"]["steps"], results["settings"]["warmup_steps"]) == (2, 0)  # DemoSettings.with_steps
    logs = training_logs(exported, losses=("alpha=0", "alpha=9"))
    assert logs["alpha=9"][0]["step"].tolist() == [2.0]
    assert not list(exported.rglob("*.safetensors")) and not list(exported.rglob("optimizer.pt"))


def test_alpha_sweep_rejects_bad_alphas(tmp_path):
    for alphas in ((), (0.0, float("nan")), (0.0, -3.0), (9.0, 9.0)):
        with pytest.raises(ValueError, match="distinct, finite and >= 0"):
            alpha_sweep(tmp_path, alphas=alphas, seeds=1, log=lambda message: None)
    assert not list(tmp_path.iterdir())  # nothing trained or written


def test_negatives_settings_scale_and_gradcache():
    base = DemoSettings(steps=100, batch_size=32, warmup_steps=10)
    small = negatives_settings(base, 16, 32, "pairs")
    assert (small.steps, small.warmup_steps, small.gradcache_chunk_size) == (200, 20, None)
    large = negatives_settings(base, 64, 32, "steps")
    assert (large.steps, large.warmup_steps, large.gradcache_chunk_size) == (100, 10, 32)
    assert negatives_settings(base, 64, None, "pairs").gradcache_chunk_size is None
    with pytest.raises(ValueError, match="budget must be"):
        negatives_settings(base, 8, 32, "time")


def test_bad_logs_name_the_file_and_line(tmp_path):
    log = tmp_path / "metrics.jsonl"
    log.write_text("")
    with pytest.raises(ValueError, match="metrics.jsonl: no logged steps"):
        read_metrics(log)
    log.write_text('{"step": 1}\n[1, 2]\n')
    with pytest.raises(ValueError, match="line 2: expected an object"):
        read_metrics(log)
    with pytest.raises(FileNotFoundError, match="no metrics.jsonl"):
        training_logs(tmp_path)
    with pytest.raises(FileNotFoundError, match="no results.json or negatives.json"):
        export_sweep(tmp_path, tmp_path / "out")
