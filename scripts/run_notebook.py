"""Execute notebooks as `nbdev_test` does (cells flagged notest/slow/gpu are skipped) and keep their outputs.

Usage: python scripts/run_notebook.py nbs/10_hard_negatives.ipynb [...]; then run nbdev_clean. Used for the
analysis notebooks, whose committed outputs (tables, figures) let a reader see the results without running them.
"""
import sys
from pathlib import Path

from execnb.nbio import read_nb, write_nb
from execnb.shell import CaptureShell
from fastcore.xtras import working_directory
from nbdev.frontmatter import FrontmatterProc
from nbdev.process import NBProcessor

SKIPPED = {"notest", "slow", "gpu"}


def run(path: Path) -> None:
    "Run the notebook at `path` and write the code cells' outputs back into it."
    notebook = NBProcessor(path, procs=FrontmatterProc, process=True).nb

    def skip(cell) -> bool:
        return cell.cell_type != "code" or bool(SKIPPED & set(getattr(cell, "directives_", None) or {}))

    shell = CaptureShell(path)
    shell.run("%config InlineBackend.figure_formats = ['png']\n"
              "import matplotlib; matplotlib.rcParams.update({'figure.dpi': 60, 'savefig.dpi': 60})")
    with working_directory(path.parent):
        shell.run_all(notebook, exc_stop=True, preproc=skip)
    raw = read_nb(path)
    if len(raw.cells) != len(notebook.cells):
        raise RuntimeError(f"{path}: {len(raw.cells)} cells on disk but {len(notebook.cells)} were run")
    for stored, executed in zip(raw.cells, notebook.cells):
        if stored.cell_type == "code":
            stored["outputs"] = executed.get("outputs", [])
            stored["execution_count"] = executed.get("execution_count")
    write_nb(raw, path)


if __name__ == "__main__":
    for name in sys.argv[1:]:
        run(Path(name).resolve())
        print(f"ran {name}")
