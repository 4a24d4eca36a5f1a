"""Write README.md from nbs/index.ipynb (nbdev_readme needs quarto, which this project does not use).

Markdown cells are copied as they are; code cells become ```python blocks, except a code cell whose first line is
`# readme: include PATH`, which is replaced by the file at PATH (relative to the repository; its headings are
moved one level down and its relative links made relative to the repository). `--check` exits 1 when README.md
differs from what it would write.
"""

import json
import posixpath
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INCLUDE = "# readme: include "


def include(path: str) -> str:
    "The file at `path`, headings one level down, relative links rebased to the repository root."
    file = ROOT / path
    text = file.read_text(encoding="utf-8").strip()
    text = re.sub(r"^(#+) ", r"#\1 ", text, flags=re.MULTILINE)
    folder = file.parent.relative_to(ROOT).as_posix()
    return re.sub(r"\]\((?!https?:|/|#)([^)]+)\)", lambda m: f"]({posixpath.normpath(f'{folder}/{m.group(1)}')})", text)


def render(notebook: Path) -> str:
    "The README text for the notebook at `notebook`."
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    parts = []
    for cell in cells:
        source = "".join(cell["source"]).strip()
        if not source or source.startswith("#| hide"):
            continue
        if cell["cell_type"] == "markdown":
            parts.append(source)
        elif source.startswith(INCLUDE):
            parts.append(include(source.splitlines()[0][len(INCLUDE) :].strip()))
        else:
            parts.append(f"```python\n{source}\n```")
    return "\n\n".join(parts) + "\n"


def main() -> int:
    text = render(ROOT / "nbs" / "index.ipynb")
    readme = ROOT / "README.md"
    if "--check" in sys.argv[1:]:
        if readme.read_text(encoding="utf-8") != text:
            print("README.md is out of date: run python scripts/readme.py", file=sys.stderr)
            return 1
        return 0
    readme.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
