"""Launch geometry of the CUDA kernels: GEMM tiles and thread-block sizes.

Tile sizes are compile-time constants of the kernels (shared-memory arrays and register blocks
need them), so each set of kernels is built for one :class:`Tuning`.  Two exist:

* :data:`GPU` for real devices: 256-thread GEMM blocks, register blocks of 8×4 (float32) and
  4×4 (float64, whose registers are twice as wide) outputs per thread — the largest that
  numba's LLVM still keeps entirely in registers (larger accumulator arrays are left in local
  memory, which the PTX test would catch);
* :data:`SIMULATOR` for numba's CUDA simulator, which runs every CUDA thread of a block as a
  Python thread: 2×2 register blocks in 4×4-thread blocks and 16-thread vector blocks keep the
  tests fast, and tiles of 8 make the tiny test shapes (3, 5, 7, 9, ...) cross tile edges.

The kernels are the same functions in both; only these constants differ.  ``tests/nn/cuda``
runs the simulator tuning against the numpy backend and, on a few shapes, the GPU tuning too;
the PTX test compiles every kernel with the GPU tuning.
"""

from collections import namedtuple

from numba import config as _numba_config

__all__ = ["Tiles", "Tuning", "GPU", "SIMULATOR", "default_tuning", "simulating", "sm_count"]

Tiles = namedtuple("Tiles", ["bm", "bn", "bk", "tm", "tn"])
Tiles.__doc__ = """A GEMM tiling: a block computes a ``bm × bn`` tile of the output, stepping through
the inner dimension ``bk`` at a time through shared memory; each of its ``(bm/tm)·(bn/tn)``
threads accumulates ``tm × tn`` outputs in registers."""

Tuning = namedtuple("Tuning", ["gemm32", "gemm64", "layer32", "layer64", "threads", "max_blocks"])
Tuning.__doc__ = """Launch geometry of every kernel.

Attributes
----------
gemm32, gemm64 : Tiles
    Tiles of the plain GEMMs (:mod:`.gemm`) in float32 and float64.
layer32, layer64 : Tiles
    Tiles of the fused layer-forward kernels (:mod:`.layers`), which hold two accumulators
    per output and read five operands, hence smaller register blocks.
threads : int
    Threads per block of the element-wise, row-wise and reduction kernels (a power of two).
max_blocks : int
    Cap on the blocks of grid-stride kernels per streaming multiprocessor.
"""

GPU = Tuning(
    gemm32=Tiles(128, 64, 8, 8, 4),
    gemm64=Tiles(64, 64, 8, 4, 4),
    layer32=Tiles(64, 64, 8, 4, 4),
    layer64=Tiles(64, 64, 8, 4, 4),
    threads=256,
    max_blocks=32,
)

SIMULATOR = Tuning(
    gemm32=Tiles(8, 8, 4, 2, 2),
    gemm64=Tiles(8, 8, 4, 2, 2),
    layer32=Tiles(8, 8, 4, 2, 2),
    layer64=Tiles(8, 8, 4, 2, 2),
    threads=16,
    max_blocks=2,
)


def simulating():
    """Whether numba's CUDA simulator is on (``NUMBA_ENABLE_CUDASIM=1`` before numba was imported)."""
    return bool(_numba_config.ENABLE_CUDASIM)


def default_tuning():
    """:data:`SIMULATOR` under the simulator, :data:`GPU` otherwise."""
    return SIMULATOR if simulating() else GPU


def sm_count():
    """Streaming multiprocessors of the current device (1 under the simulator)."""
    if simulating():
        return 1
    from numba import cuda

    return int(cuda.get_current_device().MULTIPROCESSOR_COUNT)


def tiles_for(tuning, kind, dtype):
    """The :class:`Tiles` of ``kind`` (``"gemm"`` or ``"layer"``) for ``dtype``."""
    return getattr(tuning, f"{kind}{8 * dtype.itemsize}")
