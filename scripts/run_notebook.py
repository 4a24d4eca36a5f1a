"""Execute notebooks as `nbdev_test` does (cells flagged notest/slow/gpu are skipped) and keep or check their outputs.

Usage:
  python scripts/run_notebook.py nbs/10_hard_negatives.ipynb [...]       # run, write the outputs back (then nbdev_clean)
  python scripts/run_notebook.py --check [--workers 2] nbs/*.ipynb        # run, fail if the committed outputs are stale

Every lesson notebook is committed with its outputs so that a reader on GitHub sees them without running anything.
`--check` is the test command's notebook step: it runs each notebook (a failing cell fails the check, as in
`nbdev_test`) and compares what it printed with what is committed. Numbers are masked before comparing (timings and
the last digits of float sums differ between machines); what must match is each cell's printed text otherwise,
and the number of figures. A notebook whose code changed without re-running it fails with the cell and the line.
"""

import argparse
import base64
import io
import os
import re
import sys
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

os.environ.setdefault(
    "HF_HUB_DISABLE_PROGRESS_BARS", "1"
)  # transformers' load/save bars stay out of the committed outputs

from execnb.nbio import read_nb, write_nb
from execnb.shell import CaptureShell
from fastcore.xtras import working_directory
from nbdev.frontmatter import FrontmatterProc
from nbdev.process import NBProcessor
from PIL import Image

SKIPPED = {"notest", "slow", "gpu"}
FIGURE_RC = {"figure.dpi": 50, "savefig.dpi": 50}
MAX_WIDTH = 720  # pixels: the notebooks stay under 300 KB
NUMBER = re.compile(r"[-+]?\d[\d,_]*(\.\d+)?([eE][-+]?\d+)?")
MASKS = [(re.compile(r"0x[0-9a-fA-F]+"), "<address>"), (re.compile(r"(?:/[^\s'\"/]+){2,}/?"), "<path>")]


def execute(path: Path):
    "Run the notebook at `path`; returns (the notebook as stored, its executed cells)."
    notebook = NBProcessor(path, procs=FrontmatterProc, process=True).nb

    def skip(cell) -> bool:
        skipped = cell.cell_type != "code" or bool(SKIPPED & set(getattr(cell, "directives_", None) or {}))
        if not skipped:  # execnb keeps a cell's old outputs when it now prints nothing: a cell run starts empty
            cell.outputs = []
        return skipped

    shell = CaptureShell(path)
    shell.run(
        f"%config InlineBackend.figure_formats = ['png']\n%config InlineBackend.rc = {FIGURE_RC!r}\n"
        f"import matplotlib; matplotlib.rcParams.update({FIGURE_RC!r})"
    )
    with working_directory(path.parent):
        shell.run_all(notebook, exc_stop=True, preproc=skip)
    raw = read_nb(path)
    if len(raw.cells) != len(notebook.cells):
        raise RuntimeError(f"{path}: {len(raw.cells)} cells on disk but {len(notebook.cells)} were run")
    return raw, notebook.cells


def shrink_png(data: str, width: int = MAX_WIDTH) -> str:
    "A base64 PNG at most `width` pixels wide, with a 64-colour palette (figures stay legible at a tenth of the bytes)."
    image = Image.open(io.BytesIO(base64.b64decode(data)))
    if image.width > width:
        image = image.resize((width, round(image.height * width / image.width)), Image.LANCZOS)
    buffer = io.BytesIO()
    image.convert("RGB").quantize(64).save(buffer, format="PNG", optimize=True)
    return base64.b64encode(buffer.getvalue()).decode()


def run(path: Path) -> None:
    "Run the notebook at `path` and write the code cells' outputs back into it, figures shrunk."
    raw, executed = execute(path)
    for stored, cell in zip(raw.cells, executed):
        if stored.cell_type == "code":
            stored["outputs"] = cell.get("outputs", [])
            for output in stored["outputs"]:
                if "image/png" in output.get("data", {}):
                    output["data"]["image/png"] = shrink_png(output["data"]["image/png"])
            stored["execution_count"] = cell.get("execution_count")
    write_nb(raw, path)


def summary(outputs) -> tuple[list[str], int]:
    "The printed text of `outputs` (stdout and results, numbers masked, lines stripped) and the number of figures."
    lines, figures = [], 0
    for output in outputs:
        kind = output.get("output_type")
        if kind == "stream" and output.get("name") == "stdout":
            text = output.get("text", "")
        elif kind in ("execute_result", "display_data"):
            data = output.get("data", {})
            figures += "image/png" in data
            text = "" if "image/png" in data else data.get("text/plain", "")
        else:
            continue
        text = "".join(text) if isinstance(text, list) else text
        for line in text.splitlines():
            for pattern, replacement in MASKS:
                line = pattern.sub(replacement, line)
            if line.strip():
                lines.append(NUMBER.sub("#", line).rstrip())
    return lines, figures


def check(path: Path) -> list[str]:
    "Differences between the committed outputs of `path` and a fresh run ([] when none)."
    raw, executed = execute(path)
    problems = []
    for index, (stored, cell) in enumerate(zip(raw.cells, executed)):
        if stored.cell_type != "code":
            continue
        (old, old_figures), (new, new_figures) = summary(stored.get("outputs", [])), summary(cell.get("outputs", []))
        where = f"{path.name} cell {index} ({stored.source.strip().splitlines()[0][:60] if stored.source.strip() else ''!r})"
        if old_figures != new_figures:
            problems.append(f"{where}: {old_figures} figure(s) committed, {new_figures} now")
        if old != new:
            first = next((i for i, (a, b) in enumerate(zip(old, new)) if a != b), min(len(old), len(new)))
            committed = old[first] if first < len(old) else "(nothing)"
            now = new[first] if first < len(new) else "(nothing)"
            problems.append(f"{where}: output line {first} committed {committed!r}, now {now!r}")
    return problems


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--check", action="store_true", help="compare with the committed outputs instead of writing")
    parser.add_argument("--workers", type=int, default=1, help="notebooks run at once, each in its own process")
    args = parser.parse_args()
    paths = [path.resolve() for path in args.notebooks]
    if len(paths) > 1:  # one process per notebook, as nbdev_test does

        def one(path: Path) -> subprocess.CompletedProcess:
            command = [sys.executable, __file__, *(["--check"] if args.check else []), str(path)]
            return subprocess.run(command, capture_output=True, text=True)

        with ThreadPoolExecutor(args.workers) as pool:
            results = list(pool.map(one, paths))
        failed = [path.name for path, result in zip(paths, results) if result.returncode != 0]
        for path, result in zip(paths, results):
            print(result.stdout.rstrip() or path.name, flush=True)
            if result.returncode != 0:
                print(result.stderr[-3000:], flush=True)
        if failed:
            print(f"{len(failed)} notebook(s) failed: {failed}", file=sys.stderr)
        return 1 if failed else 0
    path = paths[0]
    if not args.check:
        run(path)
        print(f"ran    {path.name}")
        return 0
    problems = check(path)
    print(f"{'ok' if not problems else 'FAILED':6s} {path.name}")
    if problems:
        print("\n".join(f"    {line}" for line in problems))
        print(
            f"stale outputs: re-run with `python scripts/run_notebook.py nbs/{path.name} && nbdev_clean` and commit",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
