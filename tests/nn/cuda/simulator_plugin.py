"""pytest plugin of the simulator session started by ``test_simulator.py``.

Loaded with ``-p simulator_plugin`` in a pytest process whose environment has
``NUMBA_ENABLE_CUDASIM=1`` (numba reads it once, at import).  It

* refuses to run unless the simulator is on and the ``cuda`` backend is available (a session
  that silently ran no CUDA case would prove nothing);
* keeps, of ``test_backend_conformance.py``, the cases of the ``cuda`` backend (the numpy cases
  already ran in the ordinary session);
* shortens the interpreter's thread switch interval: the simulator runs each CUDA thread of a
  block as a Python thread and its scheduler polls them, so with the default 5 ms interval
  most of a launch is spent waiting for the GIL (about 4× slower);
* makes the simulator's ``cuda.shared.array`` atomic (:func:`atomic_shared_arrays`): numba-cuda
  hands out a block's shared arrays by check-then-set on a dict without a lock, so a thread
  switch between the two gives two threads of one block different arrays (the short switch
  interval above makes that likelier); see "The simulator's shared-array race" in
  ``docs/nn_cuda.rst``;
* writes the outcome of every test to the JSON file named by ``RIEMANNOPT_SIM_REPORT``.
"""

import json
import os
import sys
import threading

import numpy as np
import pytest


def pytest_configure(config):
    if os.environ.get("NUMBA_ENABLE_CUDASIM") != "1":
        raise pytest.UsageError("simulator_plugin needs NUMBA_ENABLE_CUDASIM=1 in the environment")
    from riemannopt.nn import available_backends

    if "cuda" not in available_backends():
        raise pytest.UsageError("the 'cuda' backend is not available under the simulator")
    sys.setswitchinterval(2e-4)
    atomic_shared_arrays()


_SHARED_LOCK = threading.Lock()


def atomic_shared_arrays():
    """Replace ``FakeCUDAShared.array`` of numba's simulator by an atomic version.

    numba keys a static shared array by the caller's ``(file, line)``, found by walking the stack
    from inside ``array``; a wrapper around the original would put its own frame there and make
    every shared array of a kernel one array.  So the static case is redone here, with the same
    key and the same dict, under one lock from the look-up to the store; dynamic shared memory
    (``shape == 0``) and the ``alignment`` error have no race and stay numba's.
    """
    from numba.cuda.simulator import kernelapi

    original = kernelapi.FakeCUDAShared.array
    if getattr(original, "atomic", False):
        return

    def array(self, shape, dtype, alignment=None):
        if alignment is not None or shape == 0:
            return original(self, shape, dtype, alignment)
        caller = sys._getframe(1)
        key = (caller.f_code.co_filename, caller.f_lineno)
        if isinstance(dtype, kernelapi.types.Type):
            dtype = kernelapi.numpy_support.as_dtype(dtype)
        with _SHARED_LOCK:
            res = self._allocations.get(key)
            if res is None:
                res = np.empty(shape, dtype)
                self._allocations[key] = res
        return res

    array.atomic = True
    array.__doc__ = original.__doc__
    kernelapi.FakeCUDAShared.array = array


def pytest_collection_modifyitems(config, items):
    keep, drop = [], []
    for item in items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        is_conformance = item.path.name == "test_backend_conformance.py"
        (drop if is_conformance and params.get("name") != "cuda" else keep).append(item)
    items[:] = keep
    config.hook.pytest_deselected(items=drop)


_OUTCOMES = {}


def pytest_runtest_logreport(report):
    # The call phase decides; a failed or skipped setup or teardown overrides it.
    if report.when == "call" or report.outcome != "passed":
        _OUTCOMES[report.nodeid] = report.outcome


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session):
    path = os.environ.get("RIEMANNOPT_SIM_REPORT")
    if path:
        with open(path, "w", encoding="utf-8") as f:
            json.dump(_OUTCOMES, f, indent=1)
