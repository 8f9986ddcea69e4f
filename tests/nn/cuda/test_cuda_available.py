"""``backend="cuda"`` on a machine that cannot run it: a BackendUnavailableError that names what
is missing — numba-cuda, or a GPU and its driver.  Both situations are produced here by
monkeypatching, so the test runs the same with and without a GPU."""

import sys

import pytest

from riemannopt.errors import BackendUnavailableError
from riemannopt.nn import MLP, available_backends

pytest.importorskip("numba.cuda", reason="numba without its CUDA target")


def test_missing_numba_cuda_is_named(monkeypatch):
    monkeypatch.setitem(sys.modules, "numba_cuda", None)  # `import numba_cuda` raises ImportError
    with pytest.raises(BackendUnavailableError, match=r"needs numba-cuda.*pip install 'riemannopt\[cuda\]'"):
        MLP([2, 1], ["sigmoid"], "bce", backend="cuda")
    assert "cuda" not in available_backends()


def test_missing_gpu_is_named(monkeypatch):
    pytest.importorskip("numba_cuda", reason="needs numba-cuda to get past the first check")
    from numba import cuda

    from riemannopt.nn.backends.cuda import config

    def no_device():
        raise RuntimeError("CUDA driver library cannot be found")

    monkeypatch.setattr(config, "simulating", lambda: False)
    monkeypatch.setattr(cuda, "is_available", lambda: False)
    monkeypatch.setattr(cuda, "get_current_device", no_device)
    with pytest.raises(
        BackendUnavailableError, match="no usable CUDA GPU or driver: CUDA driver library cannot be found"
    ):
        MLP([2, 1], ["sigmoid"], "bce", backend="cuda")
