"""The user errors (deepfit/errors.py): one family, each catchable as a `DeepfitError`."""

from __future__ import annotations

import inspect

import pytest

from deepfit import errors
from deepfit.errors import ConfigError, DeepfitError

USER_ERRORS = [c for _, c in inspect.getmembers(errors, inspect.isclass) if c.__module__ == errors.__name__]


def test_every_error_of_the_module_is_a_deepfit_error_with_a_docstring():
    assert len(USER_ERRORS) >= 8
    for cls in USER_ERRORS:
        assert issubclass(cls, DeepfitError) and issubclass(cls, Exception), cls.__name__
        assert (cls.__doc__ or "").strip(), cls.__name__


def test_a_config_error_is_also_a_value_error_for_callers_that_catch_those():
    with pytest.raises(ValueError, match=r"train\.epochs: expected"):
        raise ConfigError("train.epochs: expected an integer >= 1, got 0")


@pytest.mark.parametrize("cls", [c for c in USER_ERRORS if c is not DeepfitError], ids=lambda c: c.__name__)
def test_each_error_keeps_its_message_whole(cls):
    message = "my.csv: column 'label': expected integers, got 'cat'"
    assert str(cls(message)) == message
