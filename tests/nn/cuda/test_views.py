"""The fast device-array views of the CUDA backend address the same memory as numpy-style
slicing would.  ``view`` builds numba device arrays from a pointer into their base's allocation
(the simulator, whose arrays wrap numpy, takes the slicing path instead, so this checks the GPU
path); a device allocation is stood in for by a pointer value, which needs no GPU."""

import numpy as np
import pytest

pytest.importorskip("numba_cuda", reason="needs numba-cuda (the 'cuda' extra)")

from numba.cuda.cudadrv import driver  # noqa: E402
from numba.cuda.cudadrv.devicearray import DeviceNDArray  # noqa: E402

from riemannopt.nn.backends.cuda.vectors import layer_views, view  # noqa: E402
from riemannopt.nn.layout import Layout  # noqa: E402

BASE = 0x7F0000000000


def fake_device_array(shape, dtype=np.float64):
    dtype = np.dtype(dtype)
    strides = np.empty(shape, dtype=dtype).strides  # C order
    return DeviceNDArray(
        shape, strides, dtype, gpu_data=driver.MemoryPointer(None, BASE, int(np.prod(shape)) * dtype.itemsize)
    )


def address(a):
    return a.__cuda_array_interface__["data"][0]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_view_points_into_the_base(dtype):
    base = fake_device_array((3, 5, 7), dtype)
    item = np.dtype(dtype).itemsize
    slot = view(base, 35, (5, 7))  # base[1]
    assert address(slot) == BASE + 35 * item and tuple(slot.shape) == (5, 7) and slot.is_c_contiguous()
    two = view(base, 35, (10, 7))  # base[1:3] as one matrix
    assert address(two) == BASE + 35 * item and two.strides == (7 * item, item)
    with pytest.raises(ValueError, match="does not fit"):
        view(base, 100, (1, 6))  # past the end of the allocation


def test_layer_views_match_the_layout():
    """Every (W_i, b_i) starts where Layout.views puts it in a numpy vector, with its shape."""
    layout = Layout([5, 4, 3, 2])
    flat = fake_device_array((layout.n_params,))
    host = np.zeros(layout.n_params)
    start = host.__array_interface__["data"][0]
    for (W, b), (hW, hb) in zip(layer_views(flat, layout), layout.views(host)):
        for dev, ref in ((W, hW), (b, hb)):
            assert tuple(dev.shape) == ref.shape and dev.is_c_contiguous()
            assert address(dev) - BASE == ref.__array_interface__["data"][0] - start
