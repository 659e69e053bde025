"""Networks from the user's own factory: found by file or module, checked on a dummy batch, saved with their
source and rebuilt from it (weights through safetensors)."""

from __future__ import annotations

import sys
import textwrap

import pytest
import torch
from torch import nn

from deepfit.errors import CheckpointError, ConfigError, ShapeError
from deepfit.nn import FactorySpec, build_factory_model, factory_spec, load_model, save_model
from deepfit.nn.factory import check_outputs, parse_reference, source_name

CONV = '''
from torch import nn

def build(input_shape, num_outputs, width=4):
    c, h, w = input_shape
    return nn.Sequential(nn.Conv2d(c, width, 3, padding=1), nn.BatchNorm2d(width), nn.ReLU(), nn.Flatten(),
                         nn.Linear(width * h * w, num_outputs))

def not_a_module(input_shape, num_outputs):
    return "a string"

def wrong_outputs(input_shape, num_outputs):
    return nn.Sequential(nn.Flatten(), nn.Linear(48, num_outputs + 1))

def fails(input_shape, num_outputs):
    raise RuntimeError("out of ideas")
'''


@pytest.fixture
def conv_file(tmp_path):
    path = tmp_path / "mynet.py"
    path.write_text(textwrap.dedent(CONV))
    return path


def _spec(path, fn="build", **options):
    return factory_spec(f"{path}:{fn}", (3, 4, 4), 5, options)


def test_a_file_factory_builds_its_network_with_the_options_given(conv_file):
    model = build_factory_model(_spec(conv_file, width=6))
    assert model[0].out_channels == 6
    assert model(torch.zeros(7, 3, 4, 4)).shape == (7, 5)


def test_a_module_factory_is_imported_by_name(conv_file, monkeypatch):
    monkeypatch.syspath_prepend(str(conv_file.parent))
    monkeypatch.delitem(sys.modules, "mynet", raising=False)
    spec = factory_spec("mynet:build", (3, 4, 4), 5)
    assert not spec.is_file
    assert build_factory_model(spec)(torch.zeros(2, 3, 4, 4)).shape == (2, 5)
    assert spec.source_text == conv_file.read_text()  # recorded to be copied beside the weights
    assert source_name(spec.factory) == "model_source/mynet.py"


@pytest.mark.parametrize(("ref", "message"), [
    ("no_colon", "expected 'path/to/file.py:function' or 'package.module:function', got 'no_colon'"),
    ("file.py:", "expected 'path/to/file.py:function'"),
    ("file.py:not an identifier", "expected 'path/to/file.py:function'"),
])
def test_a_malformed_reference_says_the_expected_form(ref, message):
    with pytest.raises(ConfigError, match=message):
        parse_reference(ref)


def test_a_missing_file_is_named(tmp_path):
    with pytest.raises(ConfigError, match=r"file .*absent\.py not found; expected a Python file"):
        factory_spec(f"{tmp_path / 'absent.py'}:build", (3, 4, 4), 5)


def test_a_missing_module_is_named():
    with pytest.raises(ConfigError, match="no module named 'no_such_pkg_xyz'; install it or add its folder"):
        factory_spec("no_such_pkg_xyz.nets:build", (3, 4, 4), 5)


def test_a_missing_function_is_named_with_the_nearest_one(conv_file):
    with pytest.raises(ConfigError, match=r"has no function 'buld'; did you mean 'build'\? functions defined there: "
                                          "build, fails, not_a_module, wrong_outputs"):
        build_factory_model(_spec(conv_file, "buld"))


def test_a_file_that_fails_to_import_says_why(tmp_path):
    path = tmp_path / "broken.py"
    path.write_text("import torch\nraise ImportError('needs timm')\n")
    with pytest.raises(ConfigError, match=r"importing .*broken\.py failed: ImportError: needs timm"):
        build_factory_model(_spec(path))


