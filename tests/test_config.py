import pytest

from deepfit.config import config_from_dict, load_config, parse_override, read_toml, to_toml
from deepfit.errors import ConfigError


def test_an_empty_config_passes_on_nothing_it_was_not_told():
    cfg = config_from_dict({})
    assert cfg.model.spec_options() == {}  # the network's defaults live in ModelSpec
    assert (cfg.optimizer.name, cfg.optimizer.params(), cfg.train.batch_size) == ("nadam", {}, 32)
    assert cfg.train.early_stopping is not None and cfg.train.early_stopping.options() == {}


def test_set_overrides_nested_keys_with_toml_values():
    cfg = load_config(None, ["model.activation=elu", "optimizer.lr=3e-3", "model.hidden=[50, 50, 50]"])
    assert cfg.model.activation == "elu"
    assert cfg.optimizer.lr == 3e-3
    assert cfg.model.hidden == [50, 50, 50]


def test_unknown_key_lists_valid_keys():
    with pytest.raises(ConfigError, match=r"model.activaton: unknown key; valid keys: hidden, activation"):
        load_config(None, ["model.activaton=elu"])


def test_negative_epochs_names_the_field_and_value():
    with pytest.raises(ConfigError, match=r"train.epochs: .*greater than or equal to 1; got -3"):
        load_config(None, ["train.epochs=-3"])


def test_keras_optimizer_spellings_are_normalised_once():
    cfg = config_from_dict({"optimizer": {"name": "adam", "learning_rate": 0.01, "beta_1": 0.8, "epsilon": 1e-7}})
    assert cfg.optimizer.lr == 0.01
    assert cfg.optimizer.params() == {"betas": [0.8, 0.999], "eps": 1e-7, "lr": 0.01}


def test_resolved_config_round_trips_through_toml(tmp_path):
    cfg = load_config(None, ["train.early_stopping=false", "optimizer.momentum=0.9", "optimizer.name=sgd"])
    path = tmp_path / "c.toml"
    path.write_text(to_toml(cfg))
    again = config_from_dict(read_toml(path))
    assert again == cfg
    assert again.train.early_stopping is None


