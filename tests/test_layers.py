"""Imports point downward only (DESIGN.md): one ast pass over the package."""

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "deepfit"
# What each layer may import from deepfit, besides itself and the shared base modules.
BASE = {"errors", "registry", "names", "atomic", "__init__"}
ALLOWED = {
    "data": set(),
    "nn": set(),
    "optim": set(),
    "transfer": {"nn"},
    "train": {"data", "nn", "optim", "transfer"},
    "run": {"train", "data", "nn", "optim", "transfer", "config"},
    "pretrain": {"run", "train", "data", "nn", "optim", "transfer", "config"},
    "diagnose": {"run", "train", "data", "nn", "optim", "transfer", "config"},
    "report": {"data", "nn", "optim", "config"},
    "studies": {
        "run", "train", "data", "nn", "optim", "transfer", "pretrain", "diagnose", "report", "config", "presets",
    },
    "config": {"nn", "optim", "conventions", "config_paths"},
    "conventions": set(),
    "config_paths": {"nn"},
    "presets": set(),
}


# A result's `_repr_html_` (what Jupyter shows) renders with report/, which imports none of the layers that
# hold results (run, diagnose, studies): the one upward import allowed, and only inside that method.
DISPLAY = {"report"}


def _imports(path: Path) -> set[str]:
    found = set()
    tree = ast.parse(path.read_text())
    display = {id(n) for f in ast.walk(tree) if isinstance(f, ast.FunctionDef) and f.name == "_repr_html_"
               for n in ast.walk(f)}
    for node in ast.walk(tree):
        names = (
            [a.name for a in node.names]
            if isinstance(node, ast.Import)
            else ([node.module or ""] if isinstance(node, ast.ImportFrom) else [])
        )
        for name in names:
            parts = name.split(".")
            if parts[0] == "deepfit" and len(parts) > 1 and not (id(node) in display and parts[1] in DISPLAY):
                found.add(parts[1])
    return found


LAYERS = sorted(
    p.stem if p.is_file() else p.name
    for p in SRC.iterdir()
    if (p.is_dir() and (p / "__init__.py").exists()) or p.stem in ALLOWED
)


def test_every_subpackage_has_a_place_in_the_layering():
    assert set(LAYERS) - {"cli"} <= set(ALLOWED)


@pytest.mark.parametrize("layer", [name for name in LAYERS if name != "cli"])
def test_layer_imports_only_downward(layer):
    files = [SRC / f"{layer}.py"] if (SRC / f"{layer}.py").exists() else list((SRC / layer).rglob("*.py"))
    for f in files:
        bad = _imports(f) - BASE - ALLOWED[layer] - {layer}
        assert not bad, f"{f.relative_to(SRC)} imports {sorted(bad)}, above or beside layer {layer!r}"


def test_importing_deepfit_changes_no_torch_global_state():
    import subprocess
    import sys

    code = (
        "import torch; before = (torch.initial_seed(), torch.get_num_threads(), "
        "torch.backends.cudnn.benchmark); import deepfit, deepfit.train, deepfit.studies, deepfit.cli.main; "
        "after = (torch.initial_seed(), torch.get_num_threads(), torch.backends.cudnn.benchmark); "
        "assert before == after, (before, after)"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
