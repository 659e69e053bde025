"""Files are written whole or not at all: `atomic_path` itself, and one ast pass that every file deepfit
writes goes through it."""

import ast
import os
from pathlib import Path

import numpy as np
import pytest

import deepfit.atomic
from deepfit.atomic import atomic_path, write_text_atomic
from deepfit.errors import OutputError

SRC = Path(__file__).resolve().parents[1] / "src" / "deepfit"
# Writes that are not a file of a run directory, each with its reason.
NOT_ATOMIC = {
    "atomic.py": "the atomic writer itself",
    "run/rundir.py": "an empty probe file that checks the directory is writable",
    "data/download.py": "its own temporary file, fsync and rename, after the checksum",
    "cli/train.py": "predict's --output file, chosen by the user (its errors: issue 13's bad-input work)",
}
_WRITERS = {"write_text", "write_bytes", "savefig", "save_file", "save", "savez", "savez_compressed", "dump"}


def _direct_writes(tree: ast.AST) -> list[str]:
    """Calls that write a file whose target is not a name bound by `with atomic_path(...) as name`."""
    safe = {item.optional_vars.id for node in ast.walk(tree) if isinstance(node, ast.With) for item in node.items
            if isinstance(item.optional_vars, ast.Name) and "atomic_path" in ast.unparse(item.context_expr)}
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
        args = [ast.unparse(a) for a in node.args]
        receiver = ast.unparse(func.value) if isinstance(func, ast.Attribute) else ""
        if name in ("write_text", "write_bytes"):
            target = receiver
        elif name == "open":
            mode = next((a for a in args[1 if receiver in ("", "os", "io", "builtins") else 0:]), "'r'")
            if not any(c in mode for c in "wax+"):
                continue
            target = receiver or (args[0] if args else "")
        elif name in _WRITERS and args:
            if name in ("dump", "save") and receiver not in ("np", "numpy", "torch", "json", "tomli_w"):
                continue
            target = args[1] if name in ("save_file", "dump") or receiver == "torch" else args[0]
        else:
            continue
        if target.removeprefix("str(").removesuffix(")") not in safe:
            found.append(f"{ast.unparse(node)[:60]} (line {node.lineno})")
    return found


def test_every_file_deepfit_writes_goes_through_atomic_path():
    offenders = {}
    for path in SRC.rglob("*.py"):
        rel = str(path.relative_to(SRC))
        if rel not in NOT_ATOMIC and (writes := _direct_writes(ast.parse(path.read_text()))):
            offenders[rel] = writes
    assert not offenders


def test_the_check_finds_direct_writes():
    code = (
        "with atomic_path(p) as tmp:\n    tmp.write_text(s)\n    fig.savefig(tmp)\n"
        "p.write_text(s)\nopen(p, 'w')\nfig.savefig(p)\nnp.savez(p, x=x)\nsave_file(t, p)\nq.open('rb')\n"
    )
    found = _direct_writes(ast.parse(code))
    assert [f.split(" (line")[0] for f in found] == [
        "p.write_text(s)", "open(p, 'w')", "fig.savefig(p)", "np.savez(p, x=x)", "save_file(t, p)"]


def test_interrupted_write_keeps_the_previous_file_and_leaves_no_temporary(tmp_path):
    target = write_text_atomic(tmp_path / "metrics.json", "old")
    with pytest.raises(KeyboardInterrupt), atomic_path(target) as tmp:
        tmp.write_text("half of the new")
        raise KeyboardInterrupt
    assert target.read_text() == "old" and os.listdir(tmp_path) == ["metrics.json"]


def test_failed_rename_is_an_output_error_and_keeps_the_previous_file(tmp_path, monkeypatch):
    target = write_text_atomic(tmp_path / "a.txt", "old")
    monkeypatch.setattr(deepfit.atomic.os, "replace", lambda *a: (_ for _ in ()).throw(OSError(28, "No space")))
    with pytest.raises(OutputError, match=r"cannot write .*a.txt: No space"):
        write_text_atomic(target, "new")
    monkeypatch.undo()
    assert target.read_text() == "old" and os.listdir(tmp_path) == ["a.txt"]


def test_a_file_its_writer_recreates_with_mode_600_still_gets_the_umasks_permissions(tmp_path):
    from safetensors.numpy import save_file

    old = os.umask(0o022)
    try:
        with atomic_path(tmp_path / "w.safetensors") as tmp:
            save_file({"a": np.zeros(2)}, str(tmp))  # safetensors creates its file 0o600
        write_text_atomic(tmp_path / "t.txt", "x")
    finally:
        os.umask(old)
    assert oct((tmp_path / "w.safetensors").stat().st_mode & 0o777) == oct(0o644)
    assert oct((tmp_path / "t.txt").stat().st_mode & 0o777) == oct(0o644)
