"""The torch-free names of each family (deepfit/names.py) are exactly its registry's, aliases included."""

import pytest

from deepfit import names
from deepfit.data import DATASETS
from deepfit.errors import ConfigError
from deepfit.nn import ACTIVATIONS, DROPOUTS, INITIALIZERS
from deepfit.optim import CLIPPERS, OPTIMIZERS, SCHEDULES
from deepfit.optim.penalties import PENALTIES

REGISTRIES = [ACTIVATIONS, INITIALIZERS, DROPOUTS, OPTIMIZERS, SCHEDULES, CLIPPERS, PENALTIES, DATASETS]


def test_every_declared_family_has_its_registry_here():
    assert [r.declared for r in REGISTRIES] == list(names.DECLARED)


@pytest.mark.parametrize("registry", REGISTRIES, ids=lambda r: r.family)
def test_registry_holds_every_declared_name_with_its_aliases(registry):
    declared = registry.declared
    assert registry.names() == declared.names()
    assert {e.name: e.aliases for e in registry.entries()} == {n: declared.aliases(n) for n in declared.names()}


@pytest.mark.parametrize("registry", REGISTRIES, ids=lambda r: r.family)
def test_unknown_name_error_is_the_same_with_or_without_torch(registry):
    with pytest.raises(ConfigError) as from_registry:
        registry.canonical("nadm")
    with pytest.raises(ConfigError) as from_names:
        registry.declared.canonical("nadm")
    assert str(from_registry.value) == str(from_names.value) and "valid:" in str(from_names.value)
