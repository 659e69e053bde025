"""`train.threads`: auto takes one thread when the cores are busy, the run uses and records what was chosen."""

import json
import re

import pytest
import torch

import deepfit.run.threads as threads
from deepfit.cli.main import main
from deepfit.config import load_config
from deepfit.errors import ConfigError
from deepfit.run.threads import choose_threads, thread_choice


@pytest.mark.parametrize(
    ("cores", "load", "torch_default", "expected"),
    [
        (2, 5.6, 2, 1),  # benchmarks/threads.py's machine: other jobs hold both cores
        (2, 1.0, 2, 1),  # one core busy: two threads would wait on each other
        (2, 0.1, 2, 2),  # idle: torch's default
        (16, 4.2, 16, 12),  # the free cores
        (16, 0.0, 8, 8),  # never more than torch's default
        (4, 9.0, 4, 1),  # never fewer than 1
    ],
)
def test_auto_takes_the_cores_the_load_leaves_free(cores, load, torch_default, expected):
    assert choose_threads("auto", cores=cores, load=load, torch_default=torch_default) == expected


def test_a_number_of_threads_is_used_as_given_even_on_busy_cores():
    assert choose_threads(3, cores=2, load=8.0, torch_default=2) == 3


@pytest.mark.parametrize("value", ["0", "-1", '"many"', "true", "1.5"])
def test_threads_other_than_a_count_or_auto_are_a_config_error(value):
    with pytest.raises(ConfigError, match=r'train.threads: .*expected a number of threads >= 1 or "auto"'):
        load_config(None, [f"train.threads={value}"])


def test_threads_default_to_auto():
    assert load_config(None, []).train.threads == "auto"


@pytest.fixture
def machine(monkeypatch):
    """Pretend to be a 2-core machine where torch would take 2 threads, at the given load average."""
    def at(load: float) -> None:
        monkeypatch.setattr(threads, "_machine", lambda: (2, load))
        monkeypatch.setattr(threads, "_TORCH_DEFAULT", 2)
    return at


@pytest.mark.parametrize(("load", "expected"), [(6.0, 1), (0.0, 2)])
def test_a_run_uses_the_chosen_thread_count_and_records_it_in_metrics_json(tmp_path, capsys, blobs_npz, machine,
                                                                           load, expected):
    machine(load)
    torch.set_num_threads(3)
    code = main(["train", "--data", str(blobs_npz), "--out", str(tmp_path / "runs"), "--epochs", "1",
                 "--set", "model.hidden=[8]", "--set", "data.valid=100", "--quiet"])
    (run,) = (tmp_path / "runs").iterdir()
    assert code == 0 and torch.get_num_threads() == expected
    assert json.loads((run / "metrics.json").read_text())["threads"] == expected
    # the resolved config pins the count: a resume under another load runs the same arithmetic
    assert f"threads = {expected}" in (run / "config.toml").read_text()


def test_info_shows_the_thread_count_and_why(capsys, machine):
    machine(5.6)
    assert main(["info"]) == 0
    assert re.search(r"cpu threads +1 \(auto: load 5.6 on 2 cores; torch's default 2\)", capsys.readouterr().out)


def test_the_load_is_read_once_per_process_so_a_sweep_does_not_count_its_own_runs():
    threads._machine.cache_clear()
    thread_choice("auto")
    thread_choice(2)
    assert threads._machine.cache_info().misses == 1
