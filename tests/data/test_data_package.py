import subprocess
import sys

import deepfit.data


def test_all_names_are_importable_from_the_package():
    missing = [name for name in deepfit.data.__all__ if not hasattr(deepfit.data, name)]
    assert missing == []


def test_importing_deepfit_data_changes_no_global_state():
    script = """
import logging, warnings
import numpy as np, torch

def snapshot():
    rngs = (torch.random.get_rng_state().tolist(), np.random.get_state()[1].tolist())
    settings = (torch.get_default_dtype(), torch.get_num_threads(), torch.backends.cudnn.benchmark)
    return rngs, settings, len(logging.getLogger().handlers), len(warnings.filters)

before = snapshot()
import deepfit.data
assert snapshot() == before
print("ok")
"""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
