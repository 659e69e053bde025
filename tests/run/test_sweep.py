"""Planning runs into groups, grids, and grouped studies equal to sequential ones."""

from __future__ import annotations

import pytest

from deepfit.config import config_from_dict, load_config
from deepfit.errors import ConfigError
from deepfit.run.sweep import expand_grid, group_key, parse_grid, plan_groups
from deepfit.studies import Study, run_study


def _cfg(*overrides: str):
    return load_config(None, ["data.name=npz", "data.path=x.npz", *overrides])


@pytest.mark.parametrize(
    "other",
    [
        "optimizer.lr=0.3",
        "optimizer.betas=[0.8, 0.9]",
        "optimizer.weight_decay=0.1",
        "schedule.name=exponential",
        "model.dropout=0.4",
        "model.activation=elu",
        "model.init=glorot_uniform",
        'regularization.penalty={name="l2", l2=0.01}',
        "regularization.max_norm=2.0",
        "clip.threshold=3.0",
    ],
)
def test_runs_that_differ_only_in_member_numbers_share_a_group(other):
    base = ['regularization.penalty={name="l1", l1=0.5}', "regularization.max_norm=1.0", "clip.name=norm"]
    assert group_key(_cfg(*base)) == group_key(_cfg(*base, other))


@pytest.mark.parametrize(
    "other",
    [
        "optimizer.name=adam",
        "optimizer.decoupled_weight_decay=true",
        "model.hidden=[10]",
        "model.norm=before",
        "model.activation=prelu",
        "model.activation=rrelu",
        "model.dropout_kind=alpha",
        "train.batch_size=64",
        "train.epochs=3",
        "train.early_stopping.patience=2",
        "data.subset=100",
        "schedule.name=performance",
        "clip.name=value",
        'regularization.penalty={name="l2", bias=true}',
    ],
)
def test_runs_that_differ_in_anything_else_train_apart(other):
    assert group_key(_cfg()) != group_key(_cfg(other))


def test_a_fractional_validation_split_keeps_seeds_apart():
    assert group_key(_cfg("data.valid=0.2")) != group_key(_cfg("data.valid=0.2", "train.seed=1"))


def test_seeds_share_a_group_only_where_the_split_takes_the_same_rows_for_every_seed():
    fashion = ["data.name=fashion_mnist", "data.path=''"]
    assert group_key(_cfg(*fashion)) == group_key(_cfg(*fashion, "train.seed=7"))  # the chapter's first 5,000
    assert group_key(_cfg("data.split=first")) == group_key(_cfg("data.split=first", "train.seed=7"))
    assert group_key(_cfg()) != group_key(_cfg("train.seed=7"))  # own data: stratified with the seed


def test_plan_groups_keeps_order_and_caps_group_size():
    cfgs = [_cfg(f"optimizer.lr={lr}") for lr in (0.1, 0.2, 0.3)] + [_cfg("train.batch_size=8")] + [_cfg()]
    assert plan_groups(cfgs) == [[0, 1, 2, 4], [3]]
    assert plan_groups(cfgs, max_members=2) == [[0, 1], [2, 4], [3]]


def test_grid_options_parse_toml_values_and_keep_commas_inside_brackets():
    assert parse_grid("optimizer.lr=1e-3,3e-3") == ("optimizer.lr", [1e-3, 3e-3])
    assert parse_grid("model.hidden=[100, 100],[300]") == ("model.hidden", [[100, 100], [300]])
    assert parse_grid("model.activation=relu,elu") == ("model.activation", ["relu", "elu"])
    with pytest.raises(ConfigError, match="--grid expects key=value1,value2"):
        parse_grid("optimizer.lr")
    with pytest.raises(ConfigError, match="comma-separated list of values"):
        parse_grid("optimizer.lr=")


def test_expand_grid_makes_every_combination_as_nested_overrides():
    variants = expand_grid({"optimizer.lr": [0.1, 0.2], "model.activation": ["relu", "elu"]})
    assert list(variants) == ["lr=0.1,activation=relu", "lr=0.1,activation=elu", "lr=0.2,activation=relu",
                              "lr=0.2,activation=elu"]
    assert variants["lr=0.2,activation=elu"] == {"optimizer": {"lr": 0.2}, "model": {"activation": "elu"}}
    with pytest.raises(ConfigError, match="non-empty list"):
        expand_grid({"optimizer.lr": []})


def _study(blobs_npz, variants):
    return Study(
        name="grouping",
        claim="",
        base={"data": {"name": "npz", "path": str(blobs_npz), "valid": 100},
              "model": {"hidden": [16, 8]}, "train": {"epochs": 3, "early_stopping": {"patience": 1}}},
        variants=variants,
        seeds=2,
    )


def test_a_grouped_study_gives_the_results_of_a_sequential_one(tmp_path, blobs_npz):
    variants = expand_grid({"optimizer.lr": [1e-3, 1e-2], "model.dropout": [0.0, 0.3]})
    grouped = run_study(_study(blobs_npz, variants), out=tmp_path / "g", quiet=True)
    sequential = run_study(_study(blobs_npz, variants), out=tmp_path / "s", quiet=True, engine="sequential")
    # each seed draws its own stratified validation split, so the 2 seeds train as 2 groups of 4 variants
    assert {r["members"] for r in grouped.runs} == {4} and {r["members"] for r in sequential.runs} == {1}
    for a, b in zip(grouped.runs, sequential.runs, strict=True):
        assert (a["variant"], a["seed"], a["epochs"]) == (b["variant"], b["seed"], b["epochs"])
        if "dropout=0.0" in a["variant"]:  # without dropout masks the arithmetic is the same
            assert a["val_loss"] == pytest.approx(b["val_loss"], rel=1e-4)
    assert "wall time" in (tmp_path / "g").joinpath(grouped.out_dir.name, "summary.md").read_text()


def test_bad_grids_fail_before_any_training(tmp_path, blobs_npz):
    with pytest.raises(ConfigError, match=r"optimizer: .*unexpected keyword argument 'lrr'"):
        run_study(_study(blobs_npz, expand_grid({"optimizer.lrr": [0.1]})), out=None, quiet=True)
    with pytest.raises(ConfigError, match=r"model\.dropout"):
        run_study(_study(blobs_npz, expand_grid({"model.dropout": [0.1, 2.0]})), out=None, quiet=True)
    with pytest.raises(ConfigError, match="each grid key needs at least one value"):
        config_from_dict({"sweep": {"grid": {"optimizer.lr": []}}})


def test_split_seed_is_the_seed_only_for_a_split_drawn_with_it():
    from deepfit.run.setup import split_seed

    assert split_seed(_cfg("train.seed=7")) == 7
    assert split_seed(_cfg("train.seed=7", "data.split=first")) is None
    assert split_seed(load_config(None, ["data.name=fashion_mnist", "train.seed=7"])) is None
    assert split_seed(load_config(None, ["data.name=fashion_mnist", "train.seed=7", "data.valid=0.1"])) == 7