def test_a_factory_that_returns_no_module_is_refused(conv_file):
    with pytest.raises(ConfigError, match=r"not_a_module\(input_shape=\(3, 4, 4\), num_outputs=5\) returned a str, "
                                          "expected a torch.nn.Module"):
        build_factory_model(_spec(conv_file, "not_a_module"))


def test_a_factory_that_raises_names_the_call_and_the_error(conv_file):
    with pytest.raises(ConfigError, match=r"fails\(input_shape=\(3, 4, 4\), num_outputs=5\) failed: "
                                          "RuntimeError: out of ideas"):
        build_factory_model(_spec(conv_file, "fails"))


def test_a_bad_option_is_the_factorys_type_error(conv_file):
    with pytest.raises(ConfigError, match=r"num_outputs=5, depth=3\) failed: TypeError: .*'depth'"):
        build_factory_model(_spec(conv_file, depth=3))


def test_outputs_of_the_wrong_width_are_refused_on_a_dummy_batch(conv_file):
    with pytest.raises(ShapeError, match=r"for a batch of shape \(2, 3, 4, 4\) the model returns shape \(2, 6\), "
                                         r"expected \(2, 5\): one output per class"):
        build_factory_model(_spec(conv_file, "wrong_outputs"))


def test_a_forward_that_fails_on_the_data_shape_is_a_shape_error():
    model = nn.Sequential(nn.Flatten(), nn.Linear(10, 3))
    with pytest.raises(ShapeError, match=r"a batch of shape \(2, 3, 4, 4\) \(the data's samples\) fails in the "
                                         "model's forward: RuntimeError"):
        check_outputs(model, (3, 4, 4), 3)


def test_the_output_check_leaves_batch_norm_statistics_and_modes_as_they_were():
    model = nn.Sequential(nn.Flatten(), nn.Linear(4, 3), nn.BatchNorm1d(3), nn.Linear(3, 2))
    model[2].eval()  # a frozen batch norm stays frozen
    mean = model[2].running_mean.clone()
    check_outputs(model, (4,), 2)
    assert model.training and model[1].training and not model[2].training
    assert torch.equal(model[2].running_mean, mean)


def test_a_saved_factory_model_is_rebuilt_from_its_copied_source_after_the_file_is_gone(conv_file, tmp_path):
    spec = _spec(conv_file, width=3)
    model = build_factory_model(spec)
    with torch.no_grad():
        model[0].weight.fill_(0.25)
    out = tmp_path / "saved"
    save_model(model, spec, out)
    conv_file.unlink()  # the run does not depend on the original file
    loaded, loaded_spec, meta, _ = load_model(out)
    assert (out / "model_source" / "mynet.py").read_text() == textwrap.dedent(CONV)
    assert isinstance(loaded_spec, FactorySpec)
    assert meta["spec"] == {"input_shape": [3, 4, 4], "num_outputs": 5, "factory": f"{conv_file}:build",
                            "options": {"width": 3}, "source": "model_source/mynet.py"}
    assert torch.equal(loaded[0].weight, torch.full_like(loaded[0].weight, 0.25))
    x = torch.randn(4, 3, 4, 4)
    assert torch.allclose(loaded(x), model.eval()(x))
    save_model(loaded, loaded_spec, tmp_path / "again")  # a loaded model saves its source again (prune, export)
    assert (tmp_path / "again" / "model_source" / "mynet.py").is_file()


def test_a_saved_factory_model_without_its_source_copy_is_a_checkpoint_error(conv_file, tmp_path):
    spec = _spec(conv_file)
    save_model(build_factory_model(spec), spec, tmp_path / "saved")
    (tmp_path / "saved" / "model_source" / "mynet.py").unlink()
    with pytest.raises(CheckpointError, match=r"built by .*mynet\.py:build' but the copy of its source file "
                                              r"\(model_source/mynet\.py\) is missing"):
        load_model(tmp_path / "saved")
