"""Comparisons name the settings that differ and overlay each run's curves."""

from deepfit.report.compare import RunFiles, config_rows, flatten, labels, metric_rows, write_comparison


def _run(label, lr, acc, history):
    config = flatten({"name": "r", "optimizer": {"name": "nadam", "lr": lr}, "model": {"hidden": [16, 8]}})
    return RunFiles(label, config, history, {"valid": {"acc": acc, "loss": 0.3}, "epochs": len(history)})


HISTORY = [{"epoch": 1.0, "loss": 0.9, "val_loss": 0.8, "val_acc": 0.7}, {"epoch": 2.0, "loss": 0.5, "val_loss": 0.6,
                                                                          "val_acc": 0.8}]


def test_flatten_names_keys_as_set_does():
    assert flatten({"optimizer": {"lr": 0.1, "betas": [0.9, 0.99]}, "name": "x"}) == {
        "optimizer.lr": 0.1, "optimizer.betas": [0.9, 0.99], "name": "x"}


def test_config_rows_mark_only_differing_keys_and_keep_small_floats_apart():
    rows, differ = config_rows([_run("a", 1e-5, 0.8, HISTORY), _run("b", 2e-5, 0.9, HISTORY)])
    assert differ == ["optimizer.lr"]
    lr = next(r for r in rows if r["setting"] == "optimizer.lr")
    assert (lr["a"], lr["b"]) == ("1e-05", "2e-05")


def test_a_key_only_one_run_sets_differs():
    a, b = _run("a", 0.1, 0.8, HISTORY), _run("b", 0.1, 0.8, HISTORY)
    b.config["schedule.name"] = "exponential"
    rows, differ = config_rows([a, b])
    assert differ == ["schedule.name"] and rows[-1]["a"] == "(not set)"


def test_labels_use_the_path_only_when_names_clash(tmp_path):
    dirs = [tmp_path / "x" / "run", tmp_path / "y" / "run", tmp_path / "other"]
    assert labels(dirs) == [str(dirs[0]), str(dirs[1]), "other"]


def test_metric_rows_take_final_figures():
    rows = metric_rows([_run("a", 0.1, 0.8, HISTORY)])
    assert rows == [{"run": "a", "valid acc": 0.8, "valid loss": 0.3, "epochs": 2}]


def test_page_shades_the_differing_row_and_embeds_one_figure_per_curve(tmp_path):
    page = write_comparison([_run("a", 0.1, 0.8, HISTORY), _run("b", 0.2, 0.9, HISTORY[:1])], tmp_path)
    text = page.read_text()
    assert text.count('<tr class="differs">') == 1
    assert '<tr class="differs"><td>optimizer.lr</td>' in text and "Settings that differ: optimizer.lr." in text
    assert text.count("data:image/png;base64,") == 3
    assert all((tmp_path / "plots" / f"{m}.png").is_file() for m in ("val_acc", "val_loss", "loss"))