def test_missing_and_malformed_files_name_the_file(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        read_toml(tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[model\nhidden = 3")
    with pytest.raises(ConfigError, match=r"bad\.toml.*not valid TOML"):
        read_toml(bad)


def test_override_without_equals_is_explained():
    with pytest.raises(ConfigError, match="key=value"):
        parse_override("model.activation")


def test_valid_accepts_count_or_fraction_only():
    assert config_from_dict({"data": {"valid": 0.1}}).data.valid == 0.1
    assert config_from_dict({"data": {"valid": 5000}}).data.valid == 5000
    with pytest.raises(ConfigError, match=r"data\.valid"):
        config_from_dict({"data": {"valid": 2.5}})


def test_transfer_section_accepts_from_as_source_and_round_trips_through_toml():
    import tomllib

    cfg = load_config(None, ['transfer.from="runs/a"', "transfer.unfreeze=2", "data.options={sample_seed=3}"])
    assert (cfg.transfer.source, cfg.transfer.unfreeze, cfg.data.options) == ("runs/a", 2, {"sample_seed": 3})
    again = config_from_dict(tomllib.loads(to_toml(cfg)))
    assert again.transfer == cfg.transfer and config_from_dict({}).transfer is None
    with pytest.raises(ConfigError, match=r"transfer\.unfreeze"):
        load_config(None, ['transfer.source="a"', "transfer.unfreeze=-1"])
    with pytest.raises(ConfigError, match=r"transfer\.lr_factor"):
        load_config(None, ['transfer.source="a"', "transfer.lr_factor=0"])


def test_keras_decay_is_refused_with_the_schedule_that_means_it():
    with pytest.raises(ConfigError, match="power"):
        config_from_dict({"optimizer": {"name": "sgd", "decay": 1e-4}}, source="t")


def test_a_binary_config_file_is_not_utf8_text(tmp_path):
    path = tmp_path / "bin.toml"
    path.write_bytes(bytes(range(256)))
    with pytest.raises(ConfigError, match=r"bin\.toml' is not UTF-8 text \(byte 0x80 at offset 128\)"):
        read_toml(path)


def test_a_directory_as_config_file_is_named(tmp_path):
    with pytest.raises(ConfigError, match=r"is a directory, expected a TOML file"):
        read_toml(tmp_path)


@pytest.mark.parametrize(
    ("override", "field"),
    [
        ("data.valid=inf", "data.valid"),
        ("optimizer.lr=inf", "optimizer.lr"),
        ("optimizer.momentum=nan", "optimizer.momentum"),
        ("optimizer.betas=[0.9, inf]", r"optimizer.betas\[1\]"),
        ("schedule.s=-inf", "schedule.s"),
        ("regularization.max_norm=inf", "regularization.max_norm"),
        ('regularization.penalty={name="l2", l2=nan}', "regularization.penalty.l2"),
        ("clip.threshold=inf", "clip.threshold"),
        ("model.dropout=nan", "model.dropout"),
        ("train.early_stopping.min_delta=inf", "train.early_stopping.min_delta"),
    ],
)
def test_non_finite_numbers_are_refused_naming_the_key(override, field):
    with pytest.raises(ConfigError, match=rf"{field}: expected a finite number, got -?(inf|nan)"):
        load_config(None, ["optimizer.name=sgd", override])


def test_non_finite_optimizer_parameters_are_refused_from_python_too():
    from deepfit.config import OptimConfig

    with pytest.raises(ValueError, match="lr"):
        OptimConfig(lr=float("inf"))
    with pytest.raises(ValueError, match="momentum: expected a finite number"):
        OptimConfig(name="sgd", momentum=float("nan"))


def test_valid_defaults_to_auto_and_accepts_the_word():
    assert config_from_dict({}).data.valid is None
    assert config_from_dict({"data": {"valid": "auto"}}).data.valid is None
    assert "valid" not in to_toml(config_from_dict({})).split("[data]")[1].split("[")[0]


def test_a_run_name_with_a_slash_names_the_name_not_the_output_directory():
    with pytest.raises(ConfigError, match=r"name: a run name is one directory name, without '/'.*got 'a/b'"):
        load_config(None, ['name="a/b"'])


def test_a_comma_separated_list_hints_at_the_bracket_syntax():
    with pytest.raises(ConfigError, match=r"model\.hidden: .*got '300,100'; .*--set model\.hidden=\[300,100\]"):
        load_config(None, ["model.hidden=300,100"])


def test_a_keras_spelling_given_by_the_user_overrides_the_base_value():
    base = {"optimizer": {"name": "nadam", "lr": 1e-3, "betas": [0.9, 0.999]}}
    cfg = load_config(None, ["optimizer.learning_rate=0.01", "optimizer.beta_1=0.8"], base=base)
    assert cfg.optimizer.params() == {"lr": 0.01, "betas": [0.8, 0.999]}
    with pytest.raises(ConfigError, match="give either 'learning_rate' or 'lr', not both"):
        load_config(None, ["optimizer.learning_rate=0.01", "optimizer.lr=0.02"], base=base)


def test_a_config_file_layer_replaces_the_base_spelling(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text("[optimizer]\nlearning_rate = 0.05\n")
    cfg = load_config(path, [], base={"optimizer": {"name": "nadam", "lr": 1e-3}})
    assert cfg.optimizer.lr == 0.05
    assert load_config(path, ["optimizer.lr=0.2"]).optimizer.lr == 0.2


def test_renaming_the_schedule_or_optimizer_drops_the_old_components_parameters(tmp_path):
    base = {"optimizer": {"name": "nadam", "lr": 1e-3, "beta_1": 0.8},
            "schedule": {"name": "exponential", "s": 20, "interval": "epoch"}}
    cfg = load_config(None, ["schedule.name=one_cycle", "schedule.max_lr=0.01", "optimizer.name=sgd"], base=base)
    assert cfg.schedule.name == "one_cycle" and cfg.schedule.max_lr == 0.01 and "s" not in cfg.schedule.params()
    assert cfg.optimizer.name == "sgd" and cfg.optimizer.lr is None  # SGD's own default, not Nadam's 1e-3
    path = tmp_path / "c.toml"
    path.write_text('[schedule]\nname = "piecewise"\nboundaries = [5]\nvalues = [0.01, 0.001]\n')
    cfg = load_config(path, base=base)
    assert cfg.schedule.name == "piecewise" and "s" not in cfg.schedule.params()
    assert cfg.optimizer.params()["betas"][0] == 0.8  # a section the file does not rename keeps its values
    same = load_config(None, ["schedule.name=exponential"], base=base)  # the same component: parameters stay
    assert same.schedule.params()["s"] == 20


def test_a_model_factory_with_dense_keys_is_refused_naming_them():
    with pytest.raises(ConfigError, match=r"model: model.factory = '.*/net.py:build' builds the whole network, so the "
                                          r"dense-network keys model.activation, model.hidden do not apply"):
        load_config(None, ['model.factory="net.py:build"', "model.hidden=[8]", "model.activation=elu"])


def test_model_options_without_a_factory_are_refused():
    with pytest.raises(ConfigError, match=r"model\.options: keyword arguments of model\.factory, but no "):
        load_config(None, ["model.options={width=3}"])


def test_a_malformed_factory_reference_is_refused_at_the_edge():
    with pytest.raises(ConfigError, match=r"model.factory: expected 'path/to/file.py:function' or "
                                          r"'package.module:function'; got 'net.py'$"):
        load_config(None, ['model.factory="net.py"'])
