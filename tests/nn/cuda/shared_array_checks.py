"""The simulator's ``cuda.shared.array`` gives every thread of a block the same array, even when
the interpreter switches threads inside the allocation.

A plain ``pytest`` run does not collect this file (its name does not start with ``test_``):
``test_simulator.py`` runs it in the simulator session, where ``simulator_plugin.py`` has made
the allocation atomic.  numba-cuda's own allocation looks the array up in a dict and stores a new
one on a miss, without a lock; this test forces a thread switch between the look-up and the
store, which without the plugin's lock gives threads of one block different arrays (see "The
simulator's shared-array race" in ``docs/nn_cuda.rst``).
"""

import threading

import numpy as np
import pytest
from numba import config, cuda

pytestmark = pytest.mark.skipif(not config.ENABLE_CUDASIM, reason="checks numba's CUDA simulator")

THREADS = 16


@cuda.jit
def block_sums(out):
    t = cuda.threadIdx.x
    sh = cuda.shared.array(THREADS, np.int64)
    sq = cuda.shared.array(THREADS, np.int64)
    sh[t] = t
    sq[t] = t * t
    cuda.syncthreads()
    if t == 0:
        s = 0
        s2 = 0
        for i in range(THREADS):
            s += sh[i]
            s2 += sq[i]
        out[0] = s
        out[1] = s2


class SwitchingAllocations(dict):
    """The dict of a block's shared arrays, switching threads on every miss.

    On a miss the looking-up thread waits until another thread of the block looks up too (or
    0.2 s have passed): without a lock around look-up and store the other threads then miss as
    well and each stores an array of its own; with the lock they wait for the store.
    """

    def __init__(self):
        super().__init__()
        self.entered = threading.Event()
        self.stores = []

    def get(self, key, default=None):
        self.entered.set()
        value = super().get(key, default)
        if value is None:
            self.entered.clear()
            self.entered.wait(0.2)
        return value

    def __setitem__(self, key, value):
        self.stores.append(key)
        super().__setitem__(key, value)


def test_shared_array_survives_a_thread_switch_in_the_allocation(monkeypatch):
    """16 threads write ``sh[t] = t`` and ``sq[t] = t²``, synchronize, and thread 0 sums both:
    the closed forms are Σt = 120 and Σt² = 1240.  Each of the two call sites stores one array
    per launch (more would mean threads of the block got different arrays); two call sites
    that shared one array would give 1240 for both sums."""
    from numba.cuda.simulator import kernelapi

    blocks = []
    init = kernelapi.FakeCUDAShared.__init__

    def switching_init(self, *args, **kwargs):
        init(self, *args, **kwargs)
        self._allocations = SwitchingAllocations()
        blocks.append(self._allocations)

    monkeypatch.setattr(kernelapi.FakeCUDAShared, "__init__", switching_init)
    for launch in range(3):
        out = np.zeros(2, dtype=np.int64)
        block_sums[1, THREADS](out)
        assert out.tolist() == [120, 1240], f"launch {launch}"
        assert len(blocks[-1].stores) == 2, f"launch {launch}: {len(blocks[-1].stores)} arrays for 2 call sites"
    assert len(blocks) == 3
