"The package's layout: the library a user imports never imports the miniature experiment built on it (llave.mini)."

import ast
from pathlib import Path

import llave

PACKAGE = Path(llave.__file__).resolve().parent
LIBRARY = (
    "core",
    "loss",
    "data",
    "model",
    "inputs",
    "train",
    "eval",
    "mmeb_v2",
    "video",
    "convert",
    "integrations",
    "share",
    "testing",
    "minimmeb",
    "minimmeb_v2",
)
EXPERIMENT = ("pretrain", "demo", "analysis", "weighting", "paper", "history")  # llave/mini/


def imported_modules(path: Path) -> set[str]:
    "Every llave module `path` imports, at any depth (function-level imports included), as a bare module name."
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level == 1 and node.module is None:  # from . import x
                names.update(alias.name for alias in node.names)
            elif node.level == 1:  # from .x import y
                names.add(node.module.split(".")[0])
            elif node.module and node.module.split(".")[0] == "llave":
                parts = node.module.split(".")
                names.update([parts[1]] if len(parts) > 1 else [alias.name for alias in node.names])
        elif isinstance(node, ast.Import):
            names.update(alias.name.split(".")[1] for alias in node.names if alias.name.startswith("llave."))
    return names


def test_library_never_imports_the_experiment():
    assert set(LIBRARY) | {"cli", "__init__", "__main__", "_modidx"} == {p.stem for p in PACKAGE.glob("*.py")}
    assert set(EXPERIMENT) | {"__init__"} == {p.stem for p in (PACKAGE / "mini").glob("*.py")}
    found = {module: sorted(imported_modules(PACKAGE / f"{module}.py") & {"mini", *EXPERIMENT}) for module in LIBRARY}
    assert not any(found.values()), {module: names for module, names in found.items() if names}


def test_the_import_reader_sees_every_form(tmp_path):
    source = tmp_path / "m.py"
    source.write_text(
        "from .mini.demo import x\nfrom . import paper\nimport llave.video\n"
        "def f():\n    from llave.mini.weighting import y\n    from llave import analysis\n"
    )
    assert imported_modules(source) == {"mini", "paper", "video", "analysis"}
