"""Nothing in deepfit unpickles (a crafted file could run code): one ast pass over the package."""

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "deepfit"
FILES = sorted(SRC.rglob("*.py"))
PICKLING_MODULES = {"pickle", "cPickle", "dill", "cloudpickle", "joblib", "shelve", "marshal"}


def _unpickling_calls(tree: ast.AST) -> list[str]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            found += [f"import {n}" for n in names if n.split(".")[0] in PICKLING_MODULES]
        elif isinstance(node, ast.Attribute) and node.attr == "load" and ast.unparse(node.value) == "torch":
            found.append("torch.load")
        elif isinstance(node, ast.keyword) and node.arg in ("allow_pickle", "weights_only"):
            safe = isinstance(node.value, ast.Constant) and node.value.value is (node.arg == "weights_only")
            found += [] if safe else [f"{node.arg}={ast.unparse(node.value)}"]
    return found


def test_no_module_unpickles():
    offenders = {p.name: calls for p in FILES if (calls := _unpickling_calls(ast.parse(p.read_text())))}
    assert len(FILES) > 50 and not offenders


def test_the_check_finds_unpickling():
    code = "import pickle\nimport torch\ntorch.load(f)\nnp.load(f, allow_pickle=True)\n"
    assert _unpickling_calls(ast.parse(code)) == ["import pickle", "torch.load", "allow_pickle=True"]
