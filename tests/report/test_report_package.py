import subprocess
import sys

import deepfit.report


def test_import_loads_neither_torch_nor_pyplot_nor_upper_layers():
    code = (
        "import sys, deepfit.report\n"
        "bad = [m for m in sys.modules if m in ('torch', 'matplotlib.pyplot') "
        "or m.startswith(('deepfit.train', 'deepfit.studies', 'deepfit.cli'))]\n"
        "print(','.join(bad))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == ""


def test_all_names_exist():
    assert all(callable(getattr(deepfit.report, name)) for name in deepfit.report.__all__)
