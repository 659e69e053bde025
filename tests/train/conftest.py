"""Fixtures shared by the engine's tests."""

from __future__ import annotations

import os
import sys

import pytest
import torch


@pytest.fixture
def host_reads(monkeypatch) -> list[str]:
    """Files of deepfit that read a tensor back to the host, one entry per read.

    torch.optim reads its CPU step counters itself; only reads made from deepfit's own code count.
    """
    calls: list[str] = []

    def counting(real):
        def read(self):
            caller = sys._getframe(1).f_code.co_filename
            if f"{os.sep}deepfit{os.sep}" in caller:
                calls.append(caller)
            return real(self)

        return read

    for name in ("item", "tolist", "__float__", "__int__", "__bool__"):
        monkeypatch.setattr(torch.Tensor, name, counting(getattr(torch.Tensor, name)))
    return calls
