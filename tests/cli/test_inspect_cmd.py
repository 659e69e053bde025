
"""`deepfit info` says which Fashion-MNIST folder a run reads, without an unused cache reading like an error;
`deepfit list` shows every family, callbacks included."""

import pytest

from deepfit.cli.inspect import FAMILIES, family_registry, location_state, used_location
from deepfit.cli.main import main
from deepfit.data import locate_fashion_mnist
from deepfit.registry import Registry

_NAMES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


def _folder(path, names=_NAMES):
    path.mkdir()
    for name in names:
        (path / f"{name}.gz").write_bytes(b"")
    return path


def _states(tmp_path, monkeypatch, system_files, cache_files, env_files=None):
    if env_files is not None:
        monkeypatch.setenv("DEEPFIT_DATA", str(_folder(tmp_path / "env", env_files)))
    else:
        monkeypatch.delenv("DEEPFIT_DATA", raising=False)
    locations = locate_fashion_mnist(system_dir=_folder(tmp_path / "system", system_files),
                                     cache_dir=_folder(tmp_path / "cache", cache_files))
    used = used_location(locations)
    return {loc.source: location_state(loc, used) for loc in locations}


def test_an_empty_cache_beside_a_system_copy_says_it_is_not_needed(tmp_path, monkeypatch):
    states = _states(tmp_path, monkeypatch, _NAMES, ())
    assert states == {"system": "found: deepfit reads Fashion-MNIST from here",
                      "cache": "empty, not needed: the system copy is used"}


def test_without_any_copy_the_cache_is_where_the_download_goes(tmp_path, monkeypatch):
    assert _states(tmp_path, monkeypatch, (), ())["cache"] == "empty: the first run downloads Fashion-MNIST here"


def test_a_partial_copy_and_a_named_incomplete_folder_say_what_they_lack(tmp_path, monkeypatch):
    states = _states(tmp_path, monkeypatch, _NAMES[:3], _NAMES, env_files=_NAMES[1:])
    assert states["DEEPFIT_DATA"] == "incomplete, so loading fails: lacks train-images-idx3-ubyte[.gz]"
    assert states["system"] == "incomplete (lacks t10k-labels-idx1-ubyte[.gz]), skipped"
    assert states["cache"] == "found, not used: the folder named before it is incomplete"


def test_info_prints_each_folders_state_as_plain_text(capsys):
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    assert "fashion-mnist (cache)" in out and "[missing" not in out
    assert any(line.strip().startswith(("found", "empty", "incomplete")) for line in out.splitlines())


def test_every_family_resolves_to_a_registry_and_list_shows_callbacks(capsys):
    assert all(isinstance(family_registry(name), Registry) for name in FAMILIES)
    assert main(["list", "callbacks"]) == 0
    out = capsys.readouterr().out
    assert "tensorboard" in out and "mlflow" in out and "early_stopping" in out


@pytest.mark.parametrize("width", [80, 120])
@pytest.mark.parametrize("family", list(FAMILIES))
def test_list_fits_the_width_and_never_cuts_a_name(family, width, monkeypatch):
    import io

    from rich.console import Console

    from deepfit.cli import inspect

    out = io.StringIO()
    monkeypatch.setattr(inspect, "console", Console(file=out, width=width, color_system=None))
    assert main(["list", family]) == 0
    lines = out.getvalue().splitlines()
    assert max(map(len, lines)) <= width
    firsts = {line.replace("│", " ").split()[0] for line in lines if line.replace("│", " ").strip()}
    assert {e.name for e in family_registry(family).entries()} <= firsts  # each name whole, first in its row
