import pytest

from deepfit.errors import ConfigError
from deepfit.registry import Names, Registry


def _reg() -> Registry:
    reg: Registry = Registry("optimizer")

    @reg.register("nadam", summary="Adam with Nesterov", aliases=("Nadam",))
    def nadam(lr: float = 1e-3):
        return ("nadam", lr)

    @reg.register("adam", summary="Adam")
    def adam(lr: float = 1e-3):
        return ("adam", lr)

    return reg


def test_unknown_name_suggests_nearest_and_lists_valid_names():
    with pytest.raises(ConfigError, match=r"unknown optimizer 'nadm'; did you mean 'nadam'\? valid: adam, nadam"):
        _reg().get("nadm")


def test_keras_spelling_and_case_resolve_to_the_same_entry():
    reg = _reg()
    assert reg.canonical("Nadam") == "nadam"
    assert reg.canonical("NADAM") == "nadam"


def test_resolve_accepts_name_mapping_or_object():
    reg = _reg()
    assert reg.resolve("adam") == ("adam", 1e-3)
    assert reg.resolve({"name": "adam", "lr": 0.5}) == ("adam", 0.5)
    ready = object()
    assert reg.resolve(ready) is ready


def test_bad_parameter_lists_valid_parameters():
    with pytest.raises(ConfigError, match="Valid parameters: lr"):
        _reg().build("adam", momentum=0.9)


def test_duplicate_registration_is_refused():
    reg = _reg()
    with pytest.raises(ValueError, match="already registered"):
        reg.add("ADAM", lambda: None, summary="")


def _declared() -> Registry:
    return Registry(Names("optimizer", ["adam", ("nadam", "Nadam")]))


def test_declared_registry_takes_the_declared_aliases():
    reg = _declared()
    reg.add("nadam", lambda: "nadam", summary="Adam with Nesterov")
    assert reg.get("Nadam").aliases == ("Nadam",) and reg.canonical("NADAM") == "nadam"


def test_declared_registry_refuses_an_undeclared_name():
    with pytest.raises(ValueError, match=r"'sgd' is not declared in deepfit/names\.py"):
        _declared().add("sgd", lambda: None, summary="")


def test_declared_registry_refuses_aliases_given_at_registration():
    with pytest.raises(ValueError, match=r"aliases are declared in deepfit/names\.py"):
        _declared().add("adam", lambda: None, summary="", aliases=("Adam",))


def test_names_answer_unknown_names_as_a_registry_does():
    with pytest.raises(ConfigError, match=r"unknown optimizer 'nadm'; did you mean 'nadam'\? valid: adam, nadam"):
        Names("optimizer", ["adam", ("nadam", "Nadam")]).canonical("nadm")
